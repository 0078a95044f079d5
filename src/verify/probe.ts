import { DataType } from '../ir/data-type.js';
import type { Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { tensorType } from '../ir/type-info.js';

/** The main graph's values by name: inputs, initializers and node outputs. */
export function valuesByName(model: Model): Map<string, Value> {
  const graph = model.graph;
  const map = new Map<string, Value>();
  for (const v of [...graph.inputs, ...graph.initializers]) map.set(v.name, v);
  for (const node of graph.nodes) for (const v of node.outputs) if (v.name) map.set(v.name, v);
  return map;
}

/**
 * Adds graph outputs for the named float values so that a run returns them too. Returns
 * the names the model does not have.
 */
export function exposeValues(model: Model, names: readonly string[]): string[] {
  const values = valuesByName(model);
  const missing: string[] = [];
  for (const name of names) {
    const value = values.get(name);
    if (!value) missing.push(name);
    else if (!model.graph.outputs.includes(value)) {
      if (!value.info.type) value.info = { ...value.info, type: tensorType(DataType.FLOAT) };
      model.graph.outputs.push(value);
    }
  }
  return missing;
}
