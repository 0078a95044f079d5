import { attr } from '../src/ir/attribute.js';
import { DataType } from '../src/ir/data-type.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/type-info.js';

/**
 * onnxruntime's native float LSTM with the same sizes (stacked layers chained through a
 * Squeeze of the direction axis): the speed the converted model is measured against.
 */
export function nativeLstm(inputSize: number, hiddenSize: number, layers: number): Model {
  const graph = new Graph();
  const model = new Model(graph, 'native-lstm');
  model.irVersion = 8n;
  model.opsetImports = [{ domain: '', version: 14n }];
  const x = new Value('x');
  x.info = { type: tensorType(DataType.FLOAT, ['sequence_length', 'batch_size', inputSize]) };
  graph.inputs.push(x);
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.731 + seed) * 0.1);
  let input = x;
  let outputs: Value[] = [];
  for (let layer = 0; layer < layers; layer++) {
    const size = layer === 0 ? inputSize : hiddenSize;
    const w = graph.addInitializer(`W${layer}`, Tensor.float32([1, 4 * hiddenSize, size], values(4 * hiddenSize * size, layer)));
    const r = graph.addInitializer(`R${layer}`, Tensor.float32([1, 4 * hiddenSize, hiddenSize], values(4 * hiddenSize * hiddenSize, layer + 0.5)));
    const b = graph.addInitializer(`B${layer}`, Tensor.float32([1, 8 * hiddenSize], values(8 * hiddenSize, layer + 0.25)));
    outputs = ['Y', 'Y_h', 'Y_c'].map((n) => new Value(`${n}${layer}`));
    graph.nodes.push(new Node({ opType: 'LSTM', name: `lstm${layer}`, inputs: [input, w, r, b], outputs, attributes: [attr.int('hidden_size', hiddenSize)] }));
    const squeezed = new Value(`layer${layer}`);
    graph.nodes.push(new Node({ opType: 'Squeeze', name: `squeeze${layer}`, inputs: [outputs[0]!, graph.addInitializer(`axis${layer}`, Tensor.int64([1], [1]))], outputs: [squeezed] }));
    input = squeezed;
  }
  for (const v of [input, outputs[1]!, outputs[2]!]) {
    v.info = { type: tensorType(DataType.FLOAT) };
    graph.outputs.push(v);
  }
  return model;
}
