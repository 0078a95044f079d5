import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { formatNpy } from '../src/run/npy.js';
import { exportModel } from '../src/onnx/export.js';
import { VERSION } from '../src/version.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, CORPUS, ROOT } from './helpers/corpus.js';
import { TinyModel } from './helpers/tiny-model.js';
import { convertFixture } from './helpers/verify-models.js';

const dir = temporaryDir('report-json');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const ORT_VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version as string;
const c = corpusCase('bidir_i10_h20');
const inputs = ['--inputs', path.join(CORPUS, c.meta.inputs[0]!.file)];
const goldens = ['--expected', ...c.meta.outputs.map((o) => path.join(CORPUS, o.file))];

describe('--report writes the JSON report (schema version 1)', () => {
  it('golden mode: the file is what --json prints, with the documented fields', async () => {
    const model = convertFixture(c.file('qcdq-int'), path.join(dir, 'bidir.onnx'));
    const file = path.join(dir, 'nested', 'report.json');
    fs.mkdirSync(path.dirname(file));
    const r = await qlstm('verify', model, ...inputs, ...goldens, '--level', 'basic', 'all', '--report', file, '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(report, JSON.parse(r.stdout));
    assert.deepEqual(Object.keys(report), ['version', 'qlstm', 'onnxruntime', 'mode', 'model', 'strict', 'tolerance', 'levels', 'checked', 'notChecked', 'passed']);
    assert.equal(report.version, 1);
    assert.equal(report.qlstm, VERSION);
    assert.equal(report.onnxruntime, ORT_VERSION);
    assert.deepEqual(report.tolerance, { lsb: 0, abs: 0, perOutput: {} });
    assert.deepEqual(report.levels.map((l: { level: string }) => l.level), ['basic', 'all']);
    const level = report.levels[0];
    assert.deepEqual(Object.keys(level), ['level', 'runs', 'runsAgree', 'runDisagreements', 'outputs', 'cells', 'passed']);
    const output = level.outputs[0];
    assert.deepEqual(Object.keys(output), [
      'name', 'kind', 'shape', 'expectedShape', 'elements', 'exact', 'percentExact', 'lsb', 'tolerance', 'analysis', 'differing',
      'withinTolerance', 'ties', 'unexplained', 'maxErrorLsb', 'maxErrorAbs', 'firstMismatch', 'maxErrorPerStep', 'passed',
    ]);
    assert.equal(output.lsb, c.meta.output_scale);
    assert.equal(output.maxErrorPerStep.length, c.meta.seq);
    assert.equal(level.outputs[2].lsb, c.meta.cell_state_scale, 'the last cell state in LSB of the cell state quantizer');
    assert.ok(!fs.readdirSync(path.dirname(file)).some((f) => f !== 'report.json'), 'nothing but the report in its folder');
  });

  it('per-output tolerances are recorded; a mistake (exit 2) writes no report', async () => {
    const model = convertFixture(c.file('qcdq-int'), path.join(dir, 'bidir.onnx'));
    const names = c.meta.names_by_flavour['qcdq-int']!.output_names;
    const file = path.join(dir, 'tolerances.json');
    const ok = await qlstm('verify', model, ...inputs, ...goldens, '--level', 'all', '--tolerance-abs', `${names[0]}=1e-6`, '--tolerance-lsb', '1', `${names[2]}=2`, '--report', file);
    assert.equal(ok.code, 0, ok.stderr);
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(report.tolerance, { lsb: 1, abs: 0, perOutput: { [names[0]!]: { abs: 1e-6 }, [names[2]!]: { lsb: 2 } } });
    assert.deepEqual(report.levels[0].outputs.map((o: { tolerance: unknown }) => o.tolerance), [{ lsb: 1, abs: 1e-6 }, { lsb: 1, abs: 0 }, { lsb: 2, abs: 0 }]);
    const missing = path.join(dir, 'not-written.json');
    const bad = await qlstm('verify', model, ...inputs, '--expected', ...c.meta.outputs.map((o) => path.join(CORPUS, o.file)).reverse(), '--report', missing);
    assert.equal(bad.code, 2);
    assert.equal(fs.existsSync(missing), false);
  });

  it('reference mode names the original and both cells', async () => {
    const model = convertFixture(c.file('qcdq-int'), path.join(dir, 'bidir.onnx'));
    const file = path.join(dir, 'reference.json');
    const r = await qlstm('verify', c.file('qcdq-int'), model, ...inputs, '--level', 'all', '--report', file);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(report.mode, 'reference');
    assert.equal(report.original, c.file('qcdq-int'));
    assert.equal(report.levels[0].cells.length, 2);
    assert.deepEqual(report.levels[0].cells.map((k: { followed: string }) => k.followed), ['model', 'model']);
    assert.deepEqual(report.levels[0].outputs.map((o: { kind: string }) => o.kind), [
      'hidden states', 'last hidden state', 'last cell state', 'hidden states', 'last hidden state', 'last cell state',
      'graph output', 'graph output', 'graph output', 'cell input', 'cell input',
    ]);
  });
});

describe('each onnxruntime session runs twice', () => {
  it('a model whose second run differs fails, naming the level and the run', async () => {
    const tiny = new TinyModel(14);
    const x = tiny.input('x', [2, 3]);
    const [y] = tiny.node('Identity', [x]);
    const [noise] = tiny.node('RandomNormalLike', [x]);
    tiny.output(y!, [2, 3]);
    tiny.output(noise!, [2, 3]);
    const model = path.join(dir, 'random.onnx');
    fs.writeFileSync(model, exportModel(tiny.model));
    const xs = path.join(dir, 'x.npy');
    fs.writeFileSync(xs, formatNpy({ shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }));
    const r = await qlstm('verify', model, '--inputs', xs, '--outputs', y!.name, '--expected', xs, '--level', 'extended', '--json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const level = JSON.parse(r.stdout).levels[0];
    assert.equal(level.runsAgree, false);
    assert.deepEqual(level.runDisagreements, [{ run: 2, model, output: noise!.name, elements: 6 }]);
    assert.equal(level.outputs[0].passed, true, 'the compared output itself is fine');
    const text = await qlstm('verify', model, '--inputs', xs, '--outputs', y!.name, '--expected', xs, '--level', 'extended');
    assert.match(text.stdout, new RegExp(`onnxruntime gave different results on run 2 of the session at level extended: ${noise!.name} differs from run 1 in 6 element\\(s\\)`));
  });
});
