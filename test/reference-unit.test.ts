import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exactOf, exactProduct, roundToFloat32 } from '../src/reference/exact.js';
import { down32, nextDown32, nextUp32, ulp32, up32 } from '../src/reference/float32.js';
import { codeOf, integerRange, quantize, roundWith } from '../src/reference/quantizer.js';
import { runReferenceCell } from '../src/reference/run.js';
import { followTrajectory } from '../src/reference/trajectory.js';
import type { ReferenceCell, ReferenceQuantizer, RoundingMode } from '../src/reference/types.js';

/**
 * Designed single-unit cells (I = 1, H = 1) whose numbers are worked out by hand below, so
 * the expectations do not come from the code under test.
 *
 * The output gate's accumulator is v = x W_io + h W_ho + b_o with x = 1, W_io = 1,
 * h0 = 2^-12, W_ho = 2^-12, b_o = 2^-24: terms 1, 2^-24 and 2^-24, exact sum 1 + 2^-23.
 *   PyTorch's order (x W + h W) + b: fl(1 + 2^-24) = 1 (a tie, to even), fl(1 + 2^-24) = 1.
 *   Another order, x W + (h W + b):   fl(2^-24 + 2^-24) = 2^-23, fl(1 + 2^-23) = 1 + 2^-23.
 * The bound on any order is gamma_3 (1 + 2^-23) = 1.788e-7 > 2^-23 = 1.192e-7: both are
 * possible. The output-accumulator quantizer has scale 2 (ROUND): 1 / 2 = 0.5 rounds (half to
 * even) to code 0, (1 + 2^-23) / 2 = 0.5 + 2^-24 rounds to code 1: a certified tie, nominal
 * code 1 (the exact value's). Its boundary is the midpoint of 1 and 1 + 2^-23, 2^-24 from the
 * exact value: 0.5 ulp.
 *   code 1: acc 2, sigmoid(2) = 0.880797 -> 225.48 / 256 -> 225 / 256 = 0.87890625
 *   code 0: acc 0, sigmoid(0) = 0.5 -> 128 / 256 = 0.5
 * The other gates have zero weights and biases: acc 0, i = f = sigmoid(0) = 0.5 (128 / 256),
 * g = tanh(0) = 0. With c0 = 0.5: c' = Q(0.5 * 0.5) + Q(0.5 * 0) = 0.25 (scale 2^-7), and
 * tanh(0.25) = 0.244919 -> 31.35 / 128 -> 31 / 128 = 0.2421875. So
 *   h (code 1) = Q(0.87890625 * 0.2421875) = Q(0.2128601) -> 54.49 / 256 -> 54 / 256 = 0.2109375
 *   h (code 0) = Q(0.5 * 0.2421875) = 31 / 256 = 0.12109375
 */
const q = (scale: number, bits: number, signed: boolean, rounding: RoundingMode = 'ROUND', zeroPoint = 0): ReferenceQuantizer => ({
  scale,
  zeroPoint,
  ...integerRange(bits, signed, false),
  rounding,
});
const zeroGate = (acc: ReferenceQuantizer, activation: ReferenceQuantizer) => ({
  inputWeight: Float32Array.of(0),
  recurrentWeight: Float32Array.of(0),
  bias: Float32Array.of(0),
  acc,
  activation,
});

function designedCell(options: { outputAcc?: ReferenceQuantizer; hiddenWeight?: number; outputBias?: number; output?: ReferenceQuantizer; forgetBias?: number } = {}): ReferenceCell {
  const sigmoid = q(2 ** -8, 8, false);
  return {
    name: 'designed',
    inputSize: 1,
    hiddenSize: 1,
    reverse: false,
    batchFirst: false,
    cifg: false,
    input: zeroGate(q(2 ** -4, 8, true), sigmoid),
    forget: { ...zeroGate(q(2 ** -4, 8, true), sigmoid), bias: Float32Array.of(options.forgetBias ?? 0) },
    cell: zeroGate(q(2 ** -4, 8, true), q(2 ** -7, 8, true)),
    output: {
      inputWeight: Float32Array.of(1),
      recurrentWeight: Float32Array.of(options.hiddenWeight ?? 2 ** -12),
      bias: Float32Array.of(options.outputBias ?? 2 ** -24),
      acc: options.outputAcc ?? q(2, 8, true),
      activation: sigmoid,
    },
    cellState: q(2 ** -7, 8, true),
    hiddenStateTanh: q(2 ** -7, 8, true),
    outputQuant: options.output ?? q(2 ** -8, 8, true),
  };
}

function follow(cell: ReferenceCell, observed: number, c0 = 0.5, lastCell?: number) {
  return followTrajectory(cell, {
    steps: 1,
    batch: 1,
    x: Float32Array.of(1),
    h0: Float32Array.of(2 ** -12),
    c0: Float32Array.of(c0),
    observedHidden: Float32Array.of(observed),
    ...(lastCell === undefined ? {} : { observedLastCell: Float32Array.of(lastCell) }),
  });
}

describe('designed ties', () => {
  it('inside the bound: either side is explained, the other side as one tie', () => {
    const nominal = follow(designedCell(), 0.2109375, 0.5, 0.25);
    assert.deepEqual([nominal.nominal, nominal.ties, nominal.unexplained, nominal.lastCell], [1, 0, 0, 'consistent']);
    assert.equal(nominal.certifiedTies, 1);
    const other = follow(designedCell(), 0.12109375, 0.5, 0.25);
    assert.deepEqual([other.nominal, other.ties, other.unexplained, other.lastCell], [0, 1, 0, 'consistent']);
    assert.deepEqual(other.tieSamples, [{ step: 0, batch: 0, unit: 0, quantizer: 'output_acc', codes: [1, 0], distanceUlps: 0.5 }]);
  });

  it('anything else is unexplained, with both candidates named', () => {
    const r = follow(designedCell(), 0.25);
    assert.equal(r.unexplained, 1);
    assert.deepEqual(r.unexplainedSamples, [{ step: 0, batch: 0, unit: 0, what: 'hidden state', observed: 0.25, candidates: [0.2109375, 0.12109375] }]);
  });

  it('a last cell state outside the possible ones is inconsistent', () => {
    const r = follow(designedCell(), 0.2109375, 0.5, 0.2421875);
    assert.equal(r.lastCell, 'inconsistent');
    assert.equal(r.unexplainedSamples[0]!.what, 'last cell state');
  });

  it('a near tie outside the bound: the other side is unexplained', () => {
    // W_ho = 0, b_o = 2^-21: every order gives 1 + 2^-21 exactly (two non-zero terms, and
    // 1 + 2^-21 is a float32), 2^-21 - 2^-24 = 3.5 ulps above the boundary at 1 + 2^-24;
    // the bound gamma_3 (1 + 2^-21) = 1.79e-7 is 1.5 ulps: only code 1 is possible.
    const cell = designedCell({ hiddenWeight: 0, outputBias: 2 ** -21 });
    const nominal = follow(cell, 0.2109375);
    assert.deepEqual([nominal.nominal, nominal.unexplained, nominal.certifiedTies], [1, 0, 0]);
    const other = follow(cell, 0.12109375);
    assert.deepEqual([other.nominal, other.ties, other.unexplained], [0, 0, 1]);
  });

  it('FLOOR instead of ROUND: 0.5 and 0.5 + 2^-24 both floor to 0, no tie, the other way round', () => {
    // ends of the interval: (1 + 2^-23 -+ 1.79e-7) / 2 = 0.49999997 .. 0.50000015, floor 0 both
    const cell = designedCell({ outputAcc: q(2, 8, true, 'FLOOR') });
    const floor = follow(cell, 0.12109375);
    assert.deepEqual([floor.nominal, floor.ties, floor.unexplained, floor.certifiedTies], [1, 0, 0, 0]);
    assert.equal(follow(cell, 0.2109375).unexplained, 1);
  });

  it('a zero point is added before rounding', () => {
    // zero point 3: fl32(0.5 + 3) = 3.5 and fl32(0.5 + 2^-24 + 3) = 3.5 both round to 4, value
    // (4 - 3) * 2 = 2: no tie, o = 0.87890625, h = 0.2109375. Adding the zero point after
    // rounding would give round(0.5) + 3 = 3, value 0, h = 0.12109375: unexplained.
    const cell = designedCell({ outputAcc: q(2, 8, true, 'ROUND', 3) });
    assert.deepEqual([follow(cell, 0.2109375).nominal, follow(cell, 0.2109375).certifiedTies], [1, 0]);
    assert.equal(follow(cell, 0.12109375).unexplained, 1);
  });

  it('an activation tie: sigmoid(0) = 0.5 exactly on a boundary of the output sigmoid quantizer', () => {
    // Output gate weights and bias 0: acc 0, certain. Output sigmoid scale s = fl32(1/257)
    // = 0.0038910506: fl32(0.5 / s) = 128.5 -> code 128 (half to even), but an implementation
    // one unit (2^-24) high gives 0.50000006 / s = 128.50002 -> 129: within ACTIVATION_ULPS, a
    // tie, 0.5 ulp from the boundary (the midpoint of 0.5 and 0.50000006).
    //   code 128: o = 128 s = 0.49805447, o * 0.2421875 = 0.12062257 -> 494.07 / 4096 -> 494
    //   code 129: o = 129 s = 0.5019455,  o * 0.2421875 = 0.12156493 -> 497.93 / 4096 -> 498
    const base = designedCell({ output: q(2 ** -12, 12, true) });
    const cell: ReferenceCell = {
      ...base,
      output: { ...base.output, inputWeight: Float32Array.of(0), recurrentWeight: Float32Array.of(0), bias: Float32Array.of(0), activation: q(Math.fround(1 / 257), 8, false) },
    };
    const nominal = follow(cell, 494 / 4096);
    assert.deepEqual([nominal.nominal, nominal.ties, nominal.unexplained, nominal.certifiedTies], [1, 0, 0, 1]);
    const other = follow(cell, 498 / 4096);
    assert.deepEqual([other.ties, other.unexplained], [1, 0]);
    assert.deepEqual(other.tieSamples, [{ step: 0, batch: 0, unit: 0, quantizer: 'output_sigmoid', codes: [128, 129], distanceUlps: 0.5 }]);
  });

  it('a 16-bit output quantizer with codes above 32767', () => {
    // forget bias 7.9375 (code 127 of scale 2^-4): sigmoid = 0.99964 -> 255.9 -> 256, clamped
    // to 255: f = 0.99609375. c0 = 127/128: f c0 = 0.98831 -> 126.504 / 128 -> 127/128, so
    // c' = 0.9921875, tanh(c') = 0.758294 -> 97.06 / 128 -> 97/128 = 0.7578125.
    // Output 16-bit unsigned, scale 2^-16: o t = (225/256)(97/128) = 21825/32768 -> code 43650;
    // with o = 0.5: 0.37890625 -> code 24832.
    const cell = designedCell({ forgetBias: 7.9375, output: { scale: 2 ** -16, zeroPoint: 0, min: 0, max: 65535, rounding: 'ROUND' } });
    const free = runReferenceCell(cell, Float32Array.of(1), 1, 1, Float32Array.of(2 ** -12), Float32Array.of(0.9921875));
    assert.equal(free.hiddenStates[0], 43650 / 65536);
    assert.equal(free.lastCell[0], 0.9921875);
    const r = follow(cell, 43650 / 65536, 0.9921875, 0.9921875);
    assert.deepEqual([r.nominal, r.unexplained, r.lastCell], [1, 0, 'consistent']);
    assert.deepEqual([follow(cell, 24832 / 65536, 0.9921875).ties, follow(cell, 24832 / 65536, 0.9921875).unexplained], [1, 0]);
  });

  it('the free-running reference takes the nominal side', () => {
    const free = runReferenceCell(designedCell(), Float32Array.of(1), 1, 1, Float32Array.of(2 ** -12), Float32Array.of(0.5));
    assert.deepEqual([free.hiddenStates[0], free.lastHidden[0], free.lastCell[0]], [0.2109375, 0.2109375, 0.25]);
  });

  it('checks the sizes of what it is given', () => {
    assert.throws(() => followTrajectory(designedCell(), { steps: 2, batch: 1, x: Float32Array.of(1), h0: Float32Array.of(0), c0: Float32Array.of(0), observedHidden: Float32Array.of(0, 0) }), /x holds 1 values, expected 2/);
    assert.throws(() => follow(designedCell(), 0.25, 0.3), /initial cell state 0\.3\d* \(batch 0, unit 0\) of cell "designed" is not a value of its cell-state quantizer/);
  });
});

describe('rounding modes (hand-checked)', () => {
  const inputs = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, 1.7, -2.7];
  const table: Record<RoundingMode, number[]> = {
    ROUND: [-2, -2, 0, 0, 2, 2, -1, 2, -3],
    HALF_EVEN: [-2, -2, 0, 0, 2, 2, -1, 2, -3],
    CEIL: [-2, -1, 0, 1, 2, 3, -1, 2, -2],
    FLOOR: [-3, -2, -1, 0, 1, 2, -2, 1, -3],
    DOWN: [-2, -1, 0, 0, 1, 2, -1, 1, -2],
    ROUND_TO_ZERO: [-2, -1, 0, 0, 1, 2, -1, 1, -2],
    UP: [-3, -2, -1, 1, 2, 3, -2, 2, -3],
    HALF_UP: [-3, -2, -1, 1, 2, 3, -1, 2, -3],
    HALF_DOWN: [-2, -1, 0, 0, 1, 2, -1, 2, -3],
    // x < 0 with fraction exactly 0.5: ceil; otherwise half to even
    DPU: [-2, -1, 0, 0, 2, 2, -1, 2, -3],
  };
  for (const [mode, expected] of Object.entries(table) as [RoundingMode, number[]][]) {
    it(mode, () => assert.deepEqual(inputs.map((y) => roundWith(mode, y) + 0), expected));
  }
  it('HALF_UP adds 0.5 in float32, as Brevitas and qonnx do', () => {
    // 0.5 - 2^-25 + 0.5 = 1 - 2^-25, halfway between 1 - 2^-24 and 1: float32 rounds to 1
    assert.equal(roundWith('HALF_UP', 0.5 - 2 ** -25), 1);
    assert.equal(roundWith('HALF_UP', 0.5 - 2 ** -24), 0);
  });
});

describe('quantizer arithmetic (hand-checked)', () => {
  it('integer ranges as qonnx defines them', () => {
    const rows: [number, boolean, boolean, number, number][] = [
      [8, true, false, -128, 127],
      [8, true, true, -127, 127],
      [8, false, false, 0, 255],
      [8, false, true, 0, 254],
      [16, false, false, 0, 65535],
      [2, true, false, -2, 1],
      [24, true, false, -8388608, 8388607],
      [24, false, true, 0, 16777214],
    ];
    for (const [bits, signed, narrow, min, max] of rows) assert.deepEqual(integerRange(bits, signed, narrow), { min, max }, `${bits} ${signed} ${narrow}`);
  });

  it('zero point before rounding, float32 throughout', () => {
    // 0.25 / fl32(0.1) = 2.49999996 -> fl32 2.5; + 3 = 5.5 -> 6 (half to even); (6 - 3) * 0.1f = fl32(0.3)
    const withZero = { scale: Math.fround(0.1), zeroPoint: 3, min: 0, max: 255, rounding: 'ROUND' as const };
    assert.equal(codeOf(withZero, 0.25), 6);
    assert.equal(quantize(withZero, 0.25), Math.fround(0.3));
    // zero point 0: round(2.5) = 2 -> fl32(0.2)
    assert.equal(quantize({ ...withZero, zeroPoint: 0 }, 0.25), Math.fround(0.2));
    // clamped: 100 / 0.1 + 3 = 1003 -> 255, value (255 - 3) * 0.1f
    assert.equal(codeOf(withZero, 100), 255);
  });

  it('codes of a 16-bit unsigned quantizer above 32767, and of 24 bits', () => {
    const q16 = { scale: 2 ** -16, zeroPoint: 0, min: 0, max: 65535, rounding: 'ROUND' as const };
    assert.equal(codeOf(q16, 0.75), 49152);
    assert.equal(codeOf(q16, 2), 65535);
    const q24 = { scale: 2 ** -20, zeroPoint: 0, ...integerRange(24, true, false), rounding: 'ROUND' as const };
    assert.equal(codeOf(q24, 7.5), 7864320);
    assert.equal(codeOf(q24, -9), -8388608);
  });
});

describe('float32 and exact helpers', () => {
  it('neighbours, directed rounding and ulps', () => {
    assert.equal(nextUp32(1), 1 + 2 ** -23);
    assert.equal(nextDown32(1), 1 - 2 ** -24);
    assert.equal(nextUp32(0), 2 ** -149);
    assert.equal(nextDown32(0), -(2 ** -149));
    assert.equal(down32(1 + 2 ** -30), 1);
    assert.equal(up32(1 + 2 ** -30), 1 + 2 ** -23);
    assert.equal(up32(-1 - 2 ** -30), -1);
    assert.deepEqual([ulp32(1), ulp32(0.75), ulp32(1 - 2 ** -24), ulp32(2 ** -130)], [2 ** -23, 2 ** -24, 2 ** -24, 2 ** -149]);
  });

  it('exact sums of float32 products and their float32 rounding', () => {
    // 1 + 2^-24 is halfway: to even, 1; adding 2^-60 decides it upwards
    const half = exactOf(1) + exactProduct(2 ** -12, 2 ** -12);
    assert.equal(roundToFloat32(half), 1);
    assert.equal(roundToFloat32(half + exactProduct(2 ** -30, 2 ** -30)), 1 + 2 ** -23);
    assert.equal(roundToFloat32(exactProduct(3, Math.fround(0.1))), Math.fround(3 * Math.fround(0.1)));
    assert.equal(roundToFloat32(exactProduct(2 ** -100, 2 ** -100)), 0);
    assert.equal(roundToFloat32(-exactOf(2 ** -149)), -(2 ** -149));
  });
});
