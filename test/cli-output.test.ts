import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Node, Value } from '../src/ir/graph.js';
import { Tensor } from '../src/ir/tensor.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, ROOT } from './helpers/corpus.js';

const dir = temporaryDir('cli-output');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const seedCase = corpusCase('seed_i10_h20');
const seed = seedCase.file('qcdq');
const BIN = path.join(ROOT, 'bin', 'qlstm.js');

function temporariesIn(folder: string): string[] {
  return fs.readdirSync(folder).filter((f) => f.endsWith('.tmp'));
}

/** Runs a conversion whose output is refused and checks the one line, the code, and that nothing was written. */
async function refused(output: string, message: string, ...extra: string[]): Promise<void> {
  const r = await qlstm('convert', seed, output, ...extra);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `qlstm: ${message}\n`);
  assert.deepEqual(temporariesIn(dir), []);
}

describe('where convert may write', () => {
  it('refuses an output whose folder would be inside a file (exit 2, naming the path)', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    const out = path.join(file, 'sub', 'out.onnx');
    await refused(out, `${out}: its folder cannot be created: "${file}" is not a folder`);
    assert.equal(fs.readFileSync(file, 'utf8'), 'x');
  });

  it('refuses a folder it cannot create (exit 2, naming the folder)', async () => {
    const out = '/proc/qlstm-no-such-folder/out.onnx';
    await refused(out, `${out}: cannot create the folder "/proc/qlstm-no-such-folder" (ENOENT)`);
  });

  it('replaces an existing file only with --force', async () => {
    const out = path.join(dir, 'existing.onnx');
    fs.writeFileSync(out, 'keep me');
    await refused(out, `${out}: already exists; pass --force to replace it`);
    assert.equal(fs.readFileSync(out, 'utf8'), 'keep me');
    const forced = await qlstm('convert', seed, out, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    const fresh = path.join(dir, 'fresh.onnx');
    assert.equal((await qlstm('convert', seed, fresh)).code, 0);
    assert.deepEqual(fs.readFileSync(out), fs.readFileSync(fresh));
  });

  const specials: [string, () => string, string][] = [
    ['/dev/null (a character device)', () => '/dev/null', 'is a character device'],
    ['/dev/stdout (a symbolic link)', () => '/dev/stdout', 'is a symbolic link'],
    ['a symbolic link to a regular file', () => {
      const target = path.join(dir, 'link-target.onnx');
      fs.writeFileSync(target, 'target');
      const link = path.join(dir, 'link.onnx');
      fs.symlinkSync(target, link);
      return link;
    }, 'is a symbolic link'],
    ['a FIFO', () => {
      const fifo = path.join(dir, 'fifo.onnx');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
      return fifo;
    }, 'is a FIFO'],
    ['a folder', () => {
      const folder = path.join(dir, 'folder.onnx');
      fs.mkdirSync(folder);
      return folder;
    }, 'is a folder'],
  ];
  for (const [what, make, problem] of specials) {
    it(`refuses ${what}, even with --force`, async () => {
      const out = make();
      await refused(out, `${out}: ${problem}; qlstm writes only regular files`, '--force');
      await refused(out, `${out}: ${problem}; qlstm writes only regular files`);
    });
  }
  it('left the symbolic link target alone', () => {
    assert.equal(fs.readFileSync(path.join(dir, 'link-target.onnx'), 'utf8'), 'target');
  });

  it("refuses to replace one of the input's external-data files, even with --force", async () => {
    const folder = path.join(dir, 'external');
    fs.mkdirSync(folder);
    const model = readModel(seed);
    const weights = model.graph.initializers.find((v) => v.constant!.storage.kind === 'raw' && v.constant!.size >= 64)!;
    const t = weights.constant!;
    const bytes = (t.storage as { bytes: Uint8Array }).bytes;
    weights.constant = new Tensor(t.dataType, t.dims, { kind: 'external', entries: [['location', 'weights.bin'], ['offset', '0'], ['length', String(bytes.length)]] }, t.name, t.extras);
    const data = path.join(folder, 'weights.bin');
    fs.writeFileSync(data, bytes);
    const input = path.join(folder, 'model.onnx');
    fs.writeFileSync(input, exportModel(model));
    const r = await qlstm('convert', input, data, '--force');
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `qlstm: ${data}: is external data of the input model ${input} ("weights.bin"); choose another output so the original is kept\n`);
    assert.deepEqual(fs.readFileSync(data), Buffer.from(bytes));
    assert.deepEqual(temporariesIn(folder), []);
  });
});

describe('signals during the write', () => {
  /** The seed export plus a 48 MiB constant routed to an extra output: a write that takes a while. */
  function largeModel(): string {
    const model = readModel(seed);
    const ballast = model.graph.addInitializer('ballast', new Tensor(1, [12 * 1024 * 1024], { kind: 'raw', bytes: new Uint8Array(48 * 1024 * 1024).fill(7) }, 'ballast'));
    const copy = new Value('ballast_copy');
    copy.info = { ...ballast.info };
    model.graph.nodes.push(new Node({ opType: 'Identity', domain: '', name: 'ballast_identity', inputs: [ballast], outputs: [copy], attributes: [] }));
    model.graph.outputs.push(copy);
    const file = path.join(dir, 'large.onnx');
    fs.writeFileSync(file, exportModel(model));
    return file;
  }
  let large: string | undefined;

  /**
   * Starts a conversion, freezes it (SIGSTOP) the moment its temporary file appears, and
   * sends `signal` while it is frozen mid-write. Returns how the process ended. A write that
   * finished before the freeze is retried: the signal must land during the write.
   */
  async function signalDuringWrite(signal: NodeJS.Signals, out: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; caught: boolean }> {
    large ??= largeModel();
    const folder = path.dirname(out);
    for (let attempt = 0; attempt < 5; attempt++) {
      fs.rmSync(out, { force: true });
      const child = spawn(process.execPath, [BIN, 'convert', large, out], { stdio: 'ignore' });
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
      let caught = false;
      const watcher = fs.watch(folder, (_event, name) => {
        if (caught || !name?.endsWith('.tmp')) return;
        child.kill('SIGSTOP');
        if (!fs.existsSync(path.join(folder, name)) || fs.existsSync(out)) {
          child.kill('SIGCONT');
          return;
        }
        caught = true;
        child.kill(signal);
        child.kill('SIGCONT');
      });
      const result = await ended;
      watcher.close();
      if (caught) return { ...result, caught };
    }
    return { code: null, signal: null, caught: false };
  }

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`${signal} removes the temporary file and ends the process by that signal`, async () => {
      const folder = path.join(dir, `signal-${signal}`);
      fs.mkdirSync(folder);
      const out = path.join(folder, 'out.onnx');
      const r = await signalDuringWrite(signal, out);
      assert.ok(r.caught, 'the signal arrived during the write');
      assert.deepEqual([r.code, r.signal], [null, signal]);
      assert.deepEqual(fs.readdirSync(folder), [], 'no temporary file and no output');
    });
  }
});

describe('a closed stdout (qlstm ... | head -1)', () => {
  /** Runs the CLI with its stdout closed before it writes anything. */
  function withClosedStdout(argv: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
  }
  const golden = ['--inputs', ...seedCase.meta.inputs.map((i) => path.join(path.dirname(seed), i.file)), '--expected', ...seedCase.meta.outputs.map((o) => path.join(path.dirname(seed), o.file))];

  it('inspect: exit 0, nothing on stderr', async () => {
    assert.deepEqual(await withClosedStdout(['inspect', seed]), { code: 0, stderr: '' });
  });

  it('verify: exit 0, nothing on stderr', async () => {
    const converted = path.join(dir, 'pipe.onnx');
    assert.equal((await qlstm('convert', seed, converted)).code, 0);
    assert.deepEqual(await withClosedStdout(['verify', converted, ...golden, '--level', 'disabled']), { code: 0, stderr: '' });
  });

  it('a failure with --json keeps its exit code and its line on stderr', async () => {
    const missing = path.join(dir, 'missing.onnx');
    assert.deepEqual(await withClosedStdout(['inspect', missing, '--json']), { code: 2, stderr: `qlstm: ${missing}: no such file\n` });
  });
});
