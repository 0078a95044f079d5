import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import { InputError } from '../src/errors.js';
import { attr } from '../src/ir/attribute.js';
import { DataType } from '../src/ir/data-type.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/type-info.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { encodeOpaque } from '../src/onnx/opaque.js';
import { ModelProto } from '../src/onnx/schema.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, ROOT } from './helpers/corpus.js';

const dir = temporaryDir('external');
fs.chmodSync(dir, 0o755); // the unreadable-file case runs as another user when tests run as root
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const seedFile = corpusCase('seed_i10_h20').file('qcdq');

/** External storage entries for `bytes` written to `location` in `folder` (appended, so several tensors share a file). */
function stored(folder: string, location: string, bytes: Uint8Array): [string, string][] {
  const file = path.join(folder, location);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const offset = fs.existsSync(file) ? fs.statSync(file).size : 0;
  fs.appendFileSync(file, bytes);
  return [['location', location], ['offset', String(offset)], ['length', String(bytes.length)]];
}

function external(dataType: number, dims: number[], entries: [string, string][], name?: string): Tensor {
  return new Tensor(dataType, dims, { kind: 'external', entries }, name);
}

const floats = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const int64s = (values: number[]) => new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);

/** Where a tensor with external data can sit; each adds one to the seed model. */
const PLACES = {
  /** an initializer no node reads: the conversion drops it */
  'unused initializer': (model: Model, tensor: (name?: string) => Tensor) => {
    model.graph.addInitializer('unused', tensor());
  },
  'sparse initializer': (model: Model, tensor: (name?: string) => Tensor) => {
    model.graph.sparseInitializers.push({ values: tensor('sparse'), indices: Tensor.int64([2], [0, 3]), dims: [4] });
  },
  'sparse initializer indices': (model: Model, tensor: (name?: string) => Tensor) => {
    const values = Tensor.float32([1], [1]);
    values.name = 'sparse';
    model.graph.sparseInitializers.push({ values, indices: tensor(), dims: [4] });
  },
  "Constant's sparse_value": (model: Model, tensor: (name?: string) => Tensor) => {
    const sparse = { values: tensor(), indices: Tensor.int64([2], [0, 3]), dims: [4] };
    model.graph.nodes.push(new Node({
      opType: 'Constant',
      name: 'sparse_constant',
      outputs: [new Value('sparse_constant_out')],
      attributes: [{ name: 'sparse_value', value: { kind: 'sparse_tensor', value: sparse }, declaredType: 11 }],
    }));
  },
  'Constant inside an If branch': (model: Model, tensor: (name?: string) => Tensor) => {
    const branch = (label: string, t: Tensor) => {
      const g = new Graph();
      g.name = label;
      const out = new Value(`${label}_out`);
      out.info = { type: tensorType(DataType.FLOAT, [2]) };
      g.nodes.push(new Node({ opType: 'Constant', name: `${label}_constant`, outputs: [out], attributes: [attr.tensor('value', t)] }));
      g.outputs.push(out);
      return g;
    };
    const cond = model.graph.addInitializer('branch_condition', new Tensor(DataType.BOOL, [], { kind: 'raw', bytes: Uint8Array.of(1) }));
    model.graph.nodes.push(new Node({
      opType: 'If',
      name: 'branching',
      inputs: [cond],
      outputs: [new Value('branching_out')],
      attributes: [attr.graph('then_branch', branch('then', tensor())), attr.graph('else_branch', branch('else', Tensor.float32([2], [0, 0])))],
    }));
  },
  'Constant in a model-local function': (model: Model, tensor: (name?: string) => Tensor) => {
    const t = tensor();
    const entries = t.storage.kind === 'external' ? t.storage.entries : [];
    model.opaque.functions.push(encodeOpaque('FunctionProto', {
      name: 'two_constants',
      domain: 'qlstm.test',
      output: ['y'],
      opsetImport: [{ domain: '', version: 17 }],
      node: [{
        opType: 'Constant',
        name: 'function_constant',
        output: ['y'],
        attribute: [{ name: 'value', type: 4, t: { dims: [2], dataType: DataType.FLOAT, dataLocation: 1, externalData: entries.map(([key, value]) => ({ key, value })) } }],
      }],
    }));
    model.opsetImports.push({ domain: 'qlstm.test', version: 1n });
  },
} as const;
type Place = keyof typeof PLACES;

/** The data each place's external tensor holds, and its type and shape. */
function dataFor(place: Place): { dataType: number; dims: number[]; bytes: Uint8Array } {
  if (place === 'sparse initializer indices') return { dataType: DataType.INT64, dims: [1], bytes: int64s([3]) };
  return { dataType: DataType.FLOAT, dims: [2], bytes: floats([1.5, -2.25]) };
}

let count = 0;
/** The seed model plus one external tensor at `place`, its entries as `entries` makes them; returns the model file. */
function scenario(place: Place, entries: (folder: string, data: ReturnType<typeof dataFor>) => [string, string][]): string {
  const folder = path.join(dir, `case-${count++}`);
  fs.mkdirSync(folder);
  const model = readModel(seedFile);
  const data = dataFor(place);
  PLACES[place](model, (name) => external(data.dataType, data.dims, entries(folder, data), name));
  const file = path.join(folder, 'model.onnx');
  fs.writeFileSync(file, exportModel(model));
  return file;
}

async function convertFails(file: string, expected: (file: string) => string): Promise<void> {
  const out = path.join(path.dirname(file), 'converted.onnx');
  const r = await qlstm('convert', file, out);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `qlstm: ${expected(file)}\n`);
  assert.ok(!fs.existsSync(out), 'no output file');
  assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp')), [], 'no temporary file');
}

/** How each place is named in messages. */
const WHERE: Record<Place, string> = {
  'unused initializer': 'initializer "unused"',
  'sparse initializer': 'sparse initializer "sparse" (values)',
  'sparse initializer indices': 'sparse initializer "sparse" (indices)',
  "Constant's sparse_value": 'node "sparse_constant" (Constant): attribute "sparse_value" (values)',
  'Constant inside an If branch': 'node "then_constant" (Constant): attribute "value"',
  'Constant in a model-local function': 'function "two_constants": node "function_constant": attribute "value"',
};

describe('external data: the same rules for every tensor-bearing field', () => {
  const outside = path.join(dir, 'outside.bin');
  fs.writeFileSync(outside, new Uint8Array(64));

  for (const place of Object.keys(PLACES) as Place[]) {
    describe(place, () => {
      it('is read from a file in the model\'s folder and written inline', async () => {
        const file = scenario(place, (folder, data) => stored(folder, 'weights.bin', data.bytes));
        const out = path.join(path.dirname(file), 'converted.onnx');
        const r = await qlstm('convert', file, out);
        assert.equal(r.code, 0, r.stderr);
        const converted = ModelProto.toObject(ModelProto.decode(fs.readFileSync(out)), { bytes: String, longs: String });
        const text = JSON.stringify(converted);
        assert.ok(!text.includes('externalData') && !text.includes('"dataLocation"'), 'no external references left');
        if (place !== 'unused initializer') {
          assert.ok(text.includes(Buffer.from(dataFor(place).bytes).toString('base64')), 'the bytes from the file are in the output');
        }
      });

      const refusals: [string, (folder: string, data: ReturnType<typeof dataFor>) => [string, string][], string][] = [
        ['a location that leaves the folder', () => [['location', '../outside.bin'], ['length', '8']], 'external data location "../outside.bin" points outside the model\'s folder'],
        ['an absolute location', () => [['location', outside]], `external data location "${outside}" is absolute; only paths inside the model's folder are read`],
        ['a link out of the folder', (folder) => {
          fs.symlinkSync(outside, path.join(folder, 'link.bin'));
          return [['location', 'link.bin']];
        }, 'external data location "link.bin" links outside the model\'s folder'],
        ['a folder', (folder) => {
          fs.mkdirSync(path.join(folder, 'weights'));
          return [['location', 'weights']];
        }, 'external data file "weights" is a folder, not a regular file'],
        ['a FIFO (which would block a reader forever)', (folder) => {
          execFileSync('mkfifo', [path.join(folder, 'pipe')]);
          return [['location', 'pipe']];
        }, 'external data file "pipe" is a pipe (FIFO), not a regular file'],
        ['a link to a FIFO in the folder', (folder) => {
          execFileSync('mkfifo', [path.join(folder, 'pipe')]);
          fs.symlinkSync('pipe', path.join(folder, 'to-pipe'));
          return [['location', 'to-pipe']];
        }, 'external data file "to-pipe" is a pipe (FIFO), not a regular file'],
        ['a missing file', () => [['location', 'gone.bin']], 'external data file "gone.bin" does not exist'],
        ['a file below a file', (folder, data) => [...stored(folder, 'w.bin', data.bytes).map(([k, v]): [string, string] => [k, k === 'location' ? 'w.bin/inner' : v])], 'external data file "w.bin/inner" cannot be opened (ENOTDIR)'],
        ['".." that stays inside', (folder, data) => {
          fs.mkdirSync(path.join(folder, 'sub'));
          return stored(folder, 'w.bin', data.bytes).map(([k, v]) => [k, k === 'location' ? 'sub/../w.bin' : v]);
        }, 'external data location "sub/../w.bin" uses ".."; only plain paths inside the model\'s folder are read'],
        ['a location given twice', (folder, data) => [...stored(folder, 'w.bin', data.bytes), ['location', '../outside.bin']], 'external data gives "location" more than once'],
        ['a NUL in the location', () => [['location', 'w.bin\0.txt']], 'external data location "w.bin\\u0000.txt" is not a file name'],
        ['a length that disagrees with the shape', (folder, data) => stored(folder, 'w.bin', data.bytes).map(([k, v]) => [k, k === 'length' ? '12' : v]), 'external data length 12 does not match the 8 bytes its shape needs'],
        ['an offset past the end', (folder, data) => stored(folder, 'w.bin', data.bytes).map(([k, v]) => [k, k === 'offset' ? '9' : v]), 'external data bytes 9 to 17 lie beyond the end of "w.bin" (8 bytes)'],
        ['an offset that is not a number', (folder, data) => stored(folder, 'w.bin', data.bytes).map(([k, v]) => [k, k === 'offset' ? '-1' : v]), 'external data offset "-1" is not a whole number'],
      ];
      for (const [what, entries, message] of refusals) {
        it(`refuses ${what}`, { timeout: 20_000 }, async () => {
          const file = scenario(place, entries);
          await convertFails(file, (f) => `${f}: ${WHERE[place]}: ${message}`);
        });
      }
    });
  }
});

describe('external data: sizes and permissions', () => {
  const sized = (dataType: number, dims: number[]) => {
    const folder = path.join(dir, `case-${count++}`);
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'huge.bin'), '');
    const model = readModel(seedFile);
    model.graph.addInitializer('huge', external(dataType, dims, [['location', 'huge.bin']]));
    const file = path.join(folder, 'model.onnx');
    fs.writeFileSync(file, exportModel(model));
    return file;
  };

  it('refuses 2^31 + 1 elements before reading or allocating', async () => {
    await convertFails(sized(DataType.UINT8, [2 ** 31 + 1]), (f) => `${f}: initializer "huge": external data of shape [2147483649]: more than 2147483648 elements`);
  });

  it('refuses 2^31 bytes or more (over protobuf\'s limit) before reading or allocating', async () => {
    await convertFails(sized(DataType.FLOAT, [2 ** 29 + 1]), (f) => `${f}: initializer "huge": external data of shape [536870913] takes 2147483652 bytes, more than protobuf's 2 GiB limit for a whole model`);
  });

  it('refuses a string tensor', async () => {
    await convertFails(sized(DataType.STRING, [1]), (f) => `${f}: initializer "huge": external data of element type string: only fixed-width types can be stored as raw bytes`);
  });

  it('refuses a file it may not read (EACCES), with exit 2', () => {
    const file = scenario('unused initializer', (folder, data) => stored(folder, 'secret.bin', data.bytes));
    fs.chmodSync(path.join(path.dirname(file), 'secret.bin'), 0o000);
    const out = path.join(path.dirname(file), 'converted.onnx');
    // Root reads any file through its capabilities to override file modes: as root the CLI
    // runs with those two dropped (util-linux's setpriv), so the mode applies to it.
    const command = [process.execPath, path.join(ROOT, 'bin', 'qlstm.js'), 'convert', file, out];
    const asRoot = process.getuid?.() === 0;
    const [program, ...args] = asRoot ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', ...command] : command;
    const run = spawnSync(program!, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(run.error, undefined, 'setpriv (util-linux) runs the CLI without root\'s file-mode override');
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stderr, `qlstm: ${file}: initializer "unused": external data file "secret.bin" cannot be read (EACCES)\n`);
    assert.ok(!fs.existsSync(out));
  });
});

describe('external data is read only when needed', () => {
  /** The seed model with its weights external, plus an unused external initializer in its own file. */
  function lazyModel(): { file: string; weights: string; unused: string } {
    const folder = path.join(dir, `case-${count++}`);
    fs.mkdirSync(folder);
    const model = readModel(seedFile);
    for (const value of model.graph.initializers) {
      const t = value.constant!;
      if (t.storage.kind === 'raw' && t.storage.bytes.length >= 64) value.constant = external(t.dataType, [...t.dims], stored(folder, 'weights.bin', t.storage.bytes), t.name);
    }
    model.graph.addInitializer('unused', external(DataType.FLOAT, [4], stored(folder, 'unused.bin', floats([1, 2, 3, 4]))));
    const file = path.join(folder, 'model.onnx');
    fs.writeFileSync(file, exportModel(model));
    return { file, weights: path.join(folder, 'weights.bin'), unused: path.join(folder, 'unused.bin') };
  }

  it('never reads an initializer the conversion drops (its file may vanish after the checks)', () => {
    const { file, unused } = lazyModel();
    const model = readModel(file);
    fs.truncateSync(unused, 0);
    convertModel(model);
    const bytes = exportModel(model);
    assert.ok(bytes.length > 0);
    assert.ok(!model.graph.initializers.some((v) => v.name === 'unused'));
  });

  it('checks every file when the model is read, before anything is converted', () => {
    const { file, unused } = lazyModel();
    fs.truncateSync(unused, 0);
    assert.throws(() => readModel(file), (e: unknown) => e instanceof InputError && e.exitCode === 2
      && e.message === `${file}: initializer "unused": external data bytes 0 to 16 lie beyond the end of "unused.bin" (0 bytes)`);
  });

  it('refuses, with exit 2, a file that shrank between the checks and the read', () => {
    const { file, weights } = lazyModel();
    const model = readModel(file);
    fs.truncateSync(weights, 10);
    assert.throws(() => convertModel(model), (e: unknown) => e instanceof InputError && e.exitCode === 2
      && /^.*model\.onnx: initializer "[^"]+": external data file "weights\.bin" shrank to 10 bytes after it was checked$/.test(e.message));
  });

  it('refuses, with exit 2, a file replaced between the checks and the read', () => {
    const { file, weights } = lazyModel();
    const model = readModel(file);
    fs.copyFileSync(weights, `${weights}.new`); // a new file (inode) while the old one still exists
    fs.renameSync(`${weights}.new`, weights);
    assert.throws(() => convertModel(model), (e: unknown) => e instanceof InputError && e.exitCode === 2
      && /model\.onnx: initializer "[^"]+": external data file "weights\.bin" was replaced after it was checked$/.test(e.message));
  });
});
