import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeCell } from '../src/describe.js';
import { attr } from '../src/ir/attribute.js';
import { DataType } from '../src/ir/data-type.js';
import { Node, Value } from '../src/ir/graph.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { recognizeCells } from '../src/recognize/cell.js';
import { evaluateConstant } from '../src/recognize/constant-value.js';
import { OPTIMIZATION_LEVELS } from '../src/run/session.js';
import { corpusCase, runModel } from './helpers/corpus.js';
import { designedExport, quantizersOf, sameForEachGate } from './helpers/designed-cell.js';
import { TinyModel } from './helpers/tiny-model.js';

/**
 * Constant expressions that feed a cell's weights and biases are evaluated at conversion time.
 * Each case here builds one such expression and compares qlstm's evaluation with onnxruntime
 * running the very same expression (the oracle shares no code with qlstm's evaluator).
 */
async function agreesWithOnnxruntime(t: TinyModel, y: Value, count: number): Promise<number[]> {
  t.output(y, [count]);
  const evaluated = Array.from(evaluateConstant(y, { file: 'tiny.onnx' }).data);
  const bytes = exportModel(t.model);
  for (const level of OPTIMIZATION_LEVELS) {
    const [ort] = await runModel(bytes, level, []);
    assert.deepEqual(evaluated, Array.from(ort!.data), level);
  }
  return evaluated;
}

describe('constant DequantizeLinear / QuantizeLinear are evaluated as ONNX defines them (oracle: onnxruntime)', () => {
  it('DequantizeLinear subtracts a non-zero zero point (int8 and uint8)', async () => {
    for (const [make, codes, zero] of [
      [Tensor.int8, [-128, -3, 0, 5, 127], -3],
      [Tensor.uint8, [0, 1, 128, 200, 255], 128],
    ] as const) {
      const t = new TinyModel(14);
      const [y] = t.node('DequantizeLinear', [t.constant(make([5], codes)), t.constant(Tensor.float32([], [0.25])), t.constant(make([], [zero]))]);
      const got = await agreesWithOnnxruntime(t, y!, 5);
      assert.deepEqual(got, codes.map((c) => (c - zero) * 0.25), 'by hand: (q - zero point) * scale');
    }
  });

  it('QuantizeLinear rounds halves to even, then adds the zero point', async () => {
    // x / 0.5 = 2.5, 1.5, -0.5, 3.5, 0.5 -> round half to even 2, 2, -0, 4, 0 -> + 3 = 5, 5, 3, 7, 3
    const t = new TinyModel(14);
    const scale = t.constant(Tensor.float32([], [0.5]));
    const zero = t.constant(Tensor.uint8([], [3]));
    const [q] = t.node('QuantizeLinear', [t.constant(Tensor.float32([5], [1.25, 0.75, -0.25, 1.75, 0.25])), scale, zero]);
    const [y] = t.node('DequantizeLinear', [q!, scale, zero]);
    const got = await agreesWithOnnxruntime(t, y!, 5);
    assert.deepEqual(got, [5, 5, 3, 7, 3].map((c) => (c - 3) * 0.5), 'by hand');
  });

  it('a per-axis DequantizeLinear without an axis attribute uses axis 1, ONNX\'s default', async () => {
    const t = new TinyModel(14);
    const codes = t.constant(Tensor.int8([2, 3], [1, 2, 3, 4, 5, 6]));
    const [y] = t.node('DequantizeLinear', [codes, t.constant(Tensor.float32([3], [1, 10, 100])), t.constant(Tensor.int8([3], [0, 0, 0]))]);
    const got = await agreesWithOnnxruntime(t, y!, 6);
    assert.deepEqual(got, [1, 20, 300, 4, 50, 600], 'by hand: column k times scale k');
  });

  it('opset 21: QuantizeLinear without a zero point writes its output_dtype (int8 here), not uint8', async () => {
    const t = new TinyModel(21);
    const scale = t.constant(Tensor.float32([], [0.5]));
    const [q] = t.node('QuantizeLinear', [t.constant(Tensor.float32([4], [-3, -0.5, 1, 100])), scale], [attr.int('output_dtype', DataType.INT8)]);
    const [y] = t.node('DequantizeLinear', [q!, scale]);
    const got = await agreesWithOnnxruntime(t, y!, 4);
    // -3 / 0.5 = -6; -0.5 / 0.5 = -1; 2; 200 saturates at int8's 127
    assert.deepEqual(got, [-3, -0.5, 1, 63.5], 'by hand');
  });
});

/** Replaces float weight input `index` of the cell by QuantizeLinear(int8) -> [Clip(lo, hi)] -> DequantizeLinear, as Brevitas' QCDQ export writes a weight. */
function quantizeWeight(model: Model, index: number, clip: [number, number] | null): void {
  const graph = model.graph;
  const cell = graph.nodes.find((n) => n.opType === 'QuantLSTMCell')!;
  const name = `w${index}`;
  const scale = graph.addInitializer(`${name}_scale`, Tensor.float32([], [1 / 64]));
  const zero = graph.addInitializer(`${name}_zero`, Tensor.int8([], [0]));
  const step = (opType: string, inputs: (Value | null)[]) => {
    const out = new Value(`${name}_${opType}`);
    graph.nodes.push(new Node({ opType, name: out.name, inputs, outputs: [out] })); // order does not matter: recognition follows the values
    return out;
  };
  const q = step('QuantizeLinear', [cell.input(index), scale, zero]);
  const clipped = clip ? step('Clip', [q, graph.addInitializer(`${name}_lo`, Tensor.int8([], [clip[0]])), graph.addInitializer(`${name}_hi`, Tensor.int8([], [clip[1]]))]) : q;
  cell.setInput(index, step('DequantizeLinear', [clipped, scale, zero]));
}

function weightSummaryWith(clips: ([number, number] | null)[]): ReturnType<typeof summarizeCell>['weights'] {
  const q = { scale: 2 ** -7, bits: 8, signed: true };
  const model = designedExport({
    inputSize: 2,
    hiddenSize: 2,
    steps: 1,
    batch: 1,
    inputWeights: sameForEachGate([0.5, -0.25, 0.125, 0]),
    recurrentWeights: sameForEachGate([0.25, 0, -0.5, 0.0625]),
    biases: null,
    quantizers: quantizersOf({ acc: q, sigmoid: { ...q, signed: false }, tanh: q, cellState: q, hiddenTanh: q, output: q }),
    initialState: { kind: 'inputs' },
  });
  // inputs 3 to 10: the input and recurrent weights of the four gates
  clips.forEach((clip, k) => quantizeWeight(model, 3 + k, clip));
  return summarizeCell(recognizeCells(model)[0]!).weights;
}

describe('how weights were quantized, as inspect and the metadata report it', () => {
  it('the Clip of narrow weights ([-7, 7]) is read as 4-bit signed narrow; [-8, 7] as 4-bit, not narrow', () => {
    const all = (clip: [number, number] | null) => new Array(8).fill(clip) as ([number, number] | null)[];
    // Brevitas: b bits signed narrow = [-2^(b-1) + 1, 2^(b-1) - 1]
    assert.deepEqual(weightSummaryWith(all([-7, 7])), { kind: 'integer', bits: 4, signed: true, narrow: true, granularity: 'per-tensor' });
    assert.deepEqual(weightSummaryWith(all([-8, 7])), { kind: 'integer', bits: 4, signed: true, narrow: false, granularity: 'per-tensor' });
    assert.deepEqual(weightSummaryWith(all([-127, 127])), { kind: 'integer', bits: 8, signed: true, narrow: true, granularity: 'per-tensor' });
  });

  it('across gates: the widest bit width, and narrow only when every gate is', () => {
    const mixed: ([number, number] | null)[] = [[-7, 7], [-127, 127], [-127, 127], [-127, 127], [-127, 127], [-127, 127], [-127, 127], [-127, 127]];
    assert.deepEqual(weightSummaryWith(mixed), { kind: 'integer', bits: 8, signed: true, narrow: true, granularity: 'per-tensor' });
    const oneFull: ([number, number] | null)[] = [null, [-127, 127], [-127, 127], [-127, 127], [-127, 127], [-127, 127], [-127, 127], [-127, 127]];
    assert.deepEqual(weightSummaryWith(oneFull), { kind: 'integer', bits: 8, signed: true, narrow: false, granularity: 'per-tensor' });
  });

  it('the corpus: Brevitas\' 4-bit weights (Int8WeightPerTensorFloat, narrow range) are 4-bit signed narrow', () => {
    for (const flavour of ['qcdq', 'qcdq-int', 'qonnx'] as const) {
      const [cell] = recognizeCells(readModel(corpusCase('w4_i10_h20').file(flavour)));
      assert.deepEqual(summarizeCell(cell!).weights, { kind: 'integer', bits: 4, signed: true, narrow: true, granularity: 'per-tensor' }, flavour);
    }
  });
});
