import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAYOUTS } from '../src/scan/scan.js';
import { convertModel } from '../src/convert.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { recognizeCells } from '../src/recognize/cell.js';
import { OPTIMIZATION_LEVELS } from '../src/run/session.js';
import { MAX_QDQ_SCALE, MIN_QDQ_SCALE } from '../src/scan/fusion-safety.js';
import { corpusCases, runModel } from './helpers/corpus.js';
import { opCounts, optimizedGraph } from './helpers/optimized.js';
import { Tensor, TinyModel } from './helpers/tiny-model.js';

/**
 * The kernels onnxruntime may put in place of a converted cell's standard operators, each
 * proven below to compute exactly what the operators it replaces compute. Any other fused
 * kernel is a rewrite that may change a result, and fails the first test.
 */
const PROVEN_EXACT = new Set(['com.microsoft::QLinearSigmoid']);

describe('onnxruntime fuses converted models only into kernels proven exact', () => {
  for (const c of corpusCases()) {
    for (const flavour of c.flavours) {
      it(`${c.name} (${flavour})`, async () => {
        for (const layout of LAYOUTS) {
          const model = readModel(c.file(flavour));
          convertModel(model, { layout });
          const bytes = exportModel(model);
          for (const level of OPTIMIZATION_LEVELS) {
            const custom = [...opCounts(await optimizedGraph(bytes, level)).keys()].filter((k) => !k.startsWith('ai.onnx::'));
            const unproven = custom.filter((k) => !PROVEN_EXACT.has(k));
            assert.deepEqual(unproven, [], `${layout} layout at ${level}: onnxruntime made ${unproven.join(', ')}`);
          }
        }
      });
    }
  }
});

/** A seeded generator of uniform numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0), s / 2 ** 32);
}

interface SigmoidCase {
  inScale: number;
  inSigned: boolean;
  outScale: number;
  outSigned: boolean;
}

/** x (integer codes as floats) -> Q(in) -> DQ -> Sigmoid -> Q(out) -> DQ, one branch per case. */
function sigmoidBranches(cases: SigmoidCase[]): Uint8Array {
  const t = new TinyModel(14);
  const ints = (signed: boolean, v: number) => (signed ? Tensor.int8([], [v]) : Tensor.uint8([], [v]));
  cases.forEach((c, k) => {
    const x = t.input(`x${k}`, [256]);
    const [codes] = t.node('QuantizeLinear', [x, t.constant(Tensor.float32([], [1])), t.constant(ints(c.inSigned, 0))]);
    const inScale = t.constant(Tensor.float32([], [c.inScale]));
    const inZero = t.constant(ints(c.inSigned, 0));
    const [v] = t.node('DequantizeLinear', [codes!, inScale, inZero]);
    const [s] = t.node('Sigmoid', [v!]);
    const outScale = t.constant(Tensor.float32([], [c.outScale]));
    const outZero = t.constant(ints(c.outSigned, 0));
    const [q] = t.node('QuantizeLinear', [s!, outScale, outZero]);
    const [y] = t.node('DequantizeLinear', [q!, outScale, outZero]);
    t.output(y!, [256]);
  });
  return exportModel(t.model);
}

describe('QLinearSigmoid computes DequantizeLinear -> Sigmoid -> QuantizeLinear exactly, for every code', () => {
  // The corpus' own (accumulator, sigmoid) quantizer pairs, and a log-uniform sweep over the
  // range of scales for which qlstm writes the QDQ form.
  const real: SigmoidCase[] = [];
  for (const c of corpusCases().filter((k) => !k.atScale)) {
    for (const cell of recognizeCells(readModel(c.file(c.flavours[0]!)))) {
      for (const [acc, act] of [['input_acc', 'input_sigmoid'], ['forget_acc', 'forget_sigmoid'], ['output_acc', 'output_sigmoid']] as const) {
        const a = cell.quantizers[acc];
        const s = cell.quantizers[act];
        if (a.bitWidth === 8 && s.bitWidth === 8) real.push({ inScale: a.scale, inSigned: a.signed, outScale: s.scale, outSigned: s.signed });
      }
    }
  }
  const next = random(20261129);
  const logUniform = () => Math.fround(MIN_QDQ_SCALE * (MAX_QDQ_SCALE / MIN_QDQ_SCALE) ** next());
  const swept: SigmoidCase[] = Array.from({ length: 400 }, (_, k) => ({ inScale: logUniform(), inSigned: k % 4 !== 3, outScale: logUniform(), outSigned: k % 4 === 2 }));
  // A sigmoid output scale near 1/255 or 1/127 is what calibration gives: sweep densely there.
  const calibrated: SigmoidCase[] = Array.from({ length: 200 }, (_, k) => ({
    inScale: Math.fround(2 ** (-8 + 7 * next())),
    inSigned: true,
    outScale: Math.fround((k % 2 ? 1 / 255 : 1 / 127) * (0.9 + 0.2 * next())),
    outSigned: k % 2 === 1,
  }));

  for (const [what, cases] of [['the corpus quantizers', real], ['a log-uniform sweep of scales', swept], ['calibrated sigmoid scales', calibrated]] as const) {
    it(`${what} (${cases.length} scale pairs x 256 codes)`, async () => {
      const bytes = sigmoidBranches(cases);
      const fused = opCounts(await optimizedGraph(bytes, 'all')).get('com.microsoft::QLinearSigmoid') ?? 0;
      assert.equal(fused, cases.length, 'onnxruntime fused every branch (else this test proves nothing)');
      const inputs = cases.map((c) => ({ shape: [256], data: Float32Array.from({ length: 256 }, (_, i) => (c.inSigned ? i - 128 : i)) }));
      const float = await runModel(bytes, 'disabled', inputs);
      for (const level of ['extended', 'all'] as const) {
        const got = await runModel(bytes, level, inputs);
        got.forEach((out, k) => {
          const bad = out.data.findIndex((v, i) => v !== float[k]!.data[i]);
          assert.equal(bad, -1, `${level}: scales ${JSON.stringify(cases[k])}, code ${inputs[k]!.data[bad]}: ${out.data[bad]} vs ${float[k]!.data[bad]}`);
        });
      }
    });
  }
});
