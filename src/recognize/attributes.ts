import { UnsupportedModelError, type ErrorLocation } from '../errors.js';
import type { Node } from '../ir/graph.js';

/** onnx.checker rejects a node that names an attribute twice; so does qlstm, rather than pick one. */
export function refuseDuplicateAttributes(node: Node, at: ErrorLocation): void {
  const seen = new Set<string>();
  for (const attribute of node.attributes) {
    if (seen.has(attribute.name)) throw new UnsupportedModelError(`has attribute "${attribute.name}" more than once`, at);
    seen.add(attribute.name);
  }
}
