import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import { exportModel } from '../src/onnx/export.js';
import { formatNpy, parseNpy } from '../src/run/npy.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { CORPUS, corpusCase, runModel } from './helpers/corpus.js';
import { designedExport, quantizersOf, sameForEachGate } from './helpers/designed-cell.js';
import { convertFixture } from './helpers/verify-models.js';

const dir = temporaryDir('bites-verify');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * The last cell state is a cell-state quantizer's output: its differences are counted in that
 * quantizer's LSB and its values must lie on that quantizer's grid, not the output quantizer's
 * (issue #13). calib_i10_h20 gives each quantizer its own scale, so the two cannot be confused.
 */
describe('the last cell state is measured in the cell-state quantizer\'s LSB', () => {
  const c = corpusCase('calib_i10_h20');
  const corpus = (file: string) => path.join(CORPUS, file);
  const converted = convertFixture(c.file('qcdq-int'), path.join(dir, 'calib.converted.onnx'));
  const inputs = ['--inputs', ...c.meta.inputs.map((i) => corpus(i.file))];
  const cellScale = c.meta.cell_state_scale;

  /** The goldens with the last cell state at batch B-1, unit 7 moved up by `codes` cell-state codes. */
  function movedGoldens(codes: number): string[] {
    const last = parseNpy(fs.readFileSync(corpus(c.meta.outputs[2]!.file)), 'c');
    const H = last.shape[last.shape.length - 1]!;
    const at = last.data.length - H + 7;
    last.data[at] = Math.fround((Math.round(last.data[at]! / cellScale) + codes) * cellScale);
    const file = path.join(dir, `last-cell-moved-${codes}.npy`);
    fs.writeFileSync(file, formatNpy(last));
    return ['--expected', corpus(c.meta.outputs[0]!.file), corpus(c.meta.outputs[1]!.file), file];
  }

  it('the scales differ (else this test shows nothing)', () => {
    assert.notEqual(c.meta.cell_state_scale, c.meta.output_scale);
  });

  it('one cell-state code off: 1 LSB, on the grid, accepted by --tolerance-lsb 1', async () => {
    const r = await qlstm('verify', converted, ...inputs, ...movedGoldens(1), '--tolerance-lsb', '1', '--level', 'disabled', '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout).levels[0].outputs[2];
    assert.equal(out.lsb, cellScale, 'the LSB reported is the cell-state scale');
    assert.equal(out.maxErrorLsb, 1);
    assert.equal(out.withinTolerance, 1);
  });

  it('two cell-state codes off: beyond --tolerance-lsb 1', async () => {
    const r = await qlstm('verify', converted, ...inputs, ...movedGoldens(2), '--tolerance-lsb', '1', '--level', 'disabled', '--json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout).levels[0].outputs[2];
    assert.equal(out.maxErrorLsb, 2);
    assert.equal(out.passed, false);
  });
});

/**
 * A certified tie needs the whole bound, gamma_{K+1} sum|a_k w_k| (src/reference/accumulate.ts):
 * a designed accumulator whose float32 evaluations differ by more than one rounding of the sum.
 * I = 9, H = 1: x = [1, 2^-24 (eight times)], the input gate's W_x = [1, ..., 1], everything else
 * of that gate 0. The exact sum is 1 + 8 * 2^-24 = 1 + 2^-21; adding left to right in float32
 * gives 1 (each 1 + 2^-24 is a tie, to even: 1). The accumulator quantizer (scale 2, half to even)
 * sends 1 to code 0 and 1 + 2^-21 to code 1: two orders, two codes, 8 float32 ulps of 2^-24 apart,
 * well inside gamma_11 * 1 = 11 * 2^-24 but far outside one rounding, 2^-24.
 * The cell gate's W_x = [4, 0, ...]: accumulator 4 (exact), g = Q(tanh(4)) = 127 / 128 (tanh(4) * 128 =
 * 127.91 -> clamped to 127). Forget and output gates: accumulator 0, so f = o = 0.5. h0 = c0 = 0.
 *   input code 0: i = 0.5;        i g = 0.49609375 -> 16 codes of 2^-5 -> c1 = 0.5
 *                 Q_hst(tanh(0.5)) = 59 / 128 (59.15); h1 = Q_out(0.5 * 59 / 128) = 59 / 256 = 0.23046875
 *   input code 1: i = Q(sigmoid(2)) = 225 / 256 = 0.87890625;  i g = 0.8720398 -> 28 codes -> c1 = 0.875
 *                 Q_hst(tanh(0.875)) = 90 / 128 (90.10); h1 = Q_out(0.5 * 90 / 128) = 90 / 256 = 0.3515625
 * Whichever onnxruntime computes, goldens with the other are a certified tie (exit 0); goldens
 * that neither order gives are not (exit 1).
 */
describe('a tie that only the full summation bound certifies', () => {
  const design = designedExport({
    inputSize: 9,
    hiddenSize: 1,
    steps: 1,
    batch: 1,
    inputWeights: { input: new Array(9).fill(1), forget: new Array(9).fill(0), cell: [4, 0, 0, 0, 0, 0, 0, 0, 0], output: new Array(9).fill(0) },
    recurrentWeights: sameForEachGate([0]),
    biases: sameForEachGate([0]),
    quantizers: quantizersOf({
      acc: { scale: 2, bits: 8, signed: true },
      sigmoid: { scale: 2 ** -8, bits: 8, signed: false },
      tanh: { scale: 2 ** -7, bits: 8, signed: true },
      cellState: { scale: 2 ** -5, bits: 8, signed: true },
      hiddenTanh: { scale: 2 ** -7, bits: 8, signed: true },
      output: { scale: 2 ** -8, bits: 8, signed: true },
    }),
    initialState: { kind: 'inputs' },
  });
  convertModel(design);
  const model = path.join(dir, 'designed-tie.onnx');
  fs.writeFileSync(model, exportModel(design));
  const x = { shape: [1, 1, 9], data: Float32Array.of(1, ...new Array(8).fill(2 ** -24)) };
  const zeros = { shape: [1, 1], data: Float32Array.of(0) };
  const inputFiles = [x, zeros, zeros].map((a, k) => {
    const file = path.join(dir, `designed-in${k}.npy`);
    fs.writeFileSync(file, formatNpy(a));
    return file;
  });
  const BY_CODE = [
    [0.23046875, 0.23046875, 0.5], // input gate code 0 (left-to-right float32 sum)
    [0.3515625, 0.3515625, 0.875], // input gate code 1 (the exact sum, rounded once)
  ];
  const goldens = (values: number[], label: string) =>
    values.map((v, k) => {
      const file = path.join(dir, `designed-${label}-out${k}.npy`);
      fs.writeFileSync(file, formatNpy({ shape: k === 0 ? [1, 1, 1] : [1, 1], data: Float32Array.of(v) }));
      return file;
    });

  it('the two orders give the two codes (else this test shows nothing)', () => {
    let sequential = Math.fround(1);
    for (let k = 0; k < 8; k++) sequential = Math.fround(sequential + 2 ** -24);
    assert.equal(sequential, 1);
    assert.equal(Math.fround(1 + 8 * 2 ** -24), 1 + 2 ** -21);
  });

  it('goldens of the other order: every difference a certified tie (exit 0)', async () => {
    const [all] = await runModel(fs.readFileSync(model), 'disabled', [x, zeros, zeros]);
    const taken = BY_CODE.findIndex((o) => o[0] === all!.data[0]);
    assert.ok(taken >= 0, `onnxruntime gives ${all!.data[0]}, which neither order does`);
    const r = await qlstm('verify', model, '--inputs', ...inputFiles, '--expected', ...goldens(BY_CODE[1 - taken]!, 'other'), '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const outputs = JSON.parse(r.stdout).levels[0].outputs;
    assert.ok(outputs[0].differing === 1 && outputs[0].ties.count > 0, JSON.stringify(outputs[0]));
  });

  it('goldens neither order gives (the hidden state one code off): unexplained (exit 1)', async () => {
    const r = await qlstm('verify', model, '--inputs', ...inputFiles, '--expected', ...goldens([0.234375, 0.234375, 0.5], 'wrong'), '--level', 'disabled');
    assert.equal(r.code, 1, r.stdout + r.stderr);
  });
});
