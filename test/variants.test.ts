import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import type { Node } from '../src/ir/graph.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { readModel } from '../src/onnx/files.js';
import { isCellNode, recognizeCells } from '../src/recognize/cell.js';
import { QUANTIZER_NAMES, type QuantizerName } from '../src/recognize/description.js';
import { randomInputs } from '../src/verify/random-inputs.js';
import { verifyAgainstReference } from '../src/verify/reference-mode.js';
import { corpusCase } from './helpers/corpus.js';

/**
 * Quantizer settings the corpus does not exercise (every bit width from 2 to 24, narrow range
 * everywhere, non-zero zero points, every rounding mode, scales at the ends of the accepted
 * range), made by editing a real export's cell: the converted model must match the reference
 * cell (src/reference, which reads the edited export itself) at every level, in both layouts,
 * with at most certified ties.
 */
interface Setting {
  bits?: number;
  narrow?: boolean;
  zeroPoint?: number;
  rounding?: string;
  scale?: number;
}

function edit(model: Model, settings: Partial<Record<QuantizerName, Setting>>): void {
  const cell: Node = model.graph.nodes.find(isCellNode)!;
  let count = 0;
  for (const [name, s] of Object.entries(settings) as [QuantizerName, Setting][]) {
    const k = QUANTIZER_NAMES.indexOf(name);
    const signed = cell.attribute(`${name}_signed`)!.value;
    const isSigned = signed.kind === 'int' && signed.value === 1n;
    const constant = (t: Tensor) => model.graph.addInitializer(`variant_${count++}`, t);
    if (s.bits !== undefined) cell.setInput(15 + 3 * k + 2, constant(Tensor.float32([], [s.bits])));
    if (s.zeroPoint !== undefined) cell.setInput(15 + 3 * k + 1, constant(isSigned ? Tensor.int8([], [s.zeroPoint]) : Tensor.uint8([], [s.zeroPoint])));
    if (s.scale !== undefined) cell.setInput(15 + 3 * k, constant(Tensor.float32([], [s.scale])));
    if (s.rounding !== undefined) cell.attribute(`${name}_rounding_mode`)!.value = { kind: 'string', value: new TextEncoder().encode(s.rounding) };
    if (s.narrow !== undefined) {
      const attribute = cell.attribute(name === 'output_sigmoid' ? 'output_sigmoid_narrow_range' : `${name}_narrow`)!;
      attribute.value = { kind: 'int', value: s.narrow ? 1n : 0n };
    }
  }
}

const all = (s: Setting) => Object.fromEntries(QUANTIZER_NAMES.map((n) => [n, s])) as Record<QuantizerName, Setting>;

const variants: [string, Partial<Record<QuantizerName, Setting>>][] = [
  ...[2, 3, 4, 5, 7].map((bits): [string, Partial<Record<QuantizerName, Setting>>] => [`every quantizer at ${bits} bits`, all({ bits })]),
  ['narrow range everywhere', all({ narrow: true })],
  ['non-zero zero points', { output: { zeroPoint: -3 }, cell_state: { zeroPoint: 2 }, input_acc: { zeroPoint: 1 }, cell_tanh: { zeroPoint: -1 }, input_sigmoid: { zeroPoint: 5 }, output_sigmoid: { zeroPoint: 1 }, hidden_state_tanh: { zeroPoint: 4 } }],
  ['4 bits, narrow, with zero points', { ...all({ bits: 4, narrow: true }), cell_state: { bits: 4, narrow: true, zeroPoint: 1 }, forget_sigmoid: { bits: 4, narrow: true, zeroPoint: 3 } }],
  ...[10, 12, 16].map((bits): [string, Partial<Record<QuantizerName, Setting>>] => [`every quantizer at ${bits} bits`, all({ bits })]),
  ['a 24-bit cell state', { cell_state: { bits: 24 } }],
  ...['FLOOR', 'CEIL', 'ROUND_TO_ZERO', 'DPU', 'UP', 'HALF_UP', 'HALF_DOWN'].map((rounding): [string, Partial<Record<QuantizerName, Setting>>] => [`every quantizer rounding ${rounding}`, all({ rounding })]),
  ['rounding modes mixed, with zero points', { cell_state: { rounding: 'FLOOR', zeroPoint: 2 }, input_acc: { rounding: 'CEIL', zeroPoint: -1 }, output: { rounding: 'DPU', zeroPoint: 3 }, cell_tanh: { rounding: 'ROUND_TO_ZERO' } }],
  ['a 2^-40 cell-state scale', { cell_state: { scale: 2 ** -40 } }],
  ['a 2^-30 gate accumulator scale and a 2^20 sigmoid scale (outside the QDQ range: float form)', { input_acc: { scale: 2 ** -30 }, forget_sigmoid: { scale: 2 ** 20 } }],
];

for (const base of ['calib_i10_h20', 'cifg_i10_h20']) {
  describe(`quantizer variants of ${base} convert exactly`, () => {
    for (const [what, settings] of variants) {
      for (const layout of ['fused', 'plain'] as const) {
        it(`${what} (${layout})`, async () => {
          const original = readModel(corpusCase(base).file('qcdq-int'));
          edit(original, settings);
          const converted = readModel(corpusCase(base).file('qcdq-int'));
          edit(converted, settings);
          convertModel(converted, { layout });
          const report = await verifyAgainstReference({
            original,
            converted,
            inputs: randomInputs(original, recognizeCells(original), { seed: 11, sequenceLength: 30, batch: 3 }),
            tolerance: { lsb: 0, abs: 0 },
            levels: ['disabled', 'basic', 'extended', 'all'],
          });
          const worst = report.levels.flatMap((l) => l.outputs.filter((o) => !o.passed).map((o) => `${l.level} ${o.name}: max ${o.maxErrorLsb} LSB`));
          assert.deepEqual(worst, []);
          // the edit took: the recognised quantizers carry the new settings
          const q = recognizeCells(original)[0]!.quantizers;
          for (const [name, s] of Object.entries(settings) as [QuantizerName, Setting][]) {
            if (s.bits !== undefined) assert.equal(q[name].bitWidth, s.bits);
            if (s.zeroPoint !== undefined) assert.equal(q[name].zeroPoint, s.zeroPoint);
            if (s.narrow !== undefined) assert.equal(q[name].narrow, s.narrow);
            if (s.rounding !== undefined) assert.equal(q[name].rounding, s.rounding);
            if (s.scale !== undefined) assert.equal(q[name].scale, Math.fround(s.scale));
          }
        });
      }
    }
  });
}
