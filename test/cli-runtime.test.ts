import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError, InternalError } from '../src/errors.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { assertLoadCheckBounded, MAX_INITIALIZERS } from '../src/run/load-check.js';
import { openSession, runtimeEnvironment } from '../src/run/session.js';
import { qlstm, qlstmProcess, temporaryDir } from './helpers/cli.js';
import { corpusCase, ROOT } from './helpers/corpus.js';

const dir = temporaryDir('cli-runtime');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const seed = corpusCase('seed_i10_h20').file('qcdq');

describe('onnxruntime is loaded only when a model runs', () => {
  it('importing the library and converting leave it unloaded; opening a session loads it', () => {
    // In a child process: the test runner itself has long loaded onnxruntime.
    const script = `
      import fs from 'node:fs';
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const loaded = () => ({
        js: Object.keys(require('node:module')._cache).some((k) => k.includes('onnxruntime-node')),
        native: fs.readFileSync('/proc/self/maps', 'utf8').includes('libonnxruntime'),
      });
      const qlstm = await import(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))});
      const { bytes } = qlstm.convert(fs.readFileSync(${JSON.stringify(seed)}), { source: 'seed' });
      const before = loaded();
      await (await qlstm.openSession(bytes, { level: 'disabled' })).release();
      console.log(JSON.stringify({ before, after: loaded(), telemetry: process.env.ORT_DISABLE_TELEMETRY ?? null }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, QLSTM_ORT_TELEMETRY: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { before: { js: false, native: false }, after: { js: true, native: true }, telemetry: '1' });
  });
});

describe("onnxruntime's telemetry is off unless the user opts in", () => {
  it('a conversion writes nothing under the cache folder', () => {
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    const r = qlstmProcess(['convert', seed, path.join(dir, 'telemetry.onnx')], { HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), QLSTM_ORT_TELEMETRY: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(home, { recursive: true }), []);
  });

  it('QLSTM_ORT_TELEMETRY=1 leaves onnxruntime its default', () => {
    assert.deepEqual(runtimeEnvironment({}), { ORT_DISABLE_TELEMETRY: '1' });
    assert.deepEqual(runtimeEnvironment({ QLSTM_ORT_TELEMETRY: '0' }), { ORT_DISABLE_TELEMETRY: '1' });
    assert.deepEqual(runtimeEnvironment({ QLSTM_ORT_TELEMETRY: '1' }), {});
  });
});

describe('one policy for a model onnxruntime refuses', () => {
  const garbage = new TextEncoder().encode('not a model');

  it("the user's model: input error, exit 2", async () => {
    await assert.rejects(openSession(garbage, { source: 'user.onnx' }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /^user\.onnx: onnxruntime cannot load the model: /);
      return true;
    });
  });

  it("a model qlstm built: internal error, exit 4, onnxruntime's error kept as the cause", async () => {
    await assert.rejects(openSession(garbage, { source: 'in.onnx', origin: 'qlstm' }), (error: unknown) => {
      assert.ok(error instanceof InternalError);
      assert.equal(error.exitCode, 4);
      assert.match(error.message, /^in\.onnx: onnxruntime cannot load the model qlstm built: /);
      assert.ok(error.cause instanceof Error);
      assert.ok(error.message.endsWith((error.cause as Error).message.trim()));
      return true;
    });
  });

  it('verify of a model onnxruntime refuses is exit 2', async () => {
    const converted = path.join(dir, 'to-break.onnx');
    assert.equal((await qlstm('convert', seed, converted)).code, 0);
    const model = readModel(converted);
    model.graph.nodes.find((n) => n.opType === 'Unsqueeze')!.opType = 'Unsqueezf';
    const broken = path.join(dir, 'broken.onnx');
    fs.writeFileSync(broken, exportModel(model));
    const r = await qlstm('verify', seed, broken, '--level', 'disabled');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^qlstm: .*broken\.onnx: onnxruntime cannot load the model: .*Unsqueezf/);
  });
});

describe('the load check is bounded (issue #13)', () => {
  /** A graph with `count` initializers, each feeding one Identity. */
  function withInitializers(count: number): Model {
    const graph = new Graph();
    const model = new Model(graph, 'many');
    for (let i = 0; i < count; i++) {
      const c = graph.addInitializer(`c${i}`, Tensor.float32([], [i]));
      const out = new Value(`o${i}`);
      graph.nodes.push(new Node({ opType: 'Identity', domain: '', name: `n${i}`, inputs: [c], outputs: [out], attributes: [] }));
    }
    return model;
  }

  it(`accepts ${MAX_INITIALIZERS} initializers and refuses one more (exit 3)`, () => {
    assertLoadCheckBounded(withInitializers(MAX_INITIALIZERS), 'x.onnx');
    assert.throws(() => assertLoadCheckBounded(withInitializers(MAX_INITIALIZERS + 1), 'x.onnx'), {
      name: 'UnsupportedModelError',
      message: `x.onnx: the converted model would have ${MAX_INITIALIZERS + 1} initializers (typically one scale and zero point per Quant node); onnxruntime's load time grows with the square of that number, so qlstm converts models with at most ${MAX_INITIALIZERS}`,
    });
  });

  it('a QONNX export with 5,000 chained Quant nodes is refused before onnxruntime loads it', async () => {
    const model = readModel(corpusCase('seed_i10_h20').file('qonnx'));
    const first = model.graph.nodes.find((n) => n.opType === 'Quant')!;
    let previous = first.input(0)!;
    const chain: Node[] = [];
    for (let i = 0; i < 5000; i++) {
      const out = new Value(`chain_${i}`);
      chain.push(new Node({ opType: 'Quant', domain: first.domain, name: `chain_quant_${i}`, inputs: [previous, ...first.inputs.slice(1)], outputs: [out], attributes: first.attributes }));
      previous = out;
    }
    first.setInput(0, previous);
    model.graph.nodes.unshift(...chain);
    const file = path.join(dir, 'quant-chain.qonnx.onnx');
    fs.writeFileSync(file, exportModel(model));
    const out = path.join(dir, 'quant-chain.onnx');
    const r = await qlstm('convert', file, out, '--json');
    assert.equal(r.code, 3, r.stderr);
    const message = r.stderr.replace(/^qlstm: /, '').trimEnd();
    assert.match(message, /^.*quant-chain\.qonnx\.onnx: the converted model would have \d+ initializers \(typically one scale and zero point per Quant node\); onnxruntime's load time grows with the square of that number, so qlstm converts models with at most 10000$/);
    assert.deepEqual(JSON.parse(r.stdout), { schema: 'qlstm.error/1', error: { code: 3, kind: 'unsupported', message, file, node: null, input: null, role: null } });
    assert.ok(!fs.existsSync(out));
  });
});
