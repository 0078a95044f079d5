import { InputError, UsageError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { exportModel } from '../onnx/export.js';
import type { NdArray } from '../run/npy.js';
import type { OptimizationLevel } from '../run/session.js';
import type { TrajectoryReport } from '../reference/types.js';
import { cellShape, goldenCells, type GoldenCells } from './golden-cells.js';
import { compareElements, finishOutput } from './golden-compare.js';
import { checkGoldenOrder, checkGoldenShapes, floatOutputMistake, hasCells } from './mistakes.js';
import { readCellsMetadata } from './metadata.js';
import { boundaryNames, cloneModel, feedsFor } from './model-io.js';
import { mapOutputsToCells, type ElementMap } from './output-map.js';
import { exposeValues } from './probe.js';
import { silent, type Progress } from './progress.js';
import { levelReport, type CellCheck, type LevelReport, type VerifyReport } from './report.js';
import { runRepeatedly, RUNS_PER_SESSION } from './runs.js';
import { hasAbsTolerance, NO_TOLERANCE, toleranceFor, toleranceJson, type ToleranceSpec } from './tolerance.js';
import { TrajectoryCache, trajectoryInput } from './trajectory-input.js';
import { cellCheck, reportHeader } from './verdict.js';

export interface GoldenCheck {
  model: Model;
  inputs: Map<string, NdArray>;
  /** expected arrays by output name; only these outputs are compared */
  expected: Map<string, NdArray>;
  /** where each expected array came from, for messages (default: the output name) */
  expectedLabels?: Map<string, string>;
  tolerance?: ToleranceSpec;
  strict?: boolean;
  levels: readonly OptimizationLevel[];
  progress?: Progress;
}

/**
 * Golden mode: runs the model at each level (each session twice) and compares the chosen
 * outputs with their goldens. Where they differ, the cells the model's metadata describes
 * (validated, never trusted) decide whether each difference is a certified tie: both the
 * model's and the goldens' hidden-state sequences must be ones the cell can produce.
 */
export async function verifyAgainstGoldens(check: GoldenCheck): Promise<VerifyReport> {
  const { model } = check;
  const progress = check.progress ?? silent;
  const tolerance = check.tolerance ?? NO_TOLERANCE;
  const strict = Boolean(check.strict);
  if (hasCells(model)) {
    throw new UsageError('is a Brevitas export with QuantLSTMCell nodes, which onnxruntime cannot run: convert it first', { file: model.source });
  }
  const names = [...check.expected.keys()];
  const graphOutputs = model.graph.outputs.map((v) => v.name);
  for (const name of names) if (!graphOutputs.includes(name)) throw new UsageError(`has no output named "${name}"; its outputs are ${graphOutputs.join(', ')}`, { file: model.source });

  const metadata = readCellsMetadata(model);
  const cells = metadata.kind === 'version 2' ? metadata.cells : [];
  const checked: string[] = [];
  const notChecked: string[] = [];
  if (metadata.kind === 'absent') notChecked.push('no tie analysis: the model has no qlstm.cells metadata (not converted by qlstm), so outputs are compared directly');
  if (metadata.kind === 'version 1') notChecked.push('no tie analysis: the model carries qlstm 0.1 metadata (version 1) without the cells\' parameters; convert it again with this qlstm');

  const running = cloneModel(model);
  const exposed = cells.flatMap((c) => boundaryNames(c.boundary));
  const missing = exposeValues(running, exposed);
  if (missing.length) {
    throw new InputError(`metadata "qlstm.cells" names value "${missing[0]}", which the model does not compute`, { file: model.source });
  }
  const bytes = exportModel(running);
  const feeds = feedsFor(running, check.inputs);
  const cache = new TrajectoryCache();
  try {
    let maps: Map<string, ElementMap> | null = null;
    let golden: GoldenCells | null = null;
    // each level is finished once its trajectories (running in workers meanwhile) are back
    const pending: (() => Promise<LevelReport>)[] = [];

    for (const level of check.levels) {
      progress(`level ${level}: running the model`);
      const run = await runRepeatedly(bytes, level, feeds, model.source, (r) => progress(`level ${level}: run ${r} of ${RUNS_PER_SESSION}`));
      const got = run.outputs;
      if (pending.length === 0) {
        checkGoldenShapes(names, check.expected, got, check.expectedLabels, model.source);
        if (cells.length) {
          progress('finding which output elements are cell outputs');
          const mapped = await mapOutputsToCells(running, cells.map((c) => c.boundary.outputs), got, feeds, names);
          if (typeof mapped === 'string') notChecked.push(`no tie analysis: cannot tell which output elements the cells computed (${mapped})`);
          else maps = mapped;
        }
        if (maps) golden = goldenCells(cells, maps, check.expected, got);
      }
      const shapes = cells.map((c) => cellShape(c, got));
      const comparisons = names.map((name) =>
        compareElements(name, got[name]!, check.expected.get(name)!, maps?.get(name) ?? null, cells, shapes, golden, toleranceFor(tolerance, name), strict),
      );
      if (pending.length === 0) {
        checkGoldenOrder(names, comparisons.map((c) => c.failing > 0), check.expected, got, check.expectedLabels);
        for (const c of comparisons) {
          if (c.floatFailures && !hasAbsTolerance(tolerance, c.name) && cells.length) floatOutputMistake(c.name, c.maxFloatError);
        }
      }
      // tie analysis: only for cells with differences that need it
      const needed = [...new Set(comparisons.flatMap((c) => [...c.pending.keys()]))].sort((a, b) => a - b);
      const following = needed.map((k) => {
        const cell = cells[k]!;
        const follow = (who: string, hidden: NdArray, lastCell: Float32Array | undefined) => {
          const input = trajectoryInput(cell.cell, cell.boundary, got, hidden, lastCell, model.source);
          return cache.follow(cell.cell, input, (done, total) => progress(`level ${level}: cell ${cell.cell.name}: following the ${who} hidden states`, done, total));
        };
        const g = golden!.cells[k]!;
        return { k, model: follow('model\'s', got[cell.boundary.outputs[0]]!, got[cell.boundary.outputs[2]]!.data), goldens: follow('goldens\'', g.hidden, g.lastCell) };
      });
      const goldenCellsNow = golden;
      pending.push(async () => {
        const cellChecks: CellCheck[] = [];
        const verdicts = new Map<number, { consistent: boolean; golden: TrajectoryReport; model: TrajectoryReport }>();
        for (const f of following) {
          const [modelReport, goldenReport] = [await f.model, await f.goldens];
          const name = cells[f.k]!.cell.name;
          const ofModel = cellCheck(name, 'model', modelReport);
          const ofGoldens = cellCheck(name, 'goldens', goldenReport);
          cellChecks.push(ofModel, ofGoldens);
          verdicts.set(f.k, { consistent: ofModel.consistent && ofGoldens.consistent, golden: goldenReport, model: modelReport });
        }
        const outputs = comparisons.map((c) => finishOutput(c, verdicts, cells, shapes, got, goldenCellsNow));
        return levelReport(level, RUNS_PER_SESSION, run.disagreements, outputs, cellChecks);
      });
    }
    const levels: LevelReport[] = [];
    for (const finish of pending) levels.push(await finish());

    checked.push(`${names.length} output(s) against the expected arrays at ${check.levels.join(', ')}, each onnxruntime session run ${RUNS_PER_SESSION} times`);
    if (strict) checked.push('strict: every element must be bit-equal; no tie analysis');
    else if (cells.length && maps) {
      checked.push(`differences in the outputs of ${cells.length} cell(s) judged by following the model's and the goldens' hidden states through the cell that qlstm.cells describes (validated)`);
      const unfollowed = cells.filter((_, k) => !golden!.cells[k]).map((c) => c.cell.name);
      if (unfollowed.length) notChecked.push(`ties cannot be certified for cell(s) ${unfollowed.join(', ')}: their hidden states are not among the outputs compared; their outputs are compared directly`);
    }
    const floatOutputs = levels[0]?.outputs.filter((o) => o.lsb === null && maps).map((o) => o.name) ?? [];
    if (floatOutputs.length) notChecked.push(`ties cannot be certified for float output(s) ${floatOutputs.join(', ')}: compared directly, within --tolerance-abs`);

    return {
      ...(await reportHeader('golden', model.source, strict, toleranceJson(tolerance))),
      levels,
      checked,
      notChecked,
      passed: levels.every((l) => l.passed),
    };
  } finally {
    await cache.stop();
  }
}
