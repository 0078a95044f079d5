import { UsageError } from '../../errors.js';
import type { Model } from '../../ir/model.js';
import { readModel } from '../../onnx/files.js';
import { recognizeCells } from '../../recognize/cell.js';
import type { NdArray } from '../../run/npy.js';
import type { OptimizationLevel } from '../../run/session.js';
import { loadArraySources } from '../../verify/arrays.js';
import { verifyAgainstGoldens } from '../../verify/golden.js';
import { checkInputShapes, checkInputTypes, realInputNames } from '../../verify/input-checks.js';
import { junitXml } from '../../verify/junit.js';
import { checkNotSwapped } from '../../verify/mistakes.js';
import type { Progress } from '../../verify/progress.js';
import { randomInputs } from '../../verify/random-inputs.js';
import { verifyAgainstReference } from '../../verify/reference-mode.js';
import type { VerifyReport } from '../../verify/report.js';
import { anyTolerance, checkToleranceNames, parseTolerances, type ToleranceSpec } from '../../verify/tolerance.js';
import { json, type Output } from '../output.js';
import { renderVerifyReport } from '../render-verify.js';
import { checkOutputPath, writeFileAtomic } from '../write-output.js';

/** Report files are results of the run: a new run replaces them (never a link, device or folder). */
const REPORT_WRITE = { force: true };

export interface VerifyCommandOptions {
  models: string[];
  inputs: string[];
  expected: string[];
  /** graph outputs to compare (default: all) */
  outputs: string[];
  /** `X` or `NAME=X` each */
  toleranceLsb: string[];
  toleranceAbs: string[];
  strict: boolean;
  levels: OptimizationLevel[];
  seed: number;
  sequenceLength?: number;
  batch?: number;
  castInputs: boolean;
  json: boolean;
  report?: string;
  junit?: string;
  /** show progress on stderr even when it is not a terminal */
  progress: boolean;
}

/** Exit 0 when every difference is explained (tie or tolerance) at every level, 1 otherwise. */
export async function verifyCommand(options: VerifyCommandOptions, io: Output): Promise<number> {
  const tolerance = parseTolerances(options.toleranceLsb, options.toleranceAbs);
  if (options.strict && anyTolerance(tolerance)) throw new UsageError('--strict demands bit equality; drop --tolerance-lsb / --tolerance-abs, or drop --strict');
  for (const file of [options.report, options.junit]) if (file) checkOutputPath(file, REPORT_WRITE);
  const progress = progressWriter(options.progress);
  let report: VerifyReport;
  try {
    report = options.models.length === 1 ? await goldenMode(options, tolerance, progress.report) : await referenceMode(options, tolerance, progress.report);
  } finally {
    progress.clear();
  }
  if (options.report) await writeFileAtomic(options.report, new TextEncoder().encode(`${json(report)}\n`), REPORT_WRITE);
  if (options.junit) await writeFileAtomic(options.junit, new TextEncoder().encode(junitXml(report)), REPORT_WRITE);
  io.out(options.json ? json(report) : renderVerifyReport(report));
  return report.passed ? 0 : 1;
}

function selectedOutputs(model: Model, options: VerifyCommandOptions): string[] {
  const all = model.graph.outputs.map((v) => v.name);
  for (const name of options.outputs) {
    if (!all.includes(name)) throw new UsageError(`--outputs names "${name}", which ${model.source} does not have; its outputs are ${all.join(', ')}`);
  }
  return options.outputs.length ? options.outputs : all;
}

function loadInputs(model: Model, options: VerifyCommandOptions): Map<string, NdArray> {
  const names = realInputNames(model);
  const inputs = loadArraySources(options.inputs, names, 'graph inputs');
  checkInputTypes(inputs, options.castInputs, 'input');
  checkInputShapes(model, inputs);
  return new Map([...inputs].map(([name, loaded]) => [name, loaded.array]));
}

async function goldenMode(options: VerifyCommandOptions, tolerance: ToleranceSpec, progress: Progress): Promise<VerifyReport> {
  if (!options.inputs.length || !options.expected.length) {
    throw new UsageError('with one model, give --inputs and --expected (or give ORIGINAL CONVERTED for reference mode)');
  }
  const model = readModel(options.models[0]!);
  const outputs = selectedOutputs(model, options);
  checkToleranceNames(tolerance, outputs, model.source);
  const inputs = loadInputs(model, options);
  const loaded = loadArraySources(options.expected, outputs, options.outputs.length ? 'selected outputs' : 'graph outputs');
  checkInputTypes(loaded, false, 'expected');
  const expected = new Map([...loaded].map(([name, l]) => [name, l.array]));
  const labels = new Map([...loaded].map(([name, l]) => [name, l.label]));
  return verifyAgainstGoldens({ model, inputs, expected, expectedLabels: labels, tolerance, strict: options.strict, levels: options.levels, progress });
}

async function referenceMode(options: VerifyCommandOptions, tolerance: ToleranceSpec, progress: Progress): Promise<VerifyReport> {
  if (options.models.length !== 2) throw new UsageError(`expected MODEL or ORIGINAL CONVERTED, got ${options.models.length} files`);
  if (options.expected.length) throw new UsageError('--expected goes with one model (golden mode), not with ORIGINAL CONVERTED');
  const original = readModel(options.models[0]!);
  const converted = readModel(options.models[1]!);
  checkNotSwapped(original, converted);
  const outputs = selectedOutputs(original, options);
  checkToleranceNames(tolerance, outputs, original.source);
  const inputs = options.inputs.length
    ? loadInputs(converted, options)
    : randomInputs(original, recognizeCells(original), {
        seed: options.seed,
        ...(options.sequenceLength ? { sequenceLength: options.sequenceLength } : {}),
        ...(options.batch ? { batch: options.batch } : {}),
      });
  return verifyAgainstReference({ original, converted, inputs, tolerance, strict: options.strict, outputs, levels: options.levels, progress });
}

/** Seconds of work after which progress appears (shorter runs stay quiet). */
const PROGRESS_AFTER_MS = 3000;
const PROGRESS_EVERY_MS = 500;

/**
 * Progress on stderr, for runs longer than a few seconds: one line redrawn in place on a
 * terminal; with --progress and no terminal, a line at most every 5 s.
 */
function progressWriter(forced: boolean): { report: Progress; clear(): void } {
  const tty = Boolean(process.stderr.isTTY);
  if (!tty && !forced) return { report: () => {}, clear: () => {} };
  const start = Date.now();
  let last = 0;
  let shown = false;
  const every = tty ? PROGRESS_EVERY_MS : 5000;
  return {
    report(phase, done, total) {
      const now = Date.now();
      if (now - start < PROGRESS_AFTER_MS || now - last < every) return;
      last = now;
      const fraction = done !== undefined && total ? ` ${Math.floor((100 * done) / total)}%` : '';
      const line = `qlstm verify: ${phase}${fraction} (${Math.round((now - start) / 1000)} s)`;
      if (tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 100) - 1)}`);
      else process.stderr.write(`${line}\n`);
      shown = true;
    },
    clear() {
      if (tty && shown) process.stderr.write('\r\x1b[K');
    },
  };
}
