import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NameAuthority } from '../src/ir/names.js';
import { Tape } from '../src/ir/tape.js';
import { exportModel } from '../src/onnx/export.js';
import { integerRange } from '../src/quant/range.js';
import type { RoundingMode } from '../src/quant/rounding.js';
import { evaluateConstant } from '../src/recognize/constant-value.js';
import { OPTIMIZATION_LEVELS } from '../src/run/session.js';
import { applyQuantizer, prepareQuantizer } from '../src/scan/quantizer-ops.js';
import { runModel } from './helpers/corpus.js';
import { Tensor, TinyModel } from './helpers/tiny-model.js';

/** One quantizer written by the builder, applied to designed inputs; outputs at every level. */
async function quantized(spec: { scale: number; zeroPoint: number; bits: number; signed: boolean; narrow?: boolean; rounding: RoundingMode }, xs: number[]): Promise<number[][]> {
  const t = new TinyModel(14);
  const x = t.input('x', [xs.length]);
  const tape = new Tape(new NameAuthority(t.model), 'q');
  const q = { scale: { dims: [], values: [spec.scale] }, zeroPoint: { dims: [], values: [spec.zeroPoint] }, bits: spec.bits, signed: spec.signed, rounding: spec.rounding, ...integerRange(spec.bits, spec.signed, spec.narrow ?? false) };
  const y = applyQuantizer(tape, x, prepareQuantizer(tape, 'quant', q, true), 'quant');
  tape.commitTo(t.graph);
  t.output(y, [xs.length]);
  const bytes = exportModel(t.model);
  const results: number[][] = [];
  for (const level of OPTIMIZATION_LEVELS) {
    const [out] = await runModel(bytes, level, [{ shape: [xs.length], data: Float32Array.from(xs) }]);
    results.push(Array.from(out!.data, (v) => v + 0)); // + 0 folds -0 into 0
  }
  return results;
}

describe('quantizer rules, pinned with designed inputs (expected values worked out by hand)', () => {
  // Scale 0.5 is exact, so x / 0.5 is 2x exactly: 1.25 -> 2.5, -1.25 -> -2.5, 1.75 -> 3.5,
  // -0.25 -> -0.5, 0.6 -> 1.2 (0.6 in float32 is 0.60000002384, so 1.20000004768).
  const xs = [1.25, -1.25, 1.75, -0.25, 0.6];
  const expectedCodes: Record<RoundingMode, number[]> = {
    ROUND: [2, -2, 4, 0, 1],
    HALF_EVEN: [2, -2, 4, 0, 1],
    FLOOR: [2, -3, 3, -1, 1],
    CEIL: [3, -2, 4, 0, 2],
    ROUND_TO_ZERO: [2, -2, 3, 0, 1],
    DOWN: [2, -2, 3, 0, 1],
    UP: [3, -3, 4, -1, 2],
    HALF_UP: [3, -3, 4, -1, 1],
    HALF_DOWN: [2, -2, 3, 0, 1],
    DPU: [2, -2, 4, 0, 1],
  };
  for (const [mode, codes] of Object.entries(expectedCodes) as [RoundingMode, number[]][]) {
    it(`${mode} at exact halves (a FLOOR vs ROUND tie included)`, async () => {
      for (const got of await quantized({ scale: 0.5, zeroPoint: 0, bits: 8, signed: true, rounding: mode }, xs)) {
        assert.deepEqual(got, codes.map((c) => c * 0.5));
      }
    });
  }

  it('a zero point is added before rounding, as Brevitas and qonnx do', async () => {
    // 1.25 / 0.5 + 3 = 5.5: ROUND gives 6 (even), FLOOR 5; then (code - 3) * 0.5.
    for (const got of await quantized({ scale: 0.5, zeroPoint: 3, bits: 8, signed: true, rounding: 'ROUND' }, [1.25])) assert.deepEqual(got, [1.5]);
    for (const got of await quantized({ scale: 0.5, zeroPoint: 3, bits: 8, signed: true, rounding: 'FLOOR' }, [1.25])) assert.deepEqual(got, [1]);
    // With the zero point added after rounding (QuantizeLinear's order) ROUND would give round(2.5) + 3 = 5.
  });

  it('16-bit codes above 32767 and at the ends of the range', async () => {
    const xs16 = [40000.4, 70000, -5, 32767.5, 65534.5];
    for (const got of await quantized({ scale: 1, zeroPoint: 0, bits: 16, signed: false, rounding: 'ROUND' }, xs16)) assert.deepEqual(got, [40000, 65535, 0, 32768, 65534]);
    for (const got of await quantized({ scale: 1, zeroPoint: 0, bits: 16, signed: true, rounding: 'ROUND' }, [40000, -40000, 32766.5, -32767.5])) assert.deepEqual(got, [32767, -32768, 32766, -32768]);
    for (const got of await quantized({ scale: 1, zeroPoint: 0, bits: 16, signed: true, narrow: true, rounding: 'ROUND' }, [-40000])) assert.deepEqual(got, [-32767]);
  });

  it('24-bit codes, where float32 still holds every integer', async () => {
    for (const got of await quantized({ scale: 0.25, zeroPoint: 0, bits: 24, signed: true, rounding: 'FLOOR' }, [2097151.9, -2097152.5, 3e6])) {
      // 2097151.9 is 2097152 in float32; / 0.25 = 8388608 -> clamped to 8388607; -2097152.5 / 0.25 = -8388610 -> -8388608.
      assert.deepEqual(got, [8388607 * 0.25, -8388608 * 0.25, 8388607 * 0.25]);
    }
  });

  it('outside the QDQ range the float form is written (a 1e-12 cell-state scale stays exact)', async () => {
    // 3e-12 / 1e-12 in float32 arithmetic: both are float32 values; their quotient rounds to 3.
    const s = Math.fround(1e-12);
    for (const got of await quantized({ scale: s, zeroPoint: 0, bits: 8, signed: true, rounding: 'ROUND' }, [Math.fround(3 * s), 1])) {
      assert.deepEqual(got, [Math.fround(Math.fround(3) * s), Math.fround(127 * s)]);
    }
  });
});

describe('a quantized bias is evaluated as DequantizeLinear computes it, at the ends of int32 and int16', () => {
  // int16 DequantizeLinear needs opset 21
  const cases: [string, number, (dims: number[], v: number[]) => Tensor, number[]][] = [
    ['int32', 14, (d, v) => new Tensor(6, d, { kind: 'raw', bytes: new Uint8Array(Int32Array.from(v).buffer) }), [-(2 ** 31), 2 ** 31 - 1, 0, 2 ** 24 + 1, -(2 ** 24) - 3, 123456789]],
    ['int16', 21, (d, v) => new Tensor(5, d, { kind: 'raw', bytes: new Uint8Array(Int16Array.from(v).buffer) }), [-32768, 32767, 0, -1]],
  ];
  for (const [type, opset, make, values] of cases) {
    it(type, async () => {
      const scale = Math.fround(3.1e-7);
      const t = new TinyModel(opset);
      const codes = t.constant(make([values.length], values));
      const [y] = t.node('DequantizeLinear', [codes, t.constant(Tensor.float32([], [scale])), t.constant(make([], [0]))]);
      t.output(y!, [values.length]);
      const evaluated = evaluateConstant(y!, { file: 'tiny.onnx' });
      for (const level of OPTIMIZATION_LEVELS) {
        // the oracle is onnxruntime's own DequantizeLinear on the same initializer
        const [ort] = await runModel(exportModel(t.model), level, []);
        assert.deepEqual(Array.from(evaluated.data), Array.from(ort!.data), level);
      }
    });
  }
});
