import { InternalError } from '../errors.js';
import type { Graph, Node, Value } from './graph.js';

/** Drops value_info entries of values that no node defines or reads any more. */
export function removeStaleValueInfo(graph: Graph): void {
  const live = graph.definedValues();
  graph.valueInfo = graph.valueInfo.filter((v) => live.has(v) || v.useCount > 0);
}

/** Drops initializers that no node reads and that are not graph outputs or inputs. */
export function removeUnusedInitializers(graph: Graph): void {
  const keep = new Set([...graph.outputs, ...graph.inputs]);
  const read = readValues(graph);
  graph.initializers = graph.initializers.filter((v) => keep.has(v) || read.has(v));
}

/** Every value that a node of `graph`, or of a graph nested in it, reads. */
function readValues(graph: Graph): Set<Value> {
  const read = new Set<Value>();
  for (const node of graph.nodes) {
    for (const v of node.inputs) if (v) read.add(v);
    for (const v of node.implicitInputs()) read.add(v);
  }
  return read;
}

/**
 * Orders nodes so that every node comes after the producers of what it reads. Stable:
 * nodes already in order keep their relative order, and new nodes land where first needed.
 */
export function toposort(graph: Graph): void {
  const cycle = findCycle(graph);
  if (cycle) throw new InternalError(`the graph has a cycle through node ${cycle.label()}`);
  graph.nodes = sortedNodes(graph);
}

/** A node on a cycle of the graph, or undefined when it has none. */
export function findCycle(graph: Graph): Node | undefined {
  try {
    sortedNodes(graph);
    return undefined;
  } catch (error) {
    if (error instanceof CycleFound) return error.node;
    throw error;
  }
}

class CycleFound extends Error {
  constructor(readonly node: Node) {
    super('cycle');
  }
}

function sortedNodes(graph: Graph): Node[] {
  const inGraph = new Set(graph.nodes);
  const state = new Map<Node, 'visiting' | 'done'>();
  const sorted: Node[] = [];
  for (const root of graph.nodes) {
    if (state.has(root)) continue;
    const stack: { node: Node; deps: Node[]; next: number }[] = [{ node: root, deps: dependencies(root, inGraph), next: 0 }];
    state.set(root, 'visiting');
    while (stack.length) {
      const frame = stack[stack.length - 1]!;
      if (frame.next < frame.deps.length) {
        const dep = frame.deps[frame.next++]!;
        const seen = state.get(dep);
        if (seen === 'visiting') throw new CycleFound(dep);
        if (seen === undefined) {
          state.set(dep, 'visiting');
          stack.push({ node: dep, deps: dependencies(dep, inGraph), next: 0 });
        }
        continue;
      }
      state.set(frame.node, 'done');
      sorted.push(frame.node);
      stack.pop();
    }
  }
  return sorted;
}

function dependencies(node: Node, inGraph: Set<Node>): Node[] {
  const deps: Node[] = [];
  for (const v of [...node.inputs, ...node.implicitInputs()]) {
    const producer = v?.producer;
    if (producer && inGraph.has(producer)) deps.push(producer);
  }
  return deps;
}

/** Nodes whose outputs nothing reads and that are not graph outputs. */
export function deadNodes(graph: Graph): Set<Node> {
  const outputs = new Set(graph.outputs);
  return new Set(graph.nodes.filter((node) => node.outputs.every((o) => o.useCount === 0 && !outputs.has(o))));
}

/**
 * Removes nodes whose outputs nothing reads and that are not graph outputs, repeatedly, so that
 * a conversion leaves no dead chain behind (as onnx-graphsurgeon's cleanup does). Nodes in
 * `keep` (a model's own dead nodes, which the conversion did not touch) stay.
 */
export function removeDeadNodes(graph: Graph, keep: ReadonlySet<Node> = new Set()): void {
  const outputs = new Set(graph.outputs);
  let removed = true;
  while (removed) {
    removed = false;
    for (const node of [...graph.nodes].reverse()) {
      if (keep.has(node)) continue;
      if (node.outputs.every((o) => o.useCount === 0 && !outputs.has(o))) {
        graph.removeNode(node);
        removed = true;
      }
    }
  }
}
