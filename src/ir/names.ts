import type { Graph } from './graph.js';
import type { Model } from './model.js';

/**
 * Hands out value and node names that no other value or node in the model uses.
 * Names derive from a readable prefix and a counter, never from randomness, so that
 * converting the same file twice gives the same bytes.
 */
export class NameAuthority {
  private readonly taken = new Set<string>();

  constructor(model: Model) {
    this.collect(model.graph);
  }

  private collect(graph: Graph): void {
    for (const v of [...graph.inputs, ...graph.outputs, ...graph.initializers, ...graph.valueInfo]) this.taken.add(v.name);
    for (const sparse of graph.sparseInitializers) if (sparse.values?.name !== undefined) this.taken.add(sparse.values.name);
    for (const node of graph.nodes) {
      if (node.name) this.taken.add(node.name);
      for (const v of [...node.inputs, ...node.outputs]) if (v) this.taken.add(v.name);
      for (const sub of node.subgraphs()) this.collect(sub);
    }
  }

  /** `prefix` itself when free, else `prefix_1`, `prefix_2`, ... */
  fresh(prefix: string): string {
    let name = prefix;
    for (let i = 1; this.taken.has(name); i++) name = `${prefix}_${i}`;
    this.taken.add(name);
    return name;
  }

  isTaken(name: string): boolean {
    return this.taken.has(name);
  }
}
