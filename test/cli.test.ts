import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { VERSION } from '../src/version.js';
import { qlstm, qlstmProcess, temporaryDir } from './helpers/cli.js';
import { corpusCase, ROOT } from './helpers/corpus.js';

const dir = temporaryDir('cli');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const seed = corpusCase('seed_i10_h20').file('qcdq');

describe('qlstm convert', () => {
  it('prints what it found and where it wrote', async () => {
    const out = path.join(dir, 'seed.onnx');
    const r = await qlstm('convert', seed, out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^converted .*seed_i10_h20\.qcdq\.onnx -> .*seed\.onnx \(\d+\.\d KiB\)$/m);
    assert.match(r.stdout, /QuantLSTMCell \[qcdq\]: input 10, hidden 20, forward, time-first, bias, 8-bit per-tensor weights, fused layout/);
    assert.ok(fs.statSync(out).size > 0);
  });

  it('--json gives the same facts for pipelines', async () => {
    const out = path.join(dir, 'bidir.onnx');
    const r = await qlstm('convert', corpusCase('bidir_i10_h20').file('qcdq-int'), out, '--json', '--layout', 'plain');
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.output, out);
    assert.equal(result.bytes, fs.statSync(out).size);
    assert.deepEqual(result.cells.map((c: { direction: string; layout: string }) => [c.direction, c.layout]), [['forward', 'plain'], ['reverse', 'plain']]);
  });

  it('creates the output folder when needed', async () => {
    const out = path.join(dir, 'nested', 'deeper', 'seed.onnx');
    assert.equal((await qlstm('convert', seed, out)).code, 0);
    assert.ok(fs.existsSync(out));
  });

  it('refuses to write over its input', async () => {
    const copy = path.join(dir, 'copy.onnx');
    fs.copyFileSync(seed, copy);
    const before = fs.readFileSync(copy);
    const r = await qlstm('convert', copy, path.join(dir, '.', 'copy.onnx'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the output path is the input file/);
    assert.deepEqual(fs.readFileSync(copy), before);
  });

  it('says plainly when a model is already converted (exit 2)', async () => {
    const converted = path.join(dir, 'again.onnx');
    await qlstm('convert', seed, converted);
    const out = path.join(dir, 'twice.onnx');
    const r = await qlstm('convert', converted, out);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `qlstm: ${converted}: is already converted by qlstm (its metadata has "qlstm.cells"); convert the original Brevitas export instead\n`);
    assert.equal(r.stdout, '');
    assert.ok(!fs.existsSync(out));
  });
});

describe('the command line', () => {
  it('--help and --version exit 0', async () => {
    const help = await qlstm('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /convert \[options\] <input> <output>/);
    const version = await qlstm('--version');
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), VERSION);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal(VERSION, pkg.version, 'src/version.ts follows package.json');
  });

  for (const [command, example, codes] of [
    ['convert', '$ qlstm convert model.qcdq.onnx out/model.onnx', ['0  converted and written', '3  a valid model qlstm cannot convert exactly']],
    ['verify', '$ qlstm verify out/model.onnx --inputs x.npy --expected y.npy h.npy c.npy', ['0  every output within tolerance at every level', '1  some output differs beyond the tolerance']],
    ['inspect', '$ qlstm inspect model.qcdq.onnx', ['0  described', '2  bad command line, or a file that is missing or invalid']],
  ] as const) {
    it(`${command} --help shows an example and the exit codes`, async () => {
      const r = await qlstm(command, '--help');
      assert.equal(r.code, 0);
      const lines = r.stdout.split('\n');
      assert.ok(lines.includes('Examples:') && lines.includes(`  ${example}`), r.stdout);
      assert.ok(lines.includes('Exit codes:'), r.stdout);
      for (const line of codes) assert.ok(lines.includes(`  ${line}`), line);
      assert.ok(lines.includes('  4  internal error (please report it)') || lines.includes('  4  internal error, including a converted model onnxruntime refuses (please report it)'));
    });
  }

  it('usage errors exit 2 with one line', async () => {
    for (const argv of [['convert', seed], ['convert', seed, 'x.onnx', '--layout', 'wide'], ['frobnicate'], ['verify', seed, '--tolerance-lsb', 'lots']]) {
      const r = await qlstm(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^qlstm: /);
    }
  });

  it('as a process: exit codes, one line on stderr, stack traces only when asked', () => {
    const missing = path.join(dir, 'missing.onnx');
    const plain = qlstmProcess(['convert', missing, path.join(dir, 'o.onnx')]);
    assert.equal(plain.code, 2);
    assert.equal(plain.stderr, `qlstm: ${missing}: no such file\n`);
    const debug = qlstmProcess(['--debug', 'convert', missing, path.join(dir, 'o.onnx')]);
    assert.equal(debug.code, 2);
    assert.match(debug.stderr, /InputError: .*no such file\n\s+at /);
    const viaEnv = qlstmProcess(['convert', missing, path.join(dir, 'o.onnx')], { QLSTM_DEBUG: '1' });
    assert.match(viaEnv.stderr, /\n\s+at /);
    const ok = qlstmProcess(['convert', seed, path.join(dir, 'p.onnx')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, '');
  });
});
