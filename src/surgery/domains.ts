import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';

function usedDomains(graph: Graph, into = new Set<string>()): Set<string> {
  for (const node of graph.nodes) {
    into.add(node.domain);
    for (const sub of node.subgraphs()) usedDomains(sub, into);
  }
  return into;
}

/** Removes the opset imports of `domains` that no node uses any more. */
export function dropUnusedDomains(model: Model, domains: readonly string[]): void {
  const used = usedDomains(model.graph);
  model.opsetImports = model.opsetImports.filter((o) => !domains.includes(o.domain ?? '') || used.has(o.domain ?? ''));
}

