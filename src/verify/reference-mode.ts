import { InputError, UnsupportedModelError, UsageError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { exportModel } from '../onnx/export.js';
import { referenceCellsOf } from '../reference/from-export.js';
import type { NdArray } from '../run/npy.js';
import type { OptimizationLevel } from '../run/session.js';
import type { CellShape } from './elements.js';
import { checkNotSwapped, hasCells } from './mistakes.js';
import { boundaryNames, cloneModel, feedsFor } from './model-io.js';
import { exposeValues } from './probe.js';
import { silent, type Progress } from './progress.js';
import { cellRows } from './reference-rows.js';
import { levelReport, type CellCheck, type LevelReport, type OutputReport, type RunDisagreement, type Tolerance, type VerifyReport } from './report.js';
import { compareWhole, restOfGraph } from './rest-of-graph.js';
import { RUNS_PER_SESSION, runRepeatedly } from './runs.js';
import { NO_TOLERANCE, toleranceFor, toleranceJson, type ToleranceSpec } from './tolerance.js';
import { TrajectoryCache, trajectoryInput } from './trajectory-input.js';
import { cellCheck, reportHeader } from './verdict.js';

export interface ReferenceCheck {
  original: Model;
  converted: Model;
  inputs: Map<string, NdArray>;
  /** a ToleranceSpec, or one tolerance for every output */
  tolerance?: ToleranceSpec | Tolerance;
  strict?: boolean;
  /** graph outputs to compare with the original's (default: all) */
  outputs?: string[];
  levels: readonly OptimizationLevel[];
  progress?: Progress;
}


/**
 * Reference mode. Every cell the reference reads from ORIGINAL (src/reference, which shares
 * no code with the converter) is checked on the converted model's own values at its
 * boundary: the converted hidden states must be ones the reference cell gives, following the
 * model's choice wherever a certified tie allows two. The rest of the graph is checked by
 * running ORIGINAL with its cells cut out (fed the converted model's cell outputs) and
 * comparing its graph outputs and the cells' inputs with the converted model's.
 */
export async function verifyAgainstReference(check: ReferenceCheck): Promise<VerifyReport> {
  const { original, converted } = check;
  const progress = check.progress ?? silent;
  const strict = Boolean(check.strict);
  const tolerance = toSpec(check.tolerance);
  checkNotSwapped(original, converted);
  if (hasCells(converted)) throw new UsageError('still has QuantLSTMCell nodes; give the converted model second', { file: converted.source });
  if (tolerance.all.lsb > 0 || [...tolerance.perOutput.values()].some((t) => (t.lsb ?? 0) > 0)) {
    throw new UsageError('--tolerance-lsb applies to golden mode; reference mode accepts exactly what the reference cell gives, allowing certified ties (--strict: not even those)');
  }
  const cells = referenceCellsOf(original);
  if (cells.length === 0) throw new UnsupportedModelError('has no QuantLSTMCell node to check against', { file: original.source });
  const graphOutputs = original.graph.outputs.map((v) => v.name);
  const selected = check.outputs ?? graphOutputs;
  for (const name of selected) if (!graphOutputs.includes(name)) throw new UsageError(`has no output named "${name}"; its outputs are ${graphOutputs.join(', ')}`, { file: original.source });

  const running = cloneModel(converted);
  const missing = exposeValues(running, cells.flatMap(({ boundary }) => boundaryNames(boundary)));
  if (missing.length) {
    throw new InputError(`has no value named ${missing.slice(0, 3).map((n) => `"${n}"`).join(', ')} that the original's cells read or write: is it a conversion of ${original.source}?`, {
      file: converted.source,
    });
  }
  const bytes = exportModel(running);
  const feeds = feedsFor(running, check.inputs);
  const rest = restOfGraph(original, cells.map((c) => c.boundary));
  const notChecked: string[] = [];
  let restProblem = typeof rest === 'string' ? rest : null;
  const cache = new TrajectoryCache();
  try {
    // each level is finished once its trajectories (running in workers meanwhile) are back
    const pending: (() => Promise<LevelReport>)[] = [];

    for (const level of check.levels) {
      progress(`level ${level}: running the converted model`);
      const run = await runRepeatedly(bytes, level, feeds, converted.source, (r) => progress(`level ${level}: run ${r} of ${RUNS_PER_SESSION}`));
      const got = run.outputs;
      const disagreements: RunDisagreement[] = [...run.disagreements];
      const outputs: OutputReport[] = [];
      const following = cells.map(({ cell, boundary }) => {
        const input = trajectoryInput(cell, boundary, got, got[boundary.outputs[0]]!, got[boundary.outputs[2]]!.data, converted.source);
        const report = cache.follow(cell, input, (done, total) => progress(`level ${level}: cell ${cell.name}: following the converted model's hidden states`, done, total));
        const shape: CellShape = { steps: input.steps, batch: input.batch, hidden: cell.hiddenSize, batchFirst: cell.batchFirst };
        return { cell, boundary, report, shape };
      });
      if (typeof rest !== 'string' && restProblem === null) {
        progress(`level ${level}: running ${original.source} with its cells cut out`);
        const restFeeds = Object.fromEntries(rest.inputs.map((n) => [n, got[n] ?? check.inputs.get(n)!]));
        try {
          const restRun = await runRepeatedly(rest.bytes, level, restFeeds, `${original.source} (cells cut out)`);
          disagreements.push(...restRun.disagreements);
          for (const name of selected) outputs.push(compareWhole(name, 'graph output', got[name]!, restRun.outputs[name]!, toleranceFor(tolerance, name), strict));
          for (const name of rest.cellInputs) outputs.push(compareWhole(name, 'cell input', got[name]!, restRun.outputs[name]!, { lsb: 0, abs: 0 }, true));
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          restProblem = `onnxruntime cannot run ${original.source} with its cells cut out: ${error.detail}`;
        }
      }
      pending.push(async () => {
        const checks: CellCheck[] = [];
        const rows: OutputReport[] = [];
        for (const f of following) {
          const report = await f.report;
          checks.push(cellCheck(f.cell.name, 'model', report));
          rows.push(...cellRows(f.cell, f.boundary, report, f.shape, got, strict));
        }
        return levelReport(level, RUNS_PER_SESSION, disagreements, [...rows, ...outputs], checks);
      });
    }
    const levels: LevelReport[] = [];
    for (const finish of pending) levels.push(await finish());
    const checked = [
      `${cells.length} cell(s) against the reference cell read from ${original.source} (src/reference), on the converted model's own values at each cell's boundary; ${strict ? 'strict: no ties allowed' : 'certified ties follow the converted model\'s choice'}`,
      `each onnxruntime session run ${RUNS_PER_SESSION} times at ${check.levels.join(', ')}`,
    ];
    if (restProblem === null) {
      checked.push(`the rest of the graph: ${original.source} with its cells cut out (Quant nodes lowered by verify's own float lowering), fed the converted model's cell outputs, against the converted model's graph outputs ${selected.join(', ')} and the cells' inputs`);
    } else {
      notChecked.push(`the rest of the graph (everything but the cells): ${restProblem}`);
    }
    if (selected.length < graphOutputs.length) notChecked.push(`graph outputs not selected by --outputs: ${graphOutputs.filter((n) => !selected.includes(n)).join(', ')}`);
    return {
      ...(await reportHeader('reference', converted.source, strict, toleranceJson(tolerance), original.source)),
      levels,
      checked,
      notChecked,
      passed: levels.every((l) => l.passed),
    };
  } finally {
    await cache.stop();
  }
}

function toSpec(tolerance: ToleranceSpec | Tolerance | undefined): ToleranceSpec {
  if (!tolerance) return NO_TOLERANCE;
  return 'all' in tolerance ? tolerance : { all: { ...tolerance }, perOutput: new Map() };
}


