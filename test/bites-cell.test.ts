import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import type { Model } from '../src/ir/model.js';
import { exportModel } from '../src/onnx/export.js';
import { recognizeCells } from '../src/recognize/cell.js';
import { OPTIMIZATION_LEVELS } from '../src/run/session.js';
import { LAYOUTS } from '../src/scan/scan.js';
import { runModel } from './helpers/corpus.js';
import { designedExport, quantizersOf, sameForEachGate, type DesignedCell } from './helpers/designed-cell.js';

/**
 * A cell with I = 1, H = 1, T = 1, B = 1 whose outputs are worked out by hand (issue #13): the
 * numbers are chosen so that Brevitas' order of additions, (x W_x + h W_h) + b, and the other
 * order, x W_x + (h W_h + b), round differently in float32, and so that a constant non-zero
 * initial state gives other outputs than zeros would.
 *
 * Every gate: W_x = 1, W_h = 2^-24, b = 2^-24. x = 1, h0 = 1, c0 = 2. So x W_x = 1, h0 W_h = 2^-24.
 *   Brevitas: (1 + 2^-24) + 2^-24. 1 + 2^-24 lies halfway between 1 and the next float32,
 *             1 + 2^-23; ties go to even, so it is 1, and 1 + 2^-24 is 1 again. Sum: 1.
 *   Other:    1 + (2^-24 + 2^-24) = 1 + 2^-23, a float32. Sum: 1.00000012.
 * Accumulator quantizers (signed 8-bit, scale 2, round half to even): 1 / 2 = 0.5 rounds to code
 * 0, value 0; (1 + 2^-23) / 2 = 0.5 + 2^-24 rounds to code 1, value 2.
 *
 * With accumulators 0 (Brevitas), sigmoid quantizers unsigned 8-bit scale 2^-8, tanh quantizers
 * signed 8-bit scale 2^-7, cell state signed 8-bit scale 2^-5, output signed 8-bit scale 2^-6:
 *   i = f = o = Q(sigmoid(0)) = Q(0.5) = 128 / 256 = 0.5;   g = Q(tanh(0)) = 0
 *   c1 = Q_cs(Q_cs(f c0) + Q_cs(i g)) = Q_cs(Q_cs(0.5 * 2) + 0) = 1          (32 codes of 2^-5)
 *   Q_hst(tanh(1)): tanh(1) = 0.761594, * 128 = 97.484 -> code 97 = 0.7578125
 *   h1 = Q_out(o * 0.7578125) = Q_out(0.37890625): * 64 = 24.25 -> code 24 = 0.375
 * With accumulators 2 (the other order):
 *   i = f = o = Q(sigmoid(2)): 0.880797 * 256 = 225.48 -> 225 / 256 = 0.87890625
 *   g = Q(tanh(2)): 0.964028 * 128 = 123.40 -> 123 / 128 = 0.9609375
 *   f c0 = 1.7578125 -> 56.25 codes -> 1.75;  i g = 0.8445740 -> 27.03 codes -> 0.84375
 *   c1 = Q_cs(2.59375) = 2.59375;  Q_hst(tanh(2.59375)): 0.988890 * 128 = 126.58 -> 0.9921875
 *   h1 = Q_out(0.87890625 * 0.9921875 = 0.8720398): * 64 = 55.81 -> 56 / 64 = 0.875
 * Every code above is at least 0.01 of a code away from a rounding boundary, far beyond the
 * float32 error of sigmoid and tanh.
 */
const design = (initialState: DesignedCell['initialState']): DesignedCell => ({
  inputSize: 1,
  hiddenSize: 1,
  steps: 1,
  batch: 1,
  inputWeights: sameForEachGate([1]),
  recurrentWeights: sameForEachGate([2 ** -24]),
  biases: sameForEachGate([2 ** -24]),
  quantizers: quantizersOf({
    acc: { scale: 2, bits: 8, signed: true },
    sigmoid: { scale: 2 ** -8, bits: 8, signed: false },
    tanh: { scale: 2 ** -7, bits: 8, signed: true },
    cellState: { scale: 2 ** -5, bits: 8, signed: true },
    hiddenTanh: { scale: 2 ** -7, bits: 8, signed: true },
    output: { scale: 2 ** -6, bits: 8, signed: true },
  }),
  initialState,
});

const f32 = Math.fround;
const x = { shape: [1, 1, 1], data: Float32Array.of(1) };
const h0 = { shape: [1, 1], data: Float32Array.of(1) };
const c0 = { shape: [1, 1], data: Float32Array.of(2) };
/** Brevitas' outputs, worked out above: all hidden states, last hidden state, last cell state. */
const EXPECTED = [0.375, 0.375, 1];

async function outputsAtEveryLevel(model: Model, inputs: { shape: number[]; data: Float32Array }[]): Promise<Map<string, number[]>> {
  const bytes = exportModel(model);
  const results = new Map<string, number[]>();
  for (const level of OPTIMIZATION_LEVELS) {
    const outputs = await runModel(bytes, level, inputs);
    results.set(level, outputs.map((o) => o.data[0]!));
  }
  return results;
}

describe('the order of the bias add, pinned by a designed I=1, H=1 cell (expected outputs worked out by hand)', () => {
  it('the two orders of addition round differently in float32 (else this test shows nothing)', () => {
    const brevitas = f32(f32(1 + 2 ** -24) + 2 ** -24);
    const other = f32(1 + f32(2 ** -24 + 2 ** -24));
    assert.equal(brevitas, 1);
    assert.equal(other, 1 + 2 ** -23);
    // and the accumulator quantizer tells them apart: 0.5 is a tie (to even: code 0), 0.5 + 2^-24 is above it (code 1)
    assert.deepEqual([f32(brevitas / 2), f32(other / 2)], [0.5, 0.5 + 2 ** -24]);
  });

  for (const layout of LAYOUTS) {
    it(`${layout} layout: (x W_x + h W_h) + b, at every level`, async () => {
      const model = designedExport(design({ kind: 'inputs' }));
      convertModel(model, { layout });
      for (const [level, got] of await outputsAtEveryLevel(model, [x, h0, c0])) assert.deepEqual(got, EXPECTED, level);
    });
  }
});

describe('a constant initial state that is not zeros is used as it is', () => {
  it('is recognised as a value, not as the traced zeros', () => {
    const [cell] = recognizeCells(designedExport(design({ kind: 'constants', hidden: [1], cell: [2] })));
    assert.deepEqual([cell!.initialHidden.kind, cell!.initialCell.kind], ['value', 'value']);
  });

  for (const layout of LAYOUTS) {
    it(`${layout} layout: h0 = 1, c0 = 2 as initializers give the hand-computed outputs at every level`, async () => {
      // zeros instead would give h1 = Q_out(0.5 * Q(tanh(0))) = 0; c0 taken from h0 = 1 would give c1 = 0.5, h1 = 0.234375
      const model = designedExport(design({ kind: 'constants', hidden: [1], cell: [2] }));
      convertModel(model, { layout });
      for (const [level, got] of await outputsAtEveryLevel(model, [x])) assert.deepEqual(got, EXPECTED, level);
    });
  }

  it('traced zeros as constants are still zeros (and then any batch size runs)', () => {
    const [cell] = recognizeCells(designedExport(design({ kind: 'constants', hidden: [0], cell: [0] })));
    assert.deepEqual([cell!.initialHidden.kind, cell!.initialCell.kind], ['zeros', 'zeros']);
  });
});

/**
 * The cell state is quantized after each product, before the sum (Brevitas:
 * c' = Q_cs(Q_cs(f c) + Q_cs(i g))), and narrow range clamps at -2^(b-1) + 1. Designed so that
 * both clamps matter; worked out by hand:
 *
 * x = 1, h0 = 0, c0 = -9.375. W_x = 0 (input, forget, output gates), 4 (cell gate); W_h = 0, b = 0.
 * Accumulators (signed 8-bit, scale 2): 0, 0, 4, 0. Sigmoid quantizers unsigned 8-bit scale 2^-8,
 * cell tanh signed 8-bit scale 2^-7; cell state, hidden-state tanh and output signed 8-bit
 * narrow ([-127, 127]) with scales 2^-5, 2^-7, 2^-9.
 *   i = f = o = Q(sigmoid(0)) = 0.5;  g = Q(tanh(4)): 0.999329 * 128 = 127.91 -> 128 -> clamped 127 = 0.9921875
 *   f c0 = -4.6875 = -150 codes -> clamped to -127 codes = -3.96875     (not narrow: -128 = -4)
 *   i g = 0.49609375 = 15.875 codes -> 16 codes = 0.5
 *   c1 = Q_cs(-3.96875 + 0.5) = -3.46875 (-111 codes)
 *     (f c0 left unquantized: -4.6875 + 0.5 = -4.1875 = -134 codes -> -127 codes = -3.96875)
 *   Q_hst(tanh(-3.46875)): -0.998057 * 128 = -127.75 -> -128 -> clamped -127 = -0.9921875
 *   h1 = Q_out(0.5 * -0.9921875 = -0.49609375): * 512 = -254 -> clamped -127 = -0.248046875
 *     (narrow ignored: c1 = -4 + 0.5 = -3.5, Q_hst(tanh(-3.5)) = -1, h1 = Q_out(-0.5) = -128 / 512 = -0.25)
 */
describe('the cell-state products are quantized before their sum, and narrow ranges clamp one code in', () => {
  const narrow8 = (scale: number) => ({ scale, bits: 8, signed: true, narrow: true });
  const saturating = (): DesignedCell => ({
    inputSize: 1,
    hiddenSize: 1,
    steps: 1,
    batch: 1,
    inputWeights: { input: [0], forget: [0], cell: [4], output: [0] },
    recurrentWeights: sameForEachGate([0]),
    biases: sameForEachGate([0]),
    quantizers: quantizersOf({
      acc: { scale: 2, bits: 8, signed: true },
      sigmoid: { scale: 2 ** -8, bits: 8, signed: false },
      tanh: { scale: 2 ** -7, bits: 8, signed: true },
      cellState: narrow8(2 ** -5),
      hiddenTanh: narrow8(2 ** -7),
      output: narrow8(2 ** -9),
    }),
    initialState: { kind: 'inputs' },
  });

  it('the narrow flags are read: each narrow quantizer\'s range is [-127, 127]', () => {
    const [cell] = recognizeCells(designedExport(saturating()));
    for (const name of ['cell_state', 'hidden_state_tanh', 'output'] as const) {
      const q = cell!.quantizers[name];
      assert.deepEqual([q.narrow, q.min, q.max], [true, -127, 127], name);
    }
    assert.deepEqual([cell!.quantizers.cell_acc.narrow, cell!.quantizers.cell_acc.min], [false, -128]);
  });

  for (const layout of LAYOUTS) {
    it(`${layout} layout: the hand-computed outputs at every level`, async () => {
      const model = designedExport(saturating());
      convertModel(model, { layout });
      const inputs = [x, { shape: [1, 1], data: Float32Array.of(0) }, { shape: [1, 1], data: Float32Array.of(-9.375) }];
      for (const [level, got] of await outputsAtEveryLevel(model, inputs)) assert.deepEqual(got, [-0.248046875, -0.248046875, -3.46875], level);
    });
  }
});
