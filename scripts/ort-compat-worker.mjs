// Runs converted models in ONE onnxruntime build (native onnxruntime-node or onnxruntime-web's
// WASM backend), loaded from an install folder, and prints one JSON line per model and level.
// Spawned by scripts/ort-compat.mjs, one process per build: two native onnxruntime builds
// must never share a process (their shared libraries export the same symbols).
//
//   node scripts/ort-compat-worker.mjs --runtime node|web --dir INSTALL_DIR --manifest FILE
//        [--levels disabled,basic,extended,all] [--runs 2] [--threads 1] [--session-options JSON]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { parseNpy } from '../dist/src/run/npy.js';

const { values: args } = parseArgs({
  options: {
    runtime: { type: 'string' },
    dir: { type: 'string' },
    manifest: { type: 'string' },
    levels: { type: 'string', default: 'disabled,basic,extended,all' },
    runs: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    'session-options': { type: 'string', default: '{}' },
  },
});
const runtime = args.runtime;
const packageName = runtime === 'web' ? 'onnxruntime-web' : 'onnxruntime-node';
const require = createRequire(path.join(path.resolve(args.dir), 'node_modules', 'noop.js'));
const ort = require(packageName);
// read directly: onnxruntime-web's exports map does not expose package.json
const version = JSON.parse(fs.readFileSync(path.join(path.resolve(args.dir), 'node_modules', packageName, 'package.json'), 'utf8')).version;
const threads = Number(args.threads);
if (runtime === 'web') {
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
}
const extra = JSON.parse(args['session-options']);
const manifest = JSON.parse(fs.readFileSync(args.manifest, 'utf8'));
const levels = args.levels.split(',');
const runs = Number(args.runs);
const load = (file) => parseNpy(fs.readFileSync(file), file);

function compare(got, want, lsb) {
  if (got.dims.join(',') !== want.shape.join(',')) return { shape: `[${got.dims}] vs [${want.shape}]` };
  let unequal = 0;
  let maxAbs = 0;
  for (let i = 0; i < want.data.length; i++) {
    if (got.data[i] !== want.data[i]) {
      unequal++;
      maxAbs = Math.max(maxAbs, Math.abs(got.data[i] - want.data[i]));
    }
  }
  return { unequal, maxAbs, maxLsb: lsb ? Math.round((maxAbs / lsb) * 1000) / 1000 : null };
}

function countUnequal(a, b) {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

console.log(JSON.stringify({ kind: 'runtime', runtime, version }));
for (const entry of manifest) {
  const bytes = fs.readFileSync(entry.model);
  const inputs = entry.inputs.map(load);
  const goldens = entry.outputs.map(load);
  for (const level of levels) {
    const result = { kind: 'result', id: entry.id, level };
    let session;
    try {
      session = await ort.InferenceSession.create(bytes, {
        graphOptimizationLevel: level,
        executionProviders: [runtime === 'web' ? 'wasm' : 'cpu'],
        logSeverityLevel: 3,
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        ...extra,
      });
      const feeds = Object.fromEntries(session.inputNames.map((n, i) => [n, new ort.Tensor('float32', inputs[i].data, inputs[i].shape)]));
      const outputsPerRun = [];
      for (let r = 0; r < runs; r++) {
        const got = await session.run(feeds);
        // copy: a later run may reuse the buffers
        outputsPerRun.push(session.outputNames.map((n) => ({ dims: [...got[n].dims], data: Float32Array.from(got[n].data) })));
      }
      result.runs = outputsPerRun.map((outs) => outs.map((o, k) => compare(o, goldens[k], entry.lsb[k])));
      result.laterRunsDiffer = outputsPerRun.slice(1).map((outs) => outs.reduce((n, o, k) => n + countUnequal(o.data, outputsPerRun[0][k].data), 0));
    } catch (error) {
      const text = String(error?.message ?? error).split('\n')[0];
      // onnxruntime prefixes its messages with the C++ function; the reason is at the end
      result.error = text.length > 300 ? `${text.slice(0, 60)} ... ${text.slice(-220)}` : text;
    } finally {
      await session?.release?.();
    }
    console.log(JSON.stringify(result));
  }
}
