import { InputError, UnsupportedModelError, UsageError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { NameAuthority } from '../ir/names.js';
import { decodeModelProto } from '../onnx/codec.js';
import { exportModel } from '../onnx/export.js';
import { importModel } from '../onnx/import.js';
import { referenceCellsOf } from '../reference/from-export.js';
import type { ReferenceBoundary, ReferenceCell, TrajectoryReport } from '../reference/types.js';
import type { NdArray } from '../run/npy.js';
import type { OptimizationLevel } from '../run/session.js';
import { cutAt } from './cut.js';
import { absError, elementReport, hiddenPosition, sameValue, type CellShape } from './elements.js';
import { checkNotSwapped } from './mistakes.js';
import { exposeValues } from './probe.js';
import { silent, type Progress } from './progress.js';
import { isQuant, lowerQuantNodes } from './quant-lowering.js';
import { levelReport, type CellCheck, type LevelReport, type OutputReport, type RunDisagreement, type Tolerance, type VerifyReport } from './report.js';
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

const CELL_OPS = new Set(['QuantLSTMCell']);
const hasCells = (m: Model) => m.graph.nodes.some((n) => CELL_OPS.has(n.opType));
const TIE_SAMPLES = 5;

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
  checkNotSwapped(original, converted, hasCells);
  if (hasCells(converted)) throw new UsageError('still has QuantLSTMCell nodes; give the converted model second', { file: converted.source });
  if (tolerance.all.lsb > 0 || [...tolerance.perOutput.values()].some((t) => (t.lsb ?? 0) > 0)) {
    throw new UsageError('--tolerance-lsb applies to golden mode; reference mode accepts exactly what the reference cell gives, allowing certified ties (--strict: not even those)');
  }
  const cells = referenceCellsOf(original);
  if (cells.length === 0) throw new UnsupportedModelError('has no QuantLSTMCell node to check against', { file: original.source });
  const graphOutputs = original.graph.outputs.map((v) => v.name);
  const selected = check.outputs ?? graphOutputs;
  for (const name of selected) if (!graphOutputs.includes(name)) throw new UsageError(`has no output named "${name}"; its outputs are ${graphOutputs.join(', ')}`, { file: original.source });

  const running = clone(converted);
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
  const levels: LevelReport[] = [];

  for (const level of check.levels) {
    progress(`level ${level}: running the converted model`);
    const run = await runRepeatedly(bytes, level, feeds, converted.source, (r) => progress(`level ${level}: run ${r} of ${RUNS_PER_SESSION}`));
    const got = run.outputs;
    const disagreements: RunDisagreement[] = [...run.disagreements];
    const outputs: OutputReport[] = [];
    const checks: CellCheck[] = [];
    for (const { cell, boundary } of cells) {
      const input = trajectoryInput(cell, boundary, got, got[boundary.outputs[0]]!, got[boundary.outputs[2]]!.data, converted.source);
      const report = cache.follow(cell, input, (done, total) => progress(`level ${level}: cell ${cell.name}: following the converted model's hidden states`, done, total));
      const shape: CellShape = { steps: input.steps, batch: input.batch, hidden: cell.hiddenSize, batchFirst: cell.batchFirst };
      checks.push(cellCheck(cell.name, 'model', report));
      outputs.push(...cellRows(cell, boundary, report, shape, got, strict));
    }
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
    levels.push(levelReport(level, RUNS_PER_SESSION, disagreements, outputs, checks));
  }
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
    ...reportHeader('reference', converted.source, strict, toleranceJson(tolerance), original.source),
    levels,
    checked,
    notChecked,
    passed: levels.every((l) => l.passed),
  };
}

function toSpec(tolerance: ToleranceSpec | Tolerance | undefined): ToleranceSpec {
  if (!tolerance) return NO_TOLERANCE;
  return 'all' in tolerance ? tolerance : { all: { ...tolerance }, perOutput: new Map() };
}

function clone(model: Model): Model {
  return importModel(decodeModelProto(exportModel(model), model.source), model.source);
}

function boundaryNames(b: ReferenceBoundary): string[] {
  return [b.input, b.initialHidden, b.initialCell, ...b.outputs].filter((n): n is string => n !== null);
}

function feedsFor(model: Model, inputs: Map<string, NdArray>): Record<string, NdArray> {
  const initializers = new Set(model.graph.initializers);
  const real = model.graph.inputs.filter((v) => !initializers.has(v)).map((v) => v.name);
  const missing = real.filter((n) => !inputs.has(n));
  if (missing.length) throw new InputError(`needs input ${missing.map((n) => `"${n}"`).join(', ')}, which the original does not have`, { file: model.source });
  return Object.fromEntries(real.map((n) => [n, inputs.get(n)!]));
}

/** ORIGINAL with its cells cut out and its Quant nodes lowered, ready to run; or why not. */
function restOfGraph(original: Model, boundaries: readonly ReferenceBoundary[]): { bytes: Uint8Array; inputs: string[]; cellInputs: string[] } | string {
  const model = clone(original);
  const cellInputs = [...new Set(boundaries.flatMap((b) => [b.input, b.initialHidden, b.initialCell].filter((n): n is string => n !== null)))];
  const cut = boundaries.flatMap((b) => b.outputs);
  const problem = cutAt(model, cut, cellInputs);
  if (problem) return problem;
  const lowered = lowerQuantNodes(model, new NameAuthority(model));
  if (lowered) return lowered;
  const foreign = model.graph.nodes.find((n) => n.domain !== '' && n.domain !== 'ai.onnx' && !isQuant(n));
  if (foreign) return `node ${foreign.label()} (${foreign.domain}::${foreign.opType}) is no standard ONNX operator`;
  const used = new Set(model.graph.nodes.map((n) => n.domain));
  model.opsetImports = model.opsetImports.filter((o) => ['', 'ai.onnx'].includes(o.domain ?? '') || used.has(o.domain ?? ''));
  const initializers = new Set(model.graph.initializers);
  return { bytes: exportModel(model), inputs: model.graph.inputs.filter((v) => !initializers.has(v)).map((v) => v.name), cellInputs };
}

/** Rows for one cell: its hidden states (the trajectory), last hidden state, last cell state. */
function cellRows(
  cell: ReferenceCell,
  boundary: ReferenceBoundary,
  report: TrajectoryReport,
  shape: CellShape,
  got: Record<string, NdArray>,
  strict: boolean,
): OutputReport[] {
  const [ys, hn, cn] = boundary.outputs.map((n) => got[n]!);
  const lsb = cell.outputQuant.scale;
  const hiddenSamples = report.unexplainedSamples.filter((s) => s.what === 'hidden state');
  const cellSamples = report.unexplainedSamples.filter((s) => s.what === 'last cell state');
  const cellUnexplained = report.lastCell === 'inconsistent' ? Math.max(1, cellSamples.length) : 0;
  const hiddenUnexplained = Math.max(0, report.unexplained - cellUnexplained) + (strict ? report.ties : 0);
  const distance = (observed: number, candidates: number[]) => Math.min(...candidates.map((c) => absError(observed, c)));
  const first = hiddenSamples[0];
  const complete = hiddenSamples.length === report.unexplained - cellUnexplained;
  const perStep = complete ? new Array<number>(shape.steps).fill(0) : null;
  let maxAbs = 0;
  for (const s of hiddenSamples) {
    const d = distance(s.observed, s.candidates);
    maxAbs = Math.max(maxAbs, d);
    if (perStep) perStep[s.step] = Math.max(perStep[s.step]!, d / lsb);
  }
  const elements = ys!.data.length;
  const hidden: OutputReport = {
    name: `${cell.name}: hidden states`,
    kind: 'hidden states',
    shape: ys!.shape,
    expectedShape: ys!.shape,
    elements,
    exact: report.nominal,
    percentExact: elements ? (100 * report.nominal) / elements : 100,
    lsb,
    tolerance: { lsb: 0, abs: 0 },
    analysis: strict ? 'strict: the reference cell\'s nominal values, no ties' : 'the reference cell, following the converted model through certified ties',
    differing: elements - report.nominal,
    withinTolerance: 0,
    ties: { count: report.ties, samples: report.tieSamples.slice(0, TIE_SAMPLES).map((s) => ({ ...s, cell: cell.name })) },
    unexplained: {
      count: hiddenUnexplained,
      first: first
        ? elementReport(null, ys!.shape, { step: first.step, batch: first.batch, unit: first.unit }, first.observed, first.candidates[0] ?? null, lsb, {
            candidates: first.candidates,
            reason: 'the converted model\'s value is none the reference cell gives at this step, even allowing certified ties',
          })
        : null,
    },
    maxErrorLsb: maxAbs / lsb,
    maxErrorAbs: maxAbs,
    firstMismatch: null,
    maxErrorPerStep: perStep,
    passed: hiddenUnexplained === 0,
  };
  if (first) hidden.unexplained.first!.index = unravelHidden(shape, first.step, first.batch, first.unit, ys!.shape);

  // the last hidden state is the hidden state of the last step processed
  const finalStep = cell.reverse ? 0 : shape.steps - 1;
  let lastExact = 0;
  let lastFirst: OutputReport['firstMismatch'] = null;
  for (let p = 0; p < hn!.data.length; p++) {
    const batch = Math.floor(p / shape.hidden);
    const unit = p % shape.hidden;
    const fromSequence = ys!.data[hiddenPosition(shape, finalStep, batch, unit)]!;
    if (sameValue(hn!.data[p]!, fromSequence)) lastExact++;
    else lastFirst ??= elementReport(p, hn!.shape, { step: finalStep, batch, unit }, hn!.data[p]!, fromSequence, lsb, { reason: 'differs from the hidden state of the last step' });
  }
  const lastHidden = plainRow(`${cell.name}: last hidden state`, 'last hidden state', hn!, lsb, lastExact, lastFirst, 'equal to the hidden states\' last step');

  const cellSample = cellSamples[0];
  const cellLsb = cell.cellState.scale;
  const lastCell = plainRow(
    `${cell.name}: last cell state`,
    'last cell state',
    cn!,
    cellLsb,
    report.lastCell === 'inconsistent' ? cn!.data.length - cellUnexplained : cn!.data.length,
    cellSample
      ? elementReport(cellSample.batch * shape.hidden + cellSample.unit, cn!.shape, { step: null, batch: cellSample.batch, unit: cellSample.unit }, cellSample.observed, cellSample.candidates[0] ?? null, cellLsb, {
          candidates: cellSample.candidates,
          reason: 'the converted model\'s last cell state is none the reference cell gives, even allowing certified ties',
        })
      : null,
    'a cell state the reference cell reaches along the model\'s hidden states',
  );
  if (report.lastCell === 'inconsistent') lastCell.passed = false;
  return [hidden, lastHidden, lastCell];
}

function unravelHidden(shape: CellShape, step: number, batch: number, unit: number, dims: readonly number[]): number[] {
  const flat = hiddenPosition(shape, step, batch, unit);
  const index: number[] = [];
  let rest = flat;
  for (let axis = dims.length - 1; axis >= 0; axis--) {
    index[axis] = rest % dims[axis]!;
    rest = Math.floor(rest / dims[axis]!);
  }
  return index;
}

function plainRow(
  name: string,
  kind: OutputReport['kind'],
  array: NdArray,
  lsb: number,
  exact: number,
  first: OutputReport['firstMismatch'],
  analysis: string,
): OutputReport {
  const elements = array.data.length;
  const unexplained = elements - exact;
  return {
    name,
    kind,
    shape: array.shape,
    expectedShape: array.shape,
    elements,
    exact,
    percentExact: elements ? (100 * exact) / elements : 100,
    lsb,
    tolerance: { lsb: 0, abs: 0 },
    analysis,
    differing: unexplained,
    withinTolerance: 0,
    ties: { count: 0, samples: [] },
    unexplained: { count: unexplained, first },
    maxErrorLsb: first?.errorLsb ?? 0,
    maxErrorAbs: first?.errorAbs ?? 0,
    firstMismatch: first,
    maxErrorPerStep: null,
    passed: unexplained === 0,
  };
}

/** A whole array against another: equal elements, or within the absolute tolerance. */
function compareWhole(name: string, kind: OutputReport['kind'], got: NdArray, expected: NdArray, tolerance: Tolerance, strict: boolean): OutputReport {
  const sameShape = got.shape.length === expected.shape.length && got.shape.every((d, i) => d === expected.shape[i]);
  const elements = expected.data.length;
  let exact = 0;
  let within = 0;
  let maxAbs = 0;
  let first: OutputReport['firstMismatch'] = null;
  let firstFailing: OutputReport['firstMismatch'] = null;
  let failing = 0;
  for (let e = 0; sameShape && e < elements; e++) {
    const g = got.data[e]!;
    const x = expected.data[e]!;
    if (sameValue(g, x)) {
      exact++;
      continue;
    }
    const abs = absError(g, x);
    maxAbs = Math.max(maxAbs, abs);
    first ??= elementReport(e, expected.shape, null, g, x, null);
    if (!strict && abs <= tolerance.abs) within++;
    else {
      failing++;
      firstFailing ??= elementReport(e, expected.shape, null, g, x, null);
    }
  }
  if (!sameShape) failing = Math.max(1, elements);
  return {
    name,
    kind,
    shape: got.shape,
    expectedShape: expected.shape,
    elements,
    exact,
    percentExact: elements ? (100 * exact) / elements : 100,
    lsb: null,
    tolerance,
    analysis: kind === 'cell input' ? 'bit equality with the original\'s value' : 'against the original with its cells cut out, fed the converted cells\' outputs',
    differing: sameShape ? elements - exact : elements,
    withinTolerance: within,
    ties: { count: 0, samples: [] },
    unexplained: { count: failing, first: firstFailing ?? (sameShape ? null : elementReport(null, expected.shape, null, NaN, null, null, { reason: `shape [${got.shape.join(', ')}] differs from the original's [${expected.shape.join(', ')}]` })) },
    maxErrorLsb: null,
    maxErrorAbs: maxAbs,
    firstMismatch: first,
    maxErrorPerStep: null,
    passed: failing === 0,
  };
}
