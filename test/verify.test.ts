import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { formatNpy, parseNpy } from '../src/run/npy.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, corpusCases, CORPUS } from './helpers/corpus.js';

const dir = temporaryDir('verify');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const inCorpus = (file: string) => path.join(CORPUS, file);

async function convertCase(name: string, flavour: 'qcdq' | 'qcdq-int' = 'qcdq-int'): Promise<string> {
  const out = path.join(dir, `${name}.${flavour}.converted.onnx`);
  if (!fs.existsSync(out)) {
    const r = await qlstm('convert', corpusCase(name).file(flavour), out);
    assert.equal(r.code, 0, r.stderr);
  }
  return out;
}

describe('verify passes on every converted corpus case', () => {
  for (const c of corpusCases()) {
    it(`${c.name}: golden mode and reference mode`, async () => {
      const converted = await convertCase(c.name);
      const golden = await qlstm(
        'verify', converted,
        '--inputs', ...c.meta.inputs.map((i) => inCorpus(i.file)),
        '--expected', ...c.meta.outputs.map((o) => inCorpus(o.file)),
        ...(c.floatOutputs ? ['--tolerance-abs', '1e-6'] : []),
      );
      assert.equal(golden.code, 0, golden.stdout + golden.stderr);
      assert.match(golden.stdout, /PASS/);
      const reference = await qlstm('verify', c.file('qcdq-int'), converted, '--inputs', ...c.meta.inputs.map((i) => inCorpus(i.file)));
      assert.equal(reference.code, 0, reference.stdout + reference.stderr);
      const random = await qlstm('verify', c.file('qcdq-int'), converted, '--seed', '7', '--level', 'all');
      assert.equal(random.code, 0, random.stdout + random.stderr);
    });
  }
});

describe('verify fails when anything differs', () => {
  const seed = corpusCase('seed_i10_h20');
  const inputs = ['--inputs', inCorpus(seed.meta.inputs[0]!.file)];
  const goldens = seed.meta.outputs.map((o) => inCorpus(o.file));

  function goldenWithOneLsbMoved(): string {
    const y = parseNpy(fs.readFileSync(goldens[0]!), 'y');
    const [, B, H] = y.shape as [number, number, number];
    const at = (3 * B + 0) * H + 7; // time 3, batch 0, unit 7
    y.data[at] = y.data[at]! + seed.lsb(0);
    const file = path.join(dir, 'seed.out0.moved.npy');
    fs.writeFileSync(file, formatNpy(y));
    return file;
  }

  it('a golden moved by one LSB gives exit 1 and names the element', async () => {
    const converted = await convertCase('seed_i10_h20', 'qcdq');
    const r = await qlstm('verify', converted, ...inputs, '--expected', goldenWithOneLsbMoved(), goldens[1]!, goldens[2]!);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /first difference \(disabled\) at time 3, batch 0, unit 7/);
    assert.match(r.stdout, /FAIL/);
    const report = JSON.parse((await qlstm('verify', converted, ...inputs, '--expected', goldenWithOneLsbMoved(), goldens[1]!, goldens[2]!, '--json')).stdout);
    assert.equal(report.passed, false);
    const first = report.levels[0].outputs[0];
    assert.deepEqual(first.firstMismatch.index, [3, 0, 7]);
    assert.equal(first.maxErrorLsb, 1);
    assert.equal(first.elements - first.exact, 1);
    assert.equal(first.maxErrorPerStep[3], 1);
  });

  it('--tolerance-lsb 1 accepts the same one-LSB difference', async () => {
    const converted = await convertCase('seed_i10_h20', 'qcdq');
    const r = await qlstm('verify', converted, ...inputs, '--expected', goldenWithOneLsbMoved(), goldens[1]!, goldens[2]!, '--tolerance-lsb', '1');
    assert.equal(r.code, 0, r.stdout);
  });

  it('reference mode with the original of another case of the same sizes exits 1', async () => {
    const convertedW4 = await convertCase('w4_i10_h20');
    const r = await qlstm('verify', corpusCase('calib_i10_h20').file('qcdq-int'), convertedW4);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAIL/);
  });

  it('float logits are not exact: without --tolerance-abs the classifier exits 1', async () => {
    const c = corpusCase('classifier_i40_h64');
    const r = await qlstm('verify', await convertCase(c.name), '--inputs', inCorpus(c.meta.inputs[0]!.file), '--expected', inCorpus(c.meta.outputs[0]!.file), '--level', 'basic');
    assert.equal(r.code, 1);
  });
});

describe('verify reads .npz archives', () => {
  const c = corpusCase('state_i10_h20');
  let archives = 0;
  const npz = (entries: Record<string, string>) => {
    const file = path.join(dir, `archive${archives++}.npz`);
    fs.writeFileSync(file, zipSync(Object.fromEntries(Object.entries(entries).map(([k, f]) => [`${k}.npy`, fs.readFileSync(inCorpus(f))]))));
    return file;
  };
  it('by graph input and output names', async () => {
    const names = c.meta.names_by_flavour['qcdq-int']!;
    const inputs = npz(Object.fromEntries(names.input_names.map((n, i) => [n, c.meta.inputs[i]!.file])));
    const outputs = npz(Object.fromEntries(names.output_names.map((n, i) => [n, c.meta.outputs[i]!.file])));
    const r = await qlstm('verify', await convertCase(c.name), '--inputs', inputs, '--expected', outputs);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  it('by position (arr_0, arr_1, ...)', async () => {
    const inputs = npz(Object.fromEntries(c.meta.inputs.map((f, i) => [`arr_${i}`, f.file])));
    const outputs = npz(Object.fromEntries(c.meta.outputs.map((f, i) => [`arr_${i}`, f.file])));
    const r = await qlstm('verify', await convertCase(c.name), '--inputs', inputs, '--expected', outputs);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  it('names that match nothing are an input error (exit 2)', async () => {
    const inputs = npz({ wrong: c.meta.inputs[0]!.file });
    const r = await qlstm('verify', await convertCase(c.name), '--inputs', inputs, '--expected', ...c.meta.outputs.map((o) => inCorpus(o.file)));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /holds wrong; expected graph inputs named/);
  });
});
