import { Node, Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { tensorType } from '../ir/type-info.js';

/**
 * The part of a model qlstm does not convert, alone: every node of a custom domain becomes
 * Identity nodes that read its inputs, and its outputs become graph inputs. When onnxruntime
 * refuses a converted model, it refusing this too shows the fault is in the input, not in what
 * qlstm wrote. Edits `model` in place.
 */
export function withCustomNodesStubbed(model: Model): Model {
  const graph = model.graph;
  graph.nodes = graph.nodes.flatMap((node, i) => {
    if (node.domain === '' || node.domain === 'ai.onnx') return [node];
    const reads = node.inputs
      .filter((v): v is Value => v !== null)
      .map((input, k) => new Node({ opType: 'Identity', name: `qlstm_control_read_${i}_${k}`, inputs: [input], outputs: [new Value(`qlstm_control_read_${i}_${k}`)] }));
    node.detach();
    const standIns = node.outputs
      .filter((o) => o.name !== '')
      .map((output, k) => {
        const input = new Value(`qlstm_control_stand_in_${i}_${k}`);
        input.info = { type: tensorType(1) };
        graph.inputs.push(input);
        return new Node({ opType: 'Identity', name: `qlstm_control_stand_in_${i}_${k}`, inputs: [input], outputs: [output] });
      });
    return [...reads, ...standIns];
  });
  model.opsetImports = model.opsetImports.filter((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  return model;
}
