import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { convertModel } from '../src/convert.js';
import type { Model } from '../src/ir/model.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { randomInputs } from '../src/verify/random-inputs.js';
import { recognizeCells } from '../src/recognize/cell.js';
import { verifyAgainstReference } from '../src/verify/reference-mode.js';
import { nativeLstm } from './native-lstm.js';
import { syntheticExport } from './synthetic.js';

/**
 * npm run bench [-- --smoke] [-- --out FILE]
 *
 * Inference: the converted model (fused and plain layouts) against onnxruntime's native float
 * LSTM of the same sizes, in this process, one thread each, runs interleaved round by round;
 * ratios of medians from the same run. Conversion: time and peak memory of converting the
 * corpus' largest export and synthetic exports of growing size, each in a fresh process.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
const outFile = argv.includes('--out') ? argv[argv.indexOf('--out') + 1]! : path.join(ROOT, 'bench', 'results', smoke ? 'smoke.json' : 'latest.json');
const ROUNDS = smoke ? 2 : 40;
const WARMUP = smoke ? 1 : 5;
const SESSION = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' } as const;

interface InferenceCase {
  name: string;
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
  layers: number;
  /** a corpus export to convert instead of a synthetic one */
  corpus?: string;
}

const INFERENCE: InferenceCase[] = smoke
  ? [{ name: 'smoke T=5 B=2 I=8 H=16', steps: 5, batch: 2, inputSize: 8, hiddenSize: 16, layers: 1 }]
  : [
      { name: 'T=100 B=1 I=64 H=128', steps: 100, batch: 1, inputSize: 64, hiddenSize: 128, layers: 1, corpus: 'large_i64_h128' },
      { name: 'T=100 B=16 I=64 H=128', steps: 100, batch: 16, inputSize: 64, hiddenSize: 128, layers: 1, corpus: 'large_i64_h128' },
      { name: 'T=98 B=1 I=40 H=256', steps: 98, batch: 1, inputSize: 40, hiddenSize: 256, layers: 1 },
      { name: 'big_l2_i256_h512: T=50 B=1 I=256 H=512, 2 layers', steps: 50, batch: 1, inputSize: 256, hiddenSize: 512, layers: 2, corpus: 'big_l2_i256_h512' },
    ];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function exportFor(c: InferenceCase): Model {
  if (c.corpus) return readModel(path.join(ROOT, 'fixtures', 'brevitas-corpus', `${c.corpus}.qcdq-int.onnx`));
  return syntheticExport({ ...c, flavour: 'qcdq-int' });
}

async function inference(c: InferenceCase) {
  const converted = (layout: 'fused' | 'plain') => {
    const model = exportFor(c);
    convertModel(model, { layout });
    return model;
  };
  const fusedModel = converted('fused');
  const models = { native: exportModel(nativeLstm(c.inputSize, c.hiddenSize, c.layers)), fused: exportModel(fusedModel), plain: exportModel(converted('plain')) };
  const sessions = Object.fromEntries(await Promise.all(Object.entries(models).map(async ([k, bytes]) => [k, await ort.InferenceSession.create(bytes, SESSION)] as const)));
  const input = new ort.Tensor('float32', Float32Array.from({ length: c.steps * c.batch * c.inputSize }, (_, i) => Math.sin(i * 0.37)), [c.steps, c.batch, c.inputSize]);
  const run = async (k: string) => {
    const s = sessions[k]!;
    const start = process.hrtime.bigint();
    const out = await s.run({ [s.inputNames[0]!]: input });
    return { ms: Number(process.hrtime.bigint() - start) / 1e6, out };
  };
  // Both layouts must agree bit for bit on these inputs.
  const [f, p] = [await run('fused'), await run('plain')];
  const exactBetweenLayouts = Object.keys(f.out).every((name) => {
    const a = f.out[name]!.data as Float32Array;
    const b = p.out[name]!.data as Float32Array;
    return a.length === b.length && a.every((v, i) => v === b[i]);
  });
  const times: Record<string, number[]> = { native: [], fused: [], plain: [] };
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    for (const k of Object.keys(times)) {
      const { ms } = await run(k);
      if (r >= WARMUP) times[k]!.push(ms);
    }
  }
  await Promise.all(Object.values(sessions).map((s) => s.release()));

  // The converted cells against the independent reference, on other inputs (0 LSB).
  let referenceMaxLsb: number | null = null;
  if (!smoke) {
    const original = exportFor(c);
    const report = await verifyAgainstReference({
      original,
      converted: fusedModel,
      inputs: randomInputs(original, recognizeCells(original), { seed: 3, sequenceLength: c.steps, batch: c.batch }),
      tolerance: { lsb: 0, abs: 0 },
      levels: ['all'],
    });
    referenceMaxLsb = report.passed ? 0 : Infinity;
  }
  const [native, fused, plain] = [median(times.native!), median(times.fused!), median(times.plain!)];
  return {
    case: c.name,
    sizes: { steps: c.steps, batch: c.batch, inputSize: c.inputSize, hiddenSize: c.hiddenSize, layers: c.layers },
    source: c.corpus ? `corpus ${c.corpus}` : 'synthetic export',
    medianMs: { native, fused, plain },
    ratio: { fusedToNative: fused / native, plainToNative: plain / native, plainToFused: plain / fused },
    rounds: ROUNDS,
    exactBetweenLayouts,
    referenceMaxLsb,
  };
}

interface ConversionCase {
  name: string;
  file: () => string;
}

function syntheticFile(dir: string, hiddenSize: number, layers: number): string {
  const file = path.join(dir, `synthetic_l${layers}_h${hiddenSize}.qcdq.onnx`);
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, exportModel(syntheticExport({ inputSize: hiddenSize, hiddenSize, layers, flavour: 'qcdq', steps: 10, batch: 1 })));
  }
  return file;
}

function conversions(dir: string): ConversionCase[] {
  if (smoke) return [{ name: 'synthetic H=32, 1 layer', file: () => syntheticFile(dir, 32, 1) }];
  const series: [number, number][] = [[128, 1], [256, 1], [512, 1], [1024, 1], [512, 2], [512, 4], [1024, 4]];
  return [
    { name: 'corpus big_l2_i256_h512 (qcdq)', file: () => path.join(ROOT, 'fixtures', 'brevitas-corpus', 'big_l2_i256_h512.qcdq.onnx') },
    ...series.map(([h, l]) => ({ name: `synthetic H=${h}, ${l} layer${l > 1 ? 's' : ''} (qcdq)`, file: () => syntheticFile(dir, h, l) })),
  ];
}

function conversion(c: ConversionCase) {
  const probe = path.join(ROOT, 'dist', 'bench', 'convert-probe.js');
  const r = JSON.parse(execFileSync(process.execPath, [probe, c.file()], { encoding: 'utf8', maxBuffer: 1 << 20 }));
  const mb = r.fileBytes / 1e6;
  return {
    case: c.name,
    fileBytes: r.fileBytes,
    outputBytes: r.outputBytes,
    ms: r.ms,
    msPerMB: r.ms / mb,
    peakMemoryBytes: r.peakRss - r.baselineRss,
    peakMemoryToFileSize: (r.peakRss - r.baselineRss) / r.fileBytes,
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qlstm-bench-'));
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  console.log(`qlstm bench${smoke ? ' (smoke)' : ''}: ${cpu}, node ${process.version}, onnxruntime ${ort.env.versions.common}, 1 thread, level all`);

  console.log('\ninference latency, median of interleaved runs (ms) and ratio to the native float LSTM');
  console.log(`  ${pad('case', 50)} ${pad('native', 8)} ${pad('fused', 8)} ${pad('plain', 8)} ${pad('fused/native', 13)} ${pad('plain/native', 13)} exact`);
  const inferenceResults = [];
  for (const c of INFERENCE) {
    const r = await inference(c);
    inferenceResults.push(r);
    const exact = `${r.exactBetweenLayouts ? 'layouts agree' : 'LAYOUTS DIFFER'}${r.referenceMaxLsb === null ? '' : `, ${r.referenceMaxLsb} LSB vs reference`}`;
    console.log(`  ${pad(c.name, 50)} ${pad(r.medianMs.native.toFixed(2), 8)} ${pad(r.medianMs.fused.toFixed(2), 8)} ${pad(r.medianMs.plain.toFixed(2), 8)} ${pad(r.ratio.fusedToNative.toFixed(2) + 'x', 13)} ${pad(r.ratio.plainToNative.toFixed(2) + 'x', 13)} ${exact}`);
  }

  console.log('\nconversion (library convert(), each in a fresh process)');
  console.log(`  ${pad('case', 36)} ${pad('file', 10)} ${pad('time', 10)} ${pad('ms/MB', 8)} ${pad('peak memory', 12)} memory/file`);
  const conversionResults = [];
  for (const c of conversions(dir)) {
    const r = conversion(c);
    conversionResults.push(r);
    console.log(`  ${pad(c.name, 36)} ${pad((r.fileBytes / 1e6).toFixed(1) + ' MB', 10)} ${pad(r.ms.toFixed(0) + ' ms', 10)} ${pad(r.msPerMB.toFixed(1), 8)} ${pad((r.peakMemoryBytes / 1e6).toFixed(0) + ' MB', 12)} ${r.peakMemoryToFileSize.toFixed(1)}x`);
  }
  fs.rmSync(dir, { recursive: true, force: true });

  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const result = {
    date: new Date().toISOString(),
    machine: { cpu, cores: os.cpus().length, node: process.version, onnxruntime: ort.env.versions.common },
    settings: { threads: 1, level: 'all', rounds: ROUNDS, warmup: WARMUP, smoke },
    inference: inferenceResults,
    conversion: conversionResults,
  };
  fs.writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), outFile)}`);
  if (inferenceResults.some((r) => !r.exactBetweenLayouts || (r.referenceMaxLsb ?? 0) > 0)) process.exitCode = 1;
}

await main();
