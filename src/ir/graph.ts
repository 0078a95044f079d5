import { InternalError } from '../errors.js';
import { attributeGraphs, type Attribute, type SparseTensor } from './attribute.js';
import type { Tensor } from './tensor.js';
import type { ValueInfo } from './type-info.js';

/** One place a value is consumed: input `index` of `node`. */
export interface Use {
  node: Node;
  index: number;
}

/**
 * A tensor in the graph. It knows its producer (a node, or none for graph inputs and
 * initializers) and its uses; `uses()` returns a copy so callers can edit while iterating.
 */
export class Value {
  info: ValueInfo = {};
  producer: Node | null = null;
  /** The initializer's data when this value is an initializer. */
  constant: Tensor | null = null;
  private readonly useList: Use[] = [];

  constructor(public name: string) {}

  uses(): Use[] {
    return [...this.useList];
  }

  get useCount(): number {
    return this.useList.length;
  }

  /** @internal kept in step by Node.setInput */
  addUse(use: Use): void {
    this.useList.push(use);
  }

  /** @internal kept in step by Node.setInput */
  removeUse(node: Node, index: number): void {
    const at = this.useList.findIndex((u) => u.node === node && u.index === index);
    if (at < 0) throw new InternalError(`value "${this.name}" has no use at node "${node.name}" input ${index}`);
    this.useList.splice(at, 1);
  }

  /** Points every consumer of this value at `other` instead. */
  replaceUsesWith(other: Value): void {
    for (const use of this.uses()) use.node.setInput(use.index, other);
  }
}

export interface NodeInit {
  opType: string;
  domain?: string;
  name?: string;
  inputs?: (Value | null)[];
  outputs?: Value[];
  attributes?: Attribute[];
}

export class Node {
  opType: string;
  domain: string;
  /** The file left NodeProto.domain out (which means the default domain, as '' does). */
  domainAbsent?: boolean;
  name: string | undefined;
  overload?: string;
  docString?: string;
  metadataProps?: [string, string][];
  /** NodeProto fields qlstm carries along unread (device configurations), encoded. */
  opaqueFields: Uint8Array[] = [];
  attributes: Attribute[];
  readonly outputs: Value[];
  private readonly inputList: (Value | null)[] = [];

  constructor(init: NodeInit) {
    this.opType = init.opType;
    this.domain = init.domain ?? '';
    this.name = init.name;
    this.attributes = init.attributes ?? [];
    this.outputs = init.outputs ?? [];
    for (const output of this.outputs) {
      if (output.producer) throw new InternalError(`value "${output.name}" already has a producer`);
      output.producer = this;
    }
    for (const input of init.inputs ?? []) this.appendInput(input);
  }

  get inputs(): readonly (Value | null)[] {
    return this.inputList;
  }

  input(index: number): Value | null {
    return this.inputList[index] ?? null;
  }

  appendInput(value: Value | null): void {
    this.inputList.push(value);
    value?.addUse({ node: this, index: this.inputList.length - 1 });
  }

  setInput(index: number, value: Value | null): void {
    const old = this.inputList[index];
    if (old === value) return;
    old?.removeUse(this, index);
    this.inputList[index] = value;
    value?.addUse({ node: this, index });
  }

  attribute(name: string): Attribute | undefined {
    return this.attributes.find((a) => a.name === name);
  }

  /** Disconnects the node from its inputs and releases its outputs. */
  detach(): void {
    this.inputList.forEach((_, i) => this.setInput(i, null));
    for (const output of this.outputs) if (output.producer === this) output.producer = null;
  }

  subgraphs(): Graph[] {
    return this.attributes.flatMap(attributeGraphs);
  }

  /** Values from enclosing graphs that the node's subgraphs read (ONNX implicit inputs). */
  implicitInputs(): Value[] {
    const found = new Set<Value>();
    for (const graph of this.subgraphs()) collectOuterReads(graph, found);
    return [...found];
  }

  label(): string {
    return this.name ? `"${this.name}"` : `(unnamed ${this.opType})`;
  }
}

function collectOuterReads(graph: Graph, found: Set<Value>): void {
  const local = graph.definedValues();
  for (const node of graph.nodes) {
    const reads = [...node.inputs, ...node.implicitInputs()];
    for (const value of reads) if (value && !local.has(value)) found.add(value);
  }
  for (const output of graph.outputs) if (!local.has(output)) found.add(output);
}

export interface QuantizationAnnotation {
  tensorName?: string;
  parameters: [string, string][];
}

export class Graph {
  name?: string;
  docString?: string;
  metadataProps?: [string, string][];
  nodes: Node[] = [];
  inputs: Value[] = [];
  outputs: Value[] = [];
  /** Values listed in GraphProto.value_info, in file order. */
  valueInfo: Value[] = [];
  initializers: Value[] = [];
  sparseInitializers: SparseTensor[] = [];
  quantizationAnnotations: QuantizationAnnotation[] = [];

  /** Values this graph defines: inputs, initializers and node outputs. */
  definedValues(): Set<Value> {
    const set = new Set<Value>([...this.inputs, ...this.initializers]);
    for (const node of this.nodes) for (const output of node.outputs) set.add(output);
    return set;
  }

  addInitializer(name: string, tensor: Tensor): Value {
    const value = new Value(name);
    value.constant = tensor;
    this.initializers.push(value);
    return value;
  }

  /**
   * Removes a node that nothing reads any more, with its subgraphs: their nodes stop
   * counting as uses of the outer values they read, so those can be pruned in turn.
   */
  removeNode(node: Node): void {
    for (const output of node.outputs) {
      if (output.useCount > 0) throw new InternalError(`cannot remove node ${node.label()}: "${output.name}" is still read`);
    }
    node.detach();
    node.subgraphs().forEach(detachAll);
    const at = this.nodes.indexOf(node);
    if (at >= 0) this.nodes.splice(at, 1);
  }
}

function detachAll(graph: Graph): void {
  for (const node of graph.nodes) {
    node.detach();
    node.subgraphs().forEach(detachAll);
  }
}

/**
 * The inputs a caller of the graph feeds: graph inputs that are not also initializers.
 * (An initializer listed as an input, as Brevitas exports with keep_initializers_as_inputs,
 * only gives that input a default value.)
 */
export function realInputs(graph: Graph): Value[] {
  const initializers = new Set(graph.initializers);
  return graph.inputs.filter((v) => !initializers.has(v));
}
