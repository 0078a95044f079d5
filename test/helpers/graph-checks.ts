import type { Graph } from '../../src/ir/graph.js';

/** Names of values read before anything defines them (graph inputs, initializers, earlier nodes, outer scopes). */
export function readsBeforeDefinition(graph: Graph, outer: Set<string> = new Set()): string[] {
  const defined = new Set<string>([...outer, ...graph.inputs.map((v) => v.name), ...graph.initializers.map((v) => v.name)]);
  const problems: string[] = [];
  for (const node of graph.nodes) {
    for (const v of node.inputs) if (v && !defined.has(v.name)) problems.push(`${node.name} reads ${v.name}`);
    for (const sub of node.subgraphs()) problems.push(...readsBeforeDefinition(sub, defined));
    for (const v of node.outputs) defined.add(v.name);
  }
  for (const v of graph.outputs) if (!defined.has(v.name)) problems.push(`output ${v.name} is never defined`);
  return problems;
}

/** Value and node names that occur more than once anywhere in the model, subgraphs included. */
export function duplicateNames(graph: Graph): string[] {
  const values = new Map<string, number>();
  const nodes = new Map<string, number>();
  const walk = (g: Graph) => {
    for (const v of [...g.inputs, ...g.initializers]) values.set(v.name, (values.get(v.name) ?? 0) + 1);
    for (const node of g.nodes) {
      if (node.name) nodes.set(node.name, (nodes.get(node.name) ?? 0) + 1);
      for (const v of node.outputs) if (v.name) values.set(v.name, (values.get(v.name) ?? 0) + 1);
      node.subgraphs().forEach(walk);
    }
  };
  walk(graph);
  return [...values, ...nodes].filter(([, n]) => n > 1).map(([name]) => name);
}

/** op type -> count, for the graph itself and, separately, inside its subgraphs. */
export function opCounts(graph: Graph): { main: Record<string, number>; nested: Record<string, number> } {
  const main: Record<string, number> = {};
  const nested: Record<string, number> = {};
  const walk = (g: Graph, into: Record<string, number>) => {
    for (const node of g.nodes) {
      into[node.opType] = (into[node.opType] ?? 0) + 1;
      for (const sub of node.subgraphs()) walk(sub, nested);
    }
  };
  walk(graph, main);
  return { main, nested };
}
