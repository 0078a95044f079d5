import { realInputs, type Graph } from '../ir/graph.js';

/**
 * Brevitas exports initializers as graph inputs too (keep_initializers_as_inputs), which
 * lets a caller override them and makes runtimes warn. Keeps only the real inputs.
 */
export function removeInitializersFromInputs(graph: Graph): void {
  graph.inputs = realInputs(graph);
}
