import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Tensor } from '../src/ir/tensor.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { formatNpy, type NdArray } from '../src/run/npy.js';
import { seededRandom } from '../src/util/random.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, difference, runModel } from './helpers/corpus.js';
import { convertFixture } from './helpers/verify-models.js';

const dir = temporaryDir('verify-ties');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * Goldens from another float32 summation order: the same export with the input features
 * reversed (in the input and in the columns of the input weights) computes the same sums in
 * the opposite order, so a few accumulators land on the other side of a rounding
 * boundary and the difference travels through the recurrence. Both are faithful: golden
 * mode must certify every difference as a tie, and --strict must refuse them.
 */
describe('golden mode certifies the ties of another summation order', () => {
  const c = corpusCase('large_i64_h128');
  const model = () => convertFixture(c.file('qcdq-int'), path.join(dir, 'large.onnx'));
  const [T, B, I] = [500, 16, 64];
  let files: { inputs: string; goldens: string[]; differing: number } | undefined;

  async function goldens() {
    if (files) return files;
    const next = seededRandom(5);
    const x: NdArray = { shape: [T, B, I], data: Float32Array.from({ length: T * B * I }, () => next() * 2 - 1) };
    // the same export with the input features in reverse order: reverse the columns of the
    // cell's input weights ([H, I] int8 initializers behind Clip -> DequantizeLinear)
    const original = readModel(c.file('qcdq-int'));
    const cell = original.graph.nodes.find((n) => n.opType === 'QuantLSTMCell')!;
    const weights = new Set([3, 4, 5, 6].map((k) => {
      let v = cell.input(k)!;
      while (v.producer) v = v.producer.input(0)!;
      return v;
    }));
    assert.equal(weights.size, 4, 'four input weight initializers');
    for (const w of weights) {
      const [rows, cols] = w.constant!.dims as [number, number];
      assert.equal(cols, I);
      const codes = w.constant!.numbers();
      w.constant = Tensor.int8([rows, cols], Array.from({ length: rows * cols }, (_, k) => codes[Math.floor(k / cols) * cols + cols - 1 - (k % cols)]!));
    }
    const reversedFile = path.join(dir, 'large.reversed-features.onnx');
    fs.writeFileSync(reversedFile, exportModel(original));
    const reversed = convertFixture(reversedFile, path.join(dir, 'large.reversed-features.converted.onnx'));
    const xReversed = new Float32Array(x.data.length);
    for (let k = 0; k < T * B; k++) for (let i = 0; i < I; i++) xReversed[k * I + i] = x.data[k * I + I - 1 - i]!;
    const outputs = await runModel(fs.readFileSync(reversed), 'all', [{ shape: x.shape, data: xReversed }]);
    const [straight] = await runModel(fs.readFileSync(model()), 'all', [x]);
    const differing = difference(straight!, outputs[0]!).unequal;
    const inputs = path.join(dir, 'x.npy');
    fs.writeFileSync(inputs, formatNpy(x));
    const goldenFiles = outputs.map((o, k) => {
      const file = path.join(dir, `y${k}.npy`);
      fs.writeFileSync(file, formatNpy(o));
      return file;
    });
    files = { inputs, goldens: goldenFiles, differing };
    return files;
  }

  it('the two orders differ (else this test shows nothing)', async () => {
    assert.ok((await goldens()).differing > 0);
  });

  it('every difference is a certified tie: exit 0, ties reported', async () => {
    const g = await goldens();
    const r = await qlstm('verify', model(), '--inputs', g.inputs, '--expected', ...g.goldens, '--level', 'all', '--json');
    assert.equal(r.code, 0, r.stdout.slice(0, 4000) + r.stderr);
    const report = JSON.parse(r.stdout);
    const hidden = report.levels[0].outputs[0];
    assert.equal(hidden.differing, g.differing);
    assert.equal(hidden.unexplained.count, 0);
    assert.ok(hidden.ties.count > 0);
    const tie = hidden.ties.samples[0];
    assert.ok(Number.isInteger(tie.step) && Number.isInteger(tie.batch) && Number.isInteger(tie.unit));
    assert.equal(tie.codes.length, 2);
    assert.deepEqual(report.levels[0].cells.map((k: { followed: string; consistent: boolean }) => [k.followed, k.consistent]), [['model', true], ['goldens', true]]);
    const text = await qlstm('verify', model(), '--inputs', g.inputs, '--expected', ...g.goldens, '--level', 'all');
    assert.match(text.stdout, /certified tie\(s\) \(all\), first at .* time \d+, batch \d+, unit \d+: \w+ codes -?\d+\/-?\d+, [0-9.e-]+ ulps from the boundary/);
  });

  it('--strict refuses the same differences', async () => {
    const g = await goldens();
    const r = await qlstm('verify', model(), '--inputs', g.inputs, '--expected', ...g.goldens, '--level', 'all', '--strict', '--json');
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).levels[0].outputs[0].unexplained.count, g.differing);
  });
});
