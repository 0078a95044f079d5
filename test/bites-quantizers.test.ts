import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NameAuthority } from '../src/ir/names.js';
import { Tape } from '../src/ir/tape.js';
import { exportModel } from '../src/onnx/export.js';
import type { RoundingMode } from '../src/quant/rounding.js';
import { makeQuantizer } from '../src/recognize/quantizer.js';
import { OPTIMIZATION_LEVELS } from '../src/run/session.js';
import { applyQuantizer, prepareQuantizer, scalarSpec } from '../src/scan/quantizer-ops.js';
import { runModel } from './helpers/corpus.js';
import { TinyModel } from './helpers/tiny-model.js';

/**
 * Narrow range (issue #13): Brevitas and qonnx give a b-bit quantizer with narrow range the
 * codes [-2^(b-1) + 1, 2^(b-1) - 1] when signed and [0, 2^b - 2] when not. At 8 bits the QDQ
 * form stores int8 / uint8, whose own range is one code wider, so a Clip must bring the end back;
 * at other widths the float form clamps. Expected values are those codes times the scale.
 */
async function quantized(q: { scale: number; bits: number; signed: boolean; narrow: boolean; rounding?: RoundingMode }, xs: number[]): Promise<Map<string, number[]>> {
  const t = new TinyModel(14);
  const x = t.input('x', [xs.length]);
  const tape = new Tape(new NameAuthority(t.model), 'q');
  // the quantizer as recognition describes a cell's (bits, signed, narrow -> its integer range)
  const spec = scalarSpec(makeQuantizer(q.scale, 0, q.bits, q.signed, q.narrow, q.rounding ?? 'ROUND'));
  const y = applyQuantizer(tape, x, prepareQuantizer(tape, 'quant', spec, true), 'quant');
  tape.commitTo(t.graph);
  t.output(y, [xs.length]);
  const bytes = exportModel(t.model);
  const results = new Map<string, number[]>();
  for (const level of OPTIMIZATION_LEVELS) {
    const [out] = await runModel(bytes, level, [{ shape: [xs.length], data: Float32Array.from(xs) }]);
    results.set(level, Array.from(out!.data, (v) => v + 0));
  }
  return results;
}

describe('narrow range, at both ends, in both forms (expected: the codes Brevitas allows, times the scale)', () => {
  const s = 0.5;
  const xs = [-1000, -64.25, 63.75, 1000];
  // x / 0.5: -2000, -128.5, 127.5, 2000
  const cases: [string, { bits: number; signed: boolean; narrow: boolean }, number[]][] = [
    // int8 storage saturates at -128; narrow must stop at -127. -128.5 rounds to -128 (even), then -127.
    ['8-bit signed narrow (QDQ form: QuantizeLinear int8 then Clip)', { bits: 8, signed: true, narrow: true }, [-127, -127, 127, 127]],
    ['8-bit signed, not narrow: -128 is a code', { bits: 8, signed: true, narrow: false }, [-128, -128, 127, 127]],
    // uint8 saturates at 255; narrow stops at 254
    ['8-bit unsigned narrow (QDQ form)', { bits: 8, signed: false, narrow: true }, [0, 0, 128, 254]],
    ['6-bit signed narrow (float form: Clip at -31)', { bits: 6, signed: true, narrow: true }, [-31, -31, 31, 31]],
    ['6-bit unsigned narrow (float form: Clip at 62)', { bits: 6, signed: false, narrow: true }, [0, 0, 62, 62]],
  ];
  for (const [what, q, codes] of cases) {
    it(what, async () => {
      for (const [level, got] of await quantized({ scale: s, ...q }, xs)) assert.deepEqual(got, codes.map((c) => c * s), level);
    });
  }
});

describe('QDQ only for scales where onnxruntime\'s fused kernels are proven exact (2^-24 to 2^8), the float form outside', () => {
  // src/scan/fusion-safety.ts: QLinearSigmoid, which onnxruntime makes of DequantizeLinear -> Sigmoid ->
  // QuantizeLinear, is checked exhaustively only over this range; outside it no QDQ pair may be written.
  const opsOf = (scale: number): string[] => {
    const t = new TinyModel(14);
    const tape = new Tape(new NameAuthority(t.model), 'q');
    const spec = scalarSpec(makeQuantizer(scale, 0, 8, true, false, 'ROUND'));
    applyQuantizer(tape, t.input('x', [1]), prepareQuantizer(tape, 'quant', spec, true), 'quant');
    tape.commitTo(t.graph);
    return t.graph.nodes.map((n) => n.opType);
  };
  for (const [scale, form] of [[2 ** -24, 'qdq'], [2 ** -25, 'float'], [2 ** -40, 'float'], [2 ** 8, 'qdq'], [2 ** 9, 'float']] as const) {
    it(`scale 2^${Math.log2(scale)}: ${form === 'qdq' ? 'QuantizeLinear -> DequantizeLinear' : 'Div, Round, Clip, Mul'}`, () => {
      assert.deepEqual(opsOf(scale), form === 'qdq' ? ['QuantizeLinear', 'DequantizeLinear'] : ['Div', 'Round', 'Clip', 'Mul']);
    });
  }
});
