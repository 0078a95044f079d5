import type { Attribute } from './attribute.js';
import { Graph, Node, Value } from './graph.js';
import type { NameAuthority } from './names.js';
import type { Tensor } from './tensor.js';

/**
 * Records new nodes and initializers as they are written (`tape.op('Add', [a, b])`),
 * named `prefix/...` by the model's name authority, then places them in a graph.
 */
export class Tape {
  constructor(
    private readonly names: NameAuthority,
    readonly prefix: string,
    readonly nodes: Node[] = [],
    readonly initializers: Value[] = [],
  ) {}

  /** A view of this tape whose names continue below `prefix/label`; it records into this tape. */
  scoped(label: string): Tape {
    return new Tape(this.names, `${this.prefix}/${label}`, this.nodes, this.initializers);
  }

  op(opType: string, inputs: (Value | null)[], attributes: Attribute[] = [], label = opType): Value {
    return this.opMulti(opType, inputs, 1, attributes, label)[0]!;
  }

  opMulti(opType: string, inputs: (Value | null)[], outputCount: number, attributes: Attribute[] = [], label = opType): Value[] {
    const name = this.names.fresh(`${this.prefix}/${label}`);
    const outputs = Array.from({ length: outputCount }, (_, i) =>
      new Value(this.names.fresh(outputCount === 1 ? `${name}_output` : `${name}_output_${i}`)),
    );
    this.nodes.push(new Node({ opType, name, inputs, outputs, attributes }));
    return outputs;
  }

  /** A node whose outputs are existing values (used when rewiring boundary tensors). */
  opInto(opType: string, inputs: (Value | null)[], outputs: Value[], attributes: Attribute[] = [], label = opType): Node {
    const node = new Node({ opType, name: this.names.fresh(`${this.prefix}/${label}`), inputs, outputs, attributes });
    this.nodes.push(node);
    return node;
  }

  constant(label: string, tensor: Tensor): Value {
    const value = new Value(this.names.fresh(`${this.prefix}/${label}`));
    value.constant = tensor;
    this.initializers.push(value);
    return value;
  }

  freshValue(label: string): Value {
    return new Value(this.names.fresh(`${this.prefix}/${label}`));
  }

  /** Appends what was recorded to `graph` (the caller sorts the graph afterwards). */
  commitTo(graph: Graph): void {
    graph.nodes.push(...this.nodes);
    graph.initializers.push(...this.initializers);
    this.nodes.length = 0;
    this.initializers.length = 0;
  }
}
