import { DataType } from '../ir/data-type.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { tensorType } from '../ir/type-info.js';
import { valuesByName } from './probe.js';

/**
 * Turns `model` (in place) into the graph around the named values: each value's producer is
 * removed and the value becomes a graph input (fed by the caller), `outputs` are added as
 * graph outputs, and only what the graph outputs need is kept. Declared shapes are dropped
 * (a Brevitas export declares the traced sizes), so any sequence length and batch runs.
 * Returns the reason when a value cannot be cut out cleanly, else null.
 */
export function cutAt(model: Model, cut: readonly string[], outputs: readonly string[] = []): string | null {
  const graph = model.graph;
  const values = valuesByName(model);
  const producers = new Set<Node>();
  for (const name of cut) {
    const value = values.get(name);
    if (!value) return `it has no value named "${name}"`;
    if (value.producer) producers.add(value.producer);
  }
  const cutValues = new Set(cut.map((n) => values.get(n)!));
  for (const node of producers) {
    const other = node.outputs.find((o) => !cutValues.has(o) && (o.useCount > 0 || graph.outputs.includes(o)));
    if (other) return `node ${node.label()} also computes "${other.name}", which other nodes read`;
  }
  for (const node of producers) {
    node.detach();
    graph.nodes.splice(graph.nodes.indexOf(node), 1);
  }
  for (const value of cutValues) {
    if (graph.inputs.includes(value)) continue;
    value.info = { ...value.info, type: tensorType(DataType.FLOAT) };
    graph.inputs.push(value);
  }
  for (const name of outputs) {
    const value = values.get(name);
    if (!value) return `it has no value named "${name}"`;
    if (!graph.outputs.includes(value)) graph.outputs.push(value);
  }
  keepOnlyWhatOutputsNeed(graph);
  for (const value of [...graph.inputs, ...graph.outputs]) {
    const type = value.info.type;
    if (type?.kind === 'tensor') value.info = { ...value.info, type: { kind: 'tensor', ...(type.elemType === undefined ? {} : { elemType: type.elemType }) } };
  }
  graph.valueInfo = [];
  return null;
}

/** Removes nodes whose results no graph output needs (subgraph reads included). */
function keepOnlyWhatOutputsNeed(graph: Graph): void {
  const needed = new Set<Node>();
  const pending: Value[] = [...graph.outputs];
  const seen = new Set<Value>();
  const inGraph = new Set(graph.nodes);
  while (pending.length) {
    const value = pending.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    const producer = value.producer;
    if (!producer || !inGraph.has(producer) || needed.has(producer)) continue;
    needed.add(producer);
    for (const input of [...producer.inputs, ...producer.implicitInputs()]) if (input) pending.push(input);
  }
  for (const node of graph.nodes.filter((n) => !needed.has(n))) node.detach();
  graph.nodes = graph.nodes.filter((n) => needed.has(n));
  const read = new Set<Value>();
  for (const node of graph.nodes) for (const v of [...node.inputs, ...node.implicitInputs()]) if (v) read.add(v);
  graph.initializers = graph.initializers.filter((v) => read.has(v) || graph.outputs.includes(v));
  const initializers = new Set(graph.initializers);
  // initializers listed as graph inputs (keep_initializers_as_inputs) go with them
  graph.inputs = graph.inputs.filter((v) => !v.constant || initializers.has(v));
}
