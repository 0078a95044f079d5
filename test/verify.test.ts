import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { formatNpy, parseNpy } from '../src/run/npy.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, corpusCases, CORPUS, runModel } from './helpers/corpus.js';
import { convertFixture } from './helpers/verify-models.js';

const dir = temporaryDir('verify');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const inCorpus = (file: string) => path.join(CORPUS, file);

/** The export tests read: qcdq-int where Brevitas wrote one, else the first flavour it did. */
function exportOf(name: string): string {
  const c = corpusCase(name);
  return c.file(c.flavours.includes('qcdq-int') ? 'qcdq-int' : c.flavours[0]!);
}

function convertCase(name: string): string {
  return convertFixture(exportOf(name), path.join(dir, `${name}.converted.onnx`));
}

describe('verify passes on every converted corpus case, at every level', () => {
  for (const c of corpusCases().filter((c) => !c.atScale)) {
    it(`${c.name}: golden mode and reference mode`, async () => {
      const converted = convertCase(c.name);
      const golden = await qlstm(
        'verify', converted,
        '--inputs', ...c.meta.inputs.map((i) => inCorpus(i.file)),
        '--expected', ...c.meta.outputs.map((o) => inCorpus(o.file)),
        ...(c.floatOutputs ? ['--tolerance-abs', '1e-6'] : []),
        '--json',
      );
      assert.equal(golden.code, 0, golden.stdout + golden.stderr);
      const report = JSON.parse(golden.stdout);
      assert.equal(report.passed, true);
      assert.deepEqual(report.levels.map((l: { level: string }) => l.level), ['disabled', 'basic', 'extended', 'all']);
      for (const level of report.levels) {
        assert.equal(level.runs, 2);
        assert.equal(level.runsAgree, true);
        for (const o of level.outputs) assert.equal(typeof o.ties.count, 'number');
      }
      // tie analysis is available: the metadata was read, not reported missing
      assert.ok(!report.notChecked.some((n: string) => n.includes('metadata')), report.notChecked.join('; '));

      const reference = await qlstm('verify', exportOf(c.name), converted, '--inputs', ...c.meta.inputs.map((i) => inCorpus(i.file)), '--json');
      assert.equal(reference.code, 0, reference.stdout + reference.stderr);
      const r = JSON.parse(reference.stdout);
      assert.equal(r.mode, 'reference');
      assert.ok(r.checked.some((s: string) => s.startsWith('the rest of the graph')), r.notChecked.join('; '));
      for (const level of r.levels) {
        assert.equal(level.cells.length, c.meta.config.bidirectional ? 2 * Number(c.meta.config.num_layers ?? 1) : Number(c.meta.config.num_layers ?? 1));
        for (const cell of level.cells) assert.equal(typeof cell.ties, 'number');
      }
      const random = await qlstm('verify', exportOf(c.name), converted, '--seed', '7', '--level', 'all');
      assert.equal(random.code, 0, random.stdout + random.stderr);
    });
  }
});

/** The weight initializer behind input `index` of the original's cell (Clip -> DequantizeLinear of int8). */
function weightInitializer(model: Model, index: number) {
  const cell = model.graph.nodes.find((n) => n.opType === 'QuantLSTMCell')!;
  let value = cell.input(index)!;
  while (value.producer) value = value.producer.input(0)!;
  return value;
}

function editedOriginal(name: string, label: string, edit: (model: Model) => void): string {
  const model = readModel(corpusCase(name).file('qcdq-int'));
  edit(model);
  const file = path.join(dir, `${name}.${label}.onnx`);
  fs.writeFileSync(file, exportModel(model));
  return file;
}

/** Where the converted model first differs from the goldens, by time step, then batch, then unit (forward cell, [T, B, H]). */
async function firstDifference(converted: string, name: string): Promise<{ step: number; batch: number; unit: number }> {
  const c = corpusCase(name);
  const [y] = await runModel(fs.readFileSync(converted), 'disabled', c.inputs());
  const want = c.outputs()[0]!;
  const [, B, H] = want.shape as [number, number, number];
  const at = want.data.findIndex((v, i) => v !== y!.data[i]);
  assert.ok(at >= 0, 'the planted bug changes the output');
  return { step: Math.floor(at / (B * H)), batch: Math.floor(at / H) % B, unit: at % H };
}

/** A weight code of calib_i10_h20 whose move by one code changes the outputs (firstDifference asserts it does). */
const MOVED_CODE = 77; // row 7 (unit 7), column 7

describe('verify fails on planted bugs and points at the first unexplained element', () => {
  const name = 'calib_i10_h20';
  const c = corpusCase(name);
  const inputs = ['--inputs', ...c.meta.inputs.map((i) => inCorpus(i.file))];
  const expected = ['--expected', ...c.meta.outputs.map((o) => inCorpus(o.file))];
  const bugs: [string, (m: Model) => void][] = [
    [
      'one weight code moved',
      (m) => {
        const w = weightInitializer(m, 3); // input gate, input weights
        const codes = Int8Array.from(w.constant!.numbers());
        codes[MOVED_CODE] = codes[MOVED_CODE]! < 127 ? codes[MOVED_CODE]! + 1 : codes[MOVED_CODE]! - 1;
        w.constant = Tensor.int8(w.constant!.dims, codes);
      },
    ],
    [
      'two gates swapped',
      (m) => {
        const cell = m.graph.nodes.find((n) => n.opType === 'QuantLSTMCell')!;
        for (const [a, b] of [[3, 4], [7, 8], [11, 12]] as const) {
          const [va, vb] = [cell.input(a), cell.input(b)];
          cell.setInput(a, vb);
          cell.setInput(b, va);
        }
      },
    ],
  ];
  for (const [what, plant] of bugs) {
    it(`${what}: golden mode and reference mode exit 1`, async () => {
      const buggy = editedOriginal(name, what.replace(/ /g, '-'), plant);
      const converted = convertFixture(buggy, path.join(dir, `${name}.${what.replace(/ /g, '-')}.converted.onnx`));
      const first = await firstDifference(converted, name);

      const golden = await qlstm('verify', converted, ...inputs, ...expected, '--json');
      assert.equal(golden.code, 1, golden.stdout + golden.stderr);
      const report = JSON.parse(golden.stdout);
      const hidden = report.levels[0].outputs[0];
      assert.equal(hidden.passed, false);
      assert.ok(hidden.unexplained.count > 0);
      const u = hidden.unexplained.first;
      assert.deepEqual({ step: u.step, batch: u.batch, unit: u.unit }, first);
      const text = await qlstm('verify', converted, ...inputs, ...expected);
      assert.match(text.stdout, new RegExp(`first unexplained \\(disabled\\) at time ${first.step}, batch ${first.batch}, unit ${first.unit}:`));

      const reference = await qlstm('verify', c.file('qcdq-int'), converted, ...inputs, '--json');
      assert.equal(reference.code, 1, reference.stdout + reference.stderr);
      const r = JSON.parse(reference.stdout);
      const cellRow = r.levels[0].outputs[0];
      assert.equal(cellRow.kind, 'hidden states');
      assert.equal(cellRow.passed, false);
      const ru = cellRow.unexplained.first;
      assert.deepEqual({ step: ru.step, batch: ru.batch, unit: ru.unit }, first);
    });
  }

  it('a golden moved by one LSB is unexplained at that element; --tolerance-lsb 1 accepts it', async () => {
    const converted = convertCase(name);
    const y = parseNpy(fs.readFileSync(inCorpus(c.meta.outputs[0]!.file)), 'y');
    const [, B, H] = y.shape as [number, number, number];
    const at = (3 * B + (B - 1)) * H + 7; // time 3, last batch, unit 7
    const s = c.lsb(0);
    y.data[at] = Math.fround((Math.round(y.data[at]! / s) + 1) * s); // the next code up
    const moved = path.join(dir, 'moved.npy');
    fs.writeFileSync(moved, formatNpy(y));
    const argv = ['verify', converted, ...inputs, '--expected', moved, ...c.meta.outputs.slice(1).map((o) => inCorpus(o.file))];
    const r = await qlstm(...argv, '--json');
    assert.equal(r.code, 1, r.stderr);
    const first = JSON.parse(r.stdout).levels[0].outputs[0];
    const u = first.unexplained.first;
    assert.deepEqual([u.step, u.batch, u.unit], [3, B - 1, 7]);
    assert.deepEqual(u.index, [3, B - 1, 7]);
    assert.equal(first.maxErrorLsb, 1);
    assert.equal(first.differing, 1);
    assert.equal(first.maxErrorPerStep[3], 1);
    assert.equal((await qlstm(...argv, '--tolerance-lsb', '1')).code, 0);
    assert.equal((await qlstm(...argv, '--tolerance-lsb', 'no_such_output=1')).code, 2, 'a tolerance for an output name the model lacks is refused');
  });

  it('reference mode checks the rest of the graph: a converted classifier whose head bias is negated exits 1', async () => {
    const k = corpusCase('classifier_i40_h64');
    const converted = convertFixture(k.file('qcdq-int'), path.join(dir, 'classifier.negated-bias.onnx'), (m) => {
      const bias = m.graph.initializers.find((v) => v.name === 'head.bias')!;
      bias.constant = Tensor.float32(bias.constant!.dims, Array.from(bias.constant!.float32(), (v) => -v));
    });
    const r = await qlstm('verify', k.file('qcdq-int'), converted, '--inputs', inCorpus(k.meta.inputs[0]!.file), '--json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    for (const level of report.levels) {
      const head = level.outputs.find((o: { kind: string }) => o.kind === 'graph output');
      assert.equal(head.passed, false);
      assert.ok(level.outputs.filter((o: { kind: string }) => o.kind !== 'graph output').every((o: { passed: boolean }) => o.passed), 'the cell itself is fine');
    }
    // and the unmodified conversion passes the same check
    const clean = await qlstm('verify', k.file('qcdq-int'), convertCase('classifier_i40_h64'), '--inputs', inCorpus(k.meta.inputs[0]!.file));
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  });

  it('--strict refuses what certified ties or tolerances would accept, and refuses tolerances', async () => {
    const converted = convertCase(name);
    const ok = await qlstm('verify', converted, ...inputs, ...expected, '--strict', '--level', 'all');
    assert.equal(ok.code, 0, ok.stdout);
    const mixed = await qlstm('verify', converted, ...inputs, ...expected, '--strict', '--tolerance-lsb', '1');
    assert.equal(mixed.code, 2);
    assert.equal(mixed.stderr, 'qlstm: --strict demands bit equality; drop --tolerance-lsb / --tolerance-abs, or drop --strict\n');
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
    const r = await qlstm('verify', convertCase(c.name), '--inputs', inputs, '--expected', outputs, '--level', 'basic');
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  it('by position (arr_0, arr_1, ...)', async () => {
    const inputs = npz(Object.fromEntries(c.meta.inputs.map((f, i) => [`arr_${i}`, f.file])));
    const outputs = npz(Object.fromEntries(c.meta.outputs.map((f, i) => [`arr_${i}`, f.file])));
    const r = await qlstm('verify', convertCase(c.name), '--inputs', inputs, '--expected', outputs, '--level', 'basic');
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  it('names that match nothing are an input error (exit 2)', async () => {
    const inputs = npz({ wrong: c.meta.inputs[0]!.file });
    const r = await qlstm('verify', convertCase(c.name), '--inputs', inputs, '--expected', ...c.meta.outputs.map((o) => inCorpus(o.file)));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /holds wrong; expected graph inputs named/);
  });
});

describe('--outputs selects outputs', () => {
  it('compares only the named outputs, with goldens in --outputs order', async () => {
    const c = corpusCase('calib_i10_h20');
    const names = c.meta.names_by_flavour['qcdq-int']!.output_names;
    const r = await qlstm('verify', convertCase(c.name), '--inputs', inCorpus(c.meta.inputs[0]!.file), '--outputs', names[2]!, names[0]!, '--expected', inCorpus(c.meta.outputs[2]!.file), inCorpus(c.meta.outputs[0]!.file), '--level', 'all', '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).levels[0].outputs.map((o: { name: string }) => o.name), [names[2], names[0]]);
  });
});
