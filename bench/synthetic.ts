import { attr, type Attribute } from '../src/ir/attribute.js';
import { DataType } from '../src/ir/data-type.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/type-info.js';
import { QUANTIZER_NAMES } from '../src/recognize/description.js';

export interface SyntheticOptions {
  inputSize: number;
  hiddenSize: number;
  layers: number;
  /** float weights through QuantizeLinear (qcdq) or int8 weight initializers (qcdq-int) */
  flavour: 'qcdq' | 'qcdq-int';
  steps: number;
  batch: number;
  seed?: number;
}

/**
 * A Brevitas-shaped QCDQ export of a stacked QuantLSTM, laid out as the corpus exports are
 * (input quantizer, weight chains, QuantLSTMCell per layer, Unsqueeze/Concat of the last
 * states), with deterministic pseudo-random weights: for timing at sizes the corpus lacks.
 */
export function syntheticExport(o: SyntheticOptions): Model {
  const graph = new Graph();
  graph.name = 'synthetic';
  const model = new Model(graph, `synthetic_l${o.layers}_i${o.inputSize}_h${o.hiddenSize}`);
  model.irVersion = 7n;
  model.producerName = 'qlstm bench';
  model.opsetImports = [{ domain: '', version: 14n }, { domain: 'onnx.brevitas', version: 1n }];
  let state = (o.seed ?? 1) >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  let count = 0;
  const constant = (tensor: Tensor) => graph.addInitializer(`c${count++}`, tensor);
  const node = (opType: string, inputs: (Value | null)[], attributes: Attribute[] = [], domain = '', outputs = 1) => {
    const values = Array.from({ length: outputs }, () => new Value(`t${count++}`));
    graph.nodes.push(new Node({ opType, domain, name: `/${opType}_${count++}`, inputs, outputs: values, attributes }));
    return values;
  };
  const scalar = (v: number) => constant(Tensor.float32([], [v]));
  const int8Zero = constant(Tensor.int8([], [0]));
  const uint8Zero = constant(Tensor.uint8([], [0]));

  const x = new Value('x');
  x.info = { type: tensorType(DataType.FLOAT, [o.steps, o.batch, o.inputSize]) };
  graph.inputs.push(x);
  const inputScale = scalar(0.003 + random() * 0.001);
  const [xq] = node('QuantizeLinear', [x, inputScale, int8Zero]);
  let [layerInput] = node('DequantizeLinear', [xq!, inputScale, int8Zero]);

  const weight = (rows: number, cols: number): Value => {
    const scale = scalar(0.0015 + random() * 0.0005);
    const bounds = [constant(Tensor.int8([], [-127])), constant(Tensor.int8([], [127]))];
    let codes: Value;
    if (o.flavour === 'qcdq') {
      const w = constant(Tensor.float32([rows, cols], Float32Array.from({ length: rows * cols }, () => (random() - 0.5) * 0.4)));
      [codes] = node('QuantizeLinear', [w, scale, int8Zero]) as [Value];
    } else {
      codes = constant(Tensor.int8([rows, cols], Int8Array.from({ length: rows * cols }, () => Math.round((random() - 0.5) * 254))));
    }
    const [clipped] = node('Clip', [codes, ...bounds]);
    return node('DequantizeLinear', [clipped!, scale, int8Zero])[0]!;
  };

  const hidden: Value[] = [];
  const cellStates: Value[] = [];
  const zeros = constant(Tensor.float32([o.batch, o.hiddenSize], new Float32Array(o.batch * o.hiddenSize)));
  for (let layer = 0; layer < o.layers; layer++) {
    const inputSize = layer === 0 ? o.inputSize : o.hiddenSize;
    const weights = [0, 1, 2, 3].map(() => weight(o.hiddenSize, inputSize));
    const recurrent = [0, 1, 2, 3].map(() => weight(o.hiddenSize, o.hiddenSize));
    const biases = [0, 1, 2, 3].map(() => constant(Tensor.float32([o.hiddenSize], Float32Array.from({ length: o.hiddenSize }, () => (random() - 0.5) * 0.2))));
    const quantizers = QUANTIZER_NAMES.flatMap((name) => {
      const unsigned = name.endsWith('sigmoid');
      return [scalar(unsigned ? 0.0028 + random() * 0.0005 : 0.003 + random() * 0.005), unsigned ? uint8Zero : int8Zero, scalar(8)];
    });
    const attributes: Attribute[] = [attr.int('batch_first', 0), attr.int('reverse_input', 0), attr.int('cifg', 0)];
    for (const name of QUANTIZER_NAMES) {
      const narrow = name === 'output_sigmoid' ? 'output_sigmoid_narrow_range' : `${name}_narrow`;
      attributes.push(attr.int(`${name}_signed`, name.endsWith('sigmoid') ? 0 : 1), attr.int(narrow, 0));
      attributes.push({ name: `${name}_rounding_mode`, value: { kind: 'string', value: new TextEncoder().encode('ROUND') }, declaredType: 3 });
    }
    const [sequence, h, c] = node('QuantLSTMCell', [layerInput!, zeros, zeros, ...weights, ...recurrent, ...biases, ...quantizers], attributes, 'onnx.brevitas', 3);
    const axis = constant(Tensor.int64([1], [0]));
    hidden.push(node('Unsqueeze', [h!, axis])[0]!);
    cellStates.push(node('Unsqueeze', [c!, axis])[0]!);
    layerInput = sequence;
  }
  const stack = (values: Value[]) => (values.length === 1 ? values[0]! : node('Concat', values, [attr.int('axis', 0)])[0]!);
  for (const output of [layerInput!, stack(hidden), stack(cellStates)]) {
    output.info = { type: tensorType(DataType.FLOAT) };
    graph.outputs.push(output);
  }
  return model;
}
