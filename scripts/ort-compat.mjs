// Which onnxruntime builds run qlstm's converted models exactly: converts every corpus model,
// installs each requested onnxruntime-node / onnxruntime-web version into its own folder
// (npm, CPU only), runs every model at every optimization level twice in one session, and
// prints per build: exact, max LSB against the goldens, and how often the second run differs
// from the first. `npm run compat` (after a build); see docs/notes/interop.md.
//
//   node scripts/ort-compat.mjs [--node 1.16.3,1.18.0,...] [--web 1.30.0] [--layouts fused,plain]
//        [--corpus DIR] [--cases seed_i10_h20,...] [--levels disabled,basic,extended,all] [--runs 2] [--static-shapes]
//        [--session-options '{"enableMemPattern":false}'] [--cache DIR] [--json FILE] [--strict]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { convert } from '../dist/src/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    node: { type: 'string', default: '1.16.3,1.17.3,1.18.0,1.19.2,1.20.1,1.22.0,1.24.3,1.30.0' },
    web: { type: 'string', default: '1.30.0' },
    layouts: { type: 'string', default: 'fused' },
    corpus: { type: 'string', default: path.join(ROOT, 'fixtures', 'brevitas-corpus') },
    cases: { type: 'string', default: '' },
    levels: { type: 'string', default: 'disabled,basic,extended,all' },
    runs: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    'session-options': { type: 'string', default: '{}' },
    cache: { type: 'string', default: path.join(os.tmpdir(), 'qlstm-ort-compat') },
    json: { type: 'string' },
    strict: { type: 'boolean', default: false },
    'static-shapes': { type: 'boolean', default: false },
  },
});
const FLOAT_TOLERANCE = 1e-6; // a float head's logits differ from PyTorch's by float rounding
const CORPUS = path.resolve(args.corpus);
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

// 1. Convert the corpus once.
const modelsDir = path.join(args.cache, 'models');
fs.mkdirSync(modelsDir, { recursive: true });
const wanted = new Set(list(args.cases));
const manifest = [];
for (const file of fs.readdirSync(CORPUS).filter((f) => f.endsWith('.json')).sort()) {
  const meta = JSON.parse(fs.readFileSync(path.join(CORPUS, file), 'utf8'));
  if (wanted.size && !wanted.has(meta.case)) continue;
  const floatHead = meta.wrapper === 'classifier';
  // a flavour Brevitas refused to export holds the exporter's message instead of a file name
  for (const flavour of ['qcdq', 'qcdq-int', 'qonnx'].filter((f) => meta.exports[f]?.endsWith('.onnx'))) {
    const source = path.join(CORPUS, meta.exports[flavour]);
    for (const layout of list(args.layouts)) {
      const id = `${meta.case}.${flavour}.${layout}`;
      const out = path.join(modelsDir, `${id}.onnx`);
      fs.writeFileSync(out, convert(fs.readFileSync(source), { source, layout, staticShapes: args['static-shapes'] }).bytes);
      manifest.push({
        id,
        model: out,
        inputs: meta.inputs.map((i) => path.join(CORPUS, i.file)),
        outputs: meta.outputs.map((o) => path.join(CORPUS, o.file)),
        lsb: meta.outputs.map((_, k) => (floatHead ? null : k === 2 ? meta.cell_state_scale : meta.output_scale)),
      });
    }
  }
}
const manifestFile = path.join(args.cache, 'manifest.json');
fs.writeFileSync(manifestFile, JSON.stringify(manifest));
console.error(`compat: ${manifest.length} converted models in ${modelsDir}`);

// 2. Install each build into its own folder (the repository's own onnxruntime-node is reused).
const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version;
function installed(pkg, version) {
  if (pkg === 'onnxruntime-node' && version === pinned) return ROOT;
  const dir = path.join(args.cache, `${pkg}-${version}`);
  if (!fs.existsSync(path.join(dir, 'node_modules', pkg, 'package.json'))) {
    console.error(`compat: npm install ${pkg}@${version} into ${dir}`);
    // --ignore-scripts: onnxruntime-node's postinstall would download CUDA libraries (the CPU
    // runtime is in the package); ONNXRUNTIME_NODE_INSTALL=skip is what that script honours
    // if scripts run anyway.
    const r = spawnSync('npm', ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', `${pkg}@${version}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
    if (r.status !== 0) throw new Error(`npm install ${pkg}@${version} failed`);
  }
  return dir;
}
const builds = [
  ...list(args.node).map((v) => ({ runtime: 'node', version: v, dir: installed('onnxruntime-node', v) })),
  ...list(args.web).map((v) => ({ runtime: 'web', version: v, dir: installed('onnxruntime-web', v) })),
];

// 3. Run each build in its own process.
function runWorker(build) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      path.join(ROOT, 'scripts', 'ort-compat-worker.mjs'),
      '--runtime', build.runtime, '--dir', build.dir, '--manifest', manifestFile,
      '--levels', args.levels, '--runs', args.runs, '--threads', args.threads, '--session-options', args['session-options'],
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code, signal) => {
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      resolve({ ...build, results: lines.filter((l) => l.kind === 'result'), crashed: code !== 0 ? `exit ${code ?? signal}: ${err.split('\n').find((l) => /Error/.test(l)) ?? err.trim().split('\n').pop()}` : null });
    });
  });
}

const byId = new Map(manifest.map((m) => [m.id, m]));
function verdict(result) {
  if (result.error) return { exact: false, error: result.error };
  let maxLsb = 0;
  let maxAbsFloat = 0;
  let exact = true;
  result.runs.forEach((outs) =>
    outs.forEach((o, k) => {
      if (o.shape) {
        exact = false;
        maxLsb = Infinity;
        return;
      }
      if (byId.get(result.id).lsb[k] === null) {
        maxAbsFloat = Math.max(maxAbsFloat, o.maxAbs);
        if (o.maxAbs > FLOAT_TOLERANCE) exact = false;
      } else {
        maxLsb = Math.max(maxLsb, o.maxLsb);
        if (o.unequal) exact = false;
      }
    }),
  );
  return { exact, maxLsb, maxAbsFloat, laterRunsDiffer: result.laterRunsDiffer.some((n) => n > 0) };
}

const summaries = [];
for (const build of builds) {
  console.error(`compat: running ${build.runtime} ${build.version}`);
  const done = await runWorker(build);
  const verdicts = done.results.map((r) => ({ r, v: verdict(r) }));
  summaries.push({
    build: `onnxruntime-${done.runtime} ${done.version}`,
    runs: verdicts.length,
    exact: verdicts.filter((x) => x.v.exact).length,
    maxLsb: Math.max(0, ...verdicts.filter((x) => !x.v.error).map((x) => x.v.maxLsb)),
    maxAbsFloat: Math.max(0, ...verdicts.filter((x) => !x.v.error).map((x) => x.v.maxAbsFloat)),
    secondRun: verdicts.filter((x) => x.v.laterRunsDiffer).length,
    errors: verdicts.filter((x) => x.v.error).length,
    crashed: done.crashed,
    problems: verdicts.filter((x) => !x.v.exact || x.v.laterRunsDiffer),
  });
}

// 4. Report.
const sessionOptions = args['session-options'] === '{}' ? 'default session options' : `session options ${args['session-options']}`;
console.log(`${manifest.length} converted models (layouts ${args.layouts}${args['static-shapes'] ? ', static shapes' : ''}) x levels ${args.levels}, ${args.runs} runs per session, ${sessionOptions}`);
console.log(`exact: every output of every run equal to the goldens (float heads within ${FLOAT_TOLERANCE})`);
console.log('');
console.log('| build | model x level | exact | max LSB | max abs (float heads) | run 2 differs from run 1 | errors |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const s of summaries) {
  console.log(`| ${s.build} | ${s.runs} | ${s.exact} | ${s.maxLsb} | ${s.maxAbsFloat.toExponential(1)} | ${s.secondRun} | ${s.errors}${s.crashed ? ` (crashed: ${s.crashed})` : ''} |`);
}
for (const s of summaries.filter((s) => s.problems.length)) {
  console.log(`\n${s.build}:`);
  for (const { r, v } of s.problems.slice(0, 40)) {
    if (v.error) {
      console.log(`  ${r.id} ${r.level}: error: ${v.error}`);
      continue;
    }
    const runs = r.runs.map((outs, i) => `run ${i + 1}: ` + outs.map((o, k) => (o.shape ? `out${k} shape ${o.shape}` : `out${k} ${o.unequal} differ${o.maxLsb === null ? ` (abs ${o.maxAbs.toExponential(1)})` : `, max ${o.maxLsb} LSB`}`)).join('; '));
    console.log(`  ${r.id} ${r.level}: ${runs.join(' | ')}${v.laterRunsDiffer ? ` | run 2 vs run 1: ${r.laterRunsDiffer.join(',')} elements differ` : ''}`);
  }
  if (s.problems.length > 40) console.log(`  ... and ${s.problems.length - 40} more`);
}
if (args.json) fs.writeFileSync(args.json, JSON.stringify(summaries, null, 1));
const clean = summaries.every((s) => !s.crashed && s.errors === 0 && s.exact === s.runs && s.secondRun === 0);
process.exit(args.strict && !clean ? 1 : summaries.some((s) => s.crashed) ? 1 : 0);
