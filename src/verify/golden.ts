import { InputError, UsageError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { decodeModelProto } from '../onnx/codec.js';
import { exportModel } from '../onnx/export.js';
import { importModel } from '../onnx/import.js';
import type { NdArray } from '../run/npy.js';
import type { OptimizationLevel } from '../run/session.js';
import type { TrajectoryReport } from '../reference/types.js';
import { type CellShape, absError, elementReport, hiddenPosition, onGrid, placeOf, sameValue } from './elements.js';
import { checkGoldenOrder, checkGoldenShapes, floatOutputMistake } from './mistakes.js';
import { readCellsMetadata, type DescribedCell } from './metadata.js';
import { mapOutputsToCells, type ElementMap } from './output-map.js';
import { exposeValues } from './probe.js';
import { silent, type Progress } from './progress.js';
import { levelReport, type CellCheck, type ElementReport, type LevelReport, type OutputReport, type TieSample, type VerifyReport } from './report.js';
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

const TIE_SAMPLES = 5;

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
  if (model.graph.nodes.some((n) => n.opType === 'QuantLSTMCell')) {
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

  const running = cloneForRun(model);
  const boundaryNames = cells.flatMap(({ boundary: b }) => [b.input, b.initialHidden, b.initialCell, ...b.outputs].filter((n): n is string => n !== null));
  const missing = exposeValues(running, boundaryNames);
  if (missing.length) {
    throw new InputError(`metadata "qlstm.cells" names value "${missing[0]}", which the model does not compute`, { file: model.source });
  }
  const bytes = exportModel(running);
  const feeds = feedsFor(running, check.inputs);
  const cache = new TrajectoryCache();
  let maps: Map<string, ElementMap> | null = null;
  let golden: GoldenCells | null = null;
  const levels: LevelReport[] = [];

  for (const level of check.levels) {
    progress(`level ${level}: running the model`);
    const run = await runRepeatedly(bytes, level, feeds, model.source, (r) => progress(`level ${level}: run ${r} of ${RUNS_PER_SESSION}`));
    const got = run.outputs;
    if (levels.length === 0) {
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
    if (levels.length === 0) {
      checkGoldenOrder(names, comparisons.map((c) => c.failing > 0), check.expected, got, check.expectedLabels);
      for (const c of comparisons) {
        if (c.floatFailures && !hasAbsTolerance(tolerance, c.name) && cells.length) floatOutputMistake(c.name, c.maxFloatError);
      }
    }
    // tie analysis: only for cells with differences that need it
    const needed = new Set(comparisons.flatMap((c) => [...c.pending.keys()]));
    const cellChecks: CellCheck[] = [];
    const verdicts = new Map<number, { consistent: boolean; golden: TrajectoryReport; model: TrajectoryReport }>();
    for (const k of [...needed].sort((a, b) => a - b)) {
      const cell = cells[k]!;
      const follow = (who: string, hidden: NdArray, lastCell: Float32Array | undefined) => {
        const input = trajectoryInput(cell.cell, cell.boundary, got, hidden, lastCell, model.source);
        return cache.follow(cell.cell, input, (done, total) => progress(`level ${level}: cell ${cell.cell.name}: following the ${who} hidden states`, done, total));
      };
      const modelReport = follow('model\'s', got[cell.boundary.outputs[0]]!, got[cell.boundary.outputs[2]]!.data);
      const g = golden!.cells[k]!;
      const goldenReport = follow('goldens\'', g.hidden, g.lastCell);
      const ofModel = cellCheck(cell.cell.name, 'model', modelReport);
      const ofGoldens = cellCheck(cell.cell.name, 'goldens', goldenReport);
      cellChecks.push(ofModel, ofGoldens);
      verdicts.set(k, { consistent: ofModel.consistent && ofGoldens.consistent, golden: goldenReport, model: modelReport });
    }
    const outputs = comparisons.map((c) => finishOutput(c, verdicts, cells, shapes, got, golden));
    levels.push(levelReport(level, RUNS_PER_SESSION, run.disagreements, outputs, cellChecks));
  }

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
    ...reportHeader('golden', model.source, strict, toleranceJson(tolerance)),
    levels,
    checked,
    notChecked,
    passed: levels.every((l) => l.passed),
  };
}

function cloneForRun(model: Model): Model {
  // exposing values edits the graph: the caller's model stays as it was
  return importModel(decodeModelProto(exportModel(model), model.source), model.source);
}

function feedsFor(model: Model, inputs: Map<string, NdArray>): Record<string, NdArray> {
  const initializers = new Set(model.graph.initializers);
  const real = model.graph.inputs.filter((v) => !initializers.has(v)).map((v) => v.name);
  const missing = real.filter((n) => !inputs.has(n));
  if (missing.length) throw new InputError(`no input array given for ${missing.join(', ')}`, { file: model.source });
  return Object.fromEntries(real.map((n) => [n, inputs.get(n)!]));
}

export function cellShape(c: DescribedCell, got: Record<string, NdArray>): CellShape {
  const x = got[c.boundary.input]!;
  const [steps, batch] = c.cell.batchFirst ? [x.shape[1] ?? 0, x.shape[0] ?? 0] : [x.shape[0] ?? 0, x.shape[1] ?? 0];
  return { steps, batch, hidden: c.cell.hiddenSize, batchFirst: c.cell.batchFirst };
}

/** The goldens laid out as each cell's outputs, for cells whose hidden states are all among them. */
interface GoldenCells {
  cells: ({ hidden: NdArray; lastCell: Float32Array | undefined } | null)[];
}

function goldenCells(cells: readonly DescribedCell[], maps: Map<string, ElementMap>, expected: Map<string, NdArray>, got: Record<string, NdArray>): GoldenCells {
  const assembled = cells.map((c) => c.boundary.outputs.map((n) => ({ data: new Float32Array(got[n]!.data.length), seen: new Uint8Array(got[n]!.data.length) })));
  const conflicting = new Set<number>();
  for (const [name, map] of maps) {
    const values = expected.get(name)!.data;
    for (let e = 0; e < map.cell.length; e++) {
      const k = map.cell[e]!;
      if (k < 0) continue;
      const target = assembled[k]![map.which[e]!]!;
      const p = map.position[e]!;
      if (target.seen[p] && !sameValue(target.data[p]!, values[e]!)) conflicting.add(k);
      target.data[p] = values[e]!;
      target.seen[p] = 1;
    }
  }
  return {
    cells: cells.map((c, k) => {
      const [hidden, last, cell] = assembled[k]!;
      if (conflicting.has(k) || hidden!.seen.includes(0)) return null;
      // the expected last hidden state must be the expected hidden states' last step
      const shape = cellShape(c, got);
      const finalStep = c.cell.reverse ? 0 : shape.steps - 1;
      for (let p = 0; p < last!.seen.length; p++) {
        if (!last!.seen[p]) continue;
        const { batch, unit } = placeOf(shape, 1, p);
        if (!sameValue(last!.data[p]!, hidden!.data[hiddenPosition(shape, finalStep, batch, unit)]!)) return null;
      }
      return {
        hidden: { shape: got[c.boundary.outputs[0]]!.shape, data: hidden!.data },
        lastCell: cell!.seen.includes(0) ? undefined : cell!.data,
      };
    }),
  };
}

/** One output's element-by-element comparison, before tie analysis settles what is pending. */
interface Comparison {
  name: string;
  got: NdArray;
  expected: NdArray;
  map: ElementMap | null;
  lsb: number | null;
  tolerance: { lsb: number; abs: number };
  analysis: string;
  exact: number;
  differing: number;
  withinTolerance: number;
  /** differing elements outside the tolerance, not (yet) explained */
  failing: number;
  direct: { count: number; first: ElementReport | null };
  /** differing elements waiting for their cell's tie analysis, by cell */
  pending: Map<number, number>;
  firstPending: Map<number, number>;
  floatFailures: number;
  maxFloatError: number;
  maxErrorLsb: number | null;
  maxErrorAbs: number;
  firstMismatch: ElementReport | null;
  maxErrorPerStep: number[] | null;
}

function compareElements(
  name: string,
  got: NdArray,
  expected: NdArray,
  map: ElementMap | null,
  cells: readonly DescribedCell[],
  shapes: readonly CellShape[],
  golden: GoldenCells | null,
  tolerance: { lsb: number; abs: number },
  strict: boolean,
): Comparison {
  const lsbOf = (e: number): number | null => {
    if (!map || map.cell[e]! < 0) return null;
    const c = cells[map.cell[e]!]!;
    return map.which[e] === 2 ? c.cellStateLsb : c.outputLsb;
  };
  const quantizerOf = (e: number) => {
    const c = cells[map!.cell[e]!]!;
    return map!.which[e] === 2 ? c.cell.cellState : c.cell.outputQuant;
  };
  const placeAt = (e: number) => (map && map.cell[e]! >= 0 ? placeOf(shapes[map.cell[e]!]!, map.which[e]!, map.position[e]!) : null);
  const lsbs = map ? [...new Set(Array.from(map.cell, (_, e) => lsbOf(e)))] : [null];
  const outputLsb = lsbs.includes(null) ? null : Math.min(...(lsbs as number[]));
  const hasSteps = Boolean(map && map.cell.length && map.cell.every((k, e) => k >= 0 && map.which[e] === 0));
  const steps = hasSteps ? Math.max(...shapes.map((s) => s.steps)) : 0;
  const perStep = hasSteps ? new Array<number>(steps).fill(0) : null;
  const c: Comparison = {
    name, got, expected, map, lsb: outputLsb, tolerance,
    analysis: '',
    exact: 0, differing: 0, withinTolerance: 0, failing: 0,
    direct: { count: 0, first: null },
    pending: new Map(), firstPending: new Map(),
    floatFailures: 0, maxFloatError: 0,
    maxErrorLsb: outputLsb === null ? null : 0, maxErrorAbs: 0,
    firstMismatch: null, maxErrorPerStep: perStep,
  };
  const unexplained = (e: number, g: number, x: number, lsb: number | null, reason?: string) => {
    c.failing++;
    c.direct.count++;
    c.direct.first ??= elementReport(e, expected.shape, placeAt(e), g, x, lsb, reason ? { reason } : {});
  };
  for (let e = 0; e < expected.data.length; e++) {
    const g = got.data[e]!;
    const x = expected.data[e]!;
    const lsb = lsbOf(e);
    const q = lsb === null ? null : quantizerOf(e);
    const offGrid = q === null ? null : !onGrid(g, q) ? 'the model\'s value' : !onGrid(x, q) ? 'the expected value' : null;
    const equal = sameValue(g, x);
    if (equal) c.exact++;
    else {
      c.differing++;
      const place = placeAt(e);
      c.firstMismatch ??= elementReport(e, expected.shape, place, g, x, lsb);
      const abs = absError(g, x);
      const inLsb = lsbError(g, x, q, offGrid === null, abs);
      c.maxErrorAbs = Math.max(c.maxErrorAbs, abs);
      if (inLsb !== null) c.maxErrorLsb = Math.max(c.maxErrorLsb ?? 0, inLsb);
      if (perStep && place && place.step !== null) perStep[place.step] = Math.max(perStep[place.step]!, inLsb ?? abs);
    }
    if (offGrid) {
      unexplained(e, g, x, lsb, `${offGrid} is not on the grid of the quantizer that computes it (scale ${q!.scale}, zero point ${q!.zeroPoint})`);
      continue;
    }
    if (equal) continue;
    const abs = absError(g, x);
    const inLsb = lsbError(g, x, q, true, abs);
    if (strict) {
      unexplained(e, g, x, lsb, 'differs (--strict demands bit equality)');
    } else if ((inLsb !== null && inLsb <= tolerance.lsb) || abs <= tolerance.abs) {
      c.withinTolerance++;
    } else if (map && map.cell[e]! >= 0 && golden?.cells[map.cell[e]!]) {
      const k = map.cell[e]!;
      c.failing++;
      c.pending.set(k, (c.pending.get(k) ?? 0) + 1);
      if (!c.firstPending.has(k)) c.firstPending.set(k, e);
    } else if (map && map.cell[e]! >= 0) {
      unexplained(e, g, x, lsb, 'its cell\'s hidden states are not among the outputs compared, so ties cannot be certified');
    } else {
      if (map) {
        c.floatFailures++;
        c.maxFloatError = Math.max(c.maxFloatError, abs);
      }
      unexplained(e, g, x, lsb);
    }
  }
  if (map && map.cell.length && Array.from(map.cell).every((k) => k < 0)) c.maxFloatError = Math.max(c.maxFloatError, c.maxErrorAbs);
  c.analysis = strict
    ? 'strict: bit equality'
    : !map
      ? 'compared directly (no tie analysis)'
      : outputLsb === null
        ? 'float output: compared directly'
        : Array.from(map.cell).every((k) => golden?.cells[k])
          ? 'differences judged by tie analysis of the cell(s)'
          : Array.from(map.cell).some((k) => golden?.cells[k])
            ? 'differences judged by tie analysis where the cell\'s hidden states are among the outputs compared, directly elsewhere'
            : 'compared directly: the cell\'s hidden states are not among the outputs compared';
  return c;
}

/** Codes apart, for two values on the quantizer's grid; else the distance over the scale. */
function lsbError(g: number, x: number, q: { scale: number } | null, onTheGrid: boolean, abs: number): number | null {
  if (q === null) return null;
  return onTheGrid ? Math.abs(Math.round(g / q.scale) - Math.round(x / q.scale)) : abs / q.scale;
}

function finishOutput(
  c: Comparison,
  verdicts: Map<number, { consistent: boolean; golden: TrajectoryReport; model: TrajectoryReport }>,
  cells: readonly DescribedCell[],
  shapes: readonly CellShape[],
  got: Record<string, NdArray>,
  golden: GoldenCells | null,
): OutputReport {
  let unexplained = c.direct.count;
  let first: ElementReport | null = null;
  let ties = 0;
  const samples: TieSample[] = [];
  for (const [k, count] of c.pending) {
    const v = verdicts.get(k)!;
    const name = cells[k]!.cell.name;
    if (v.consistent) {
      ties += v.golden.ties;
      for (const s of v.golden.tieSamples) if (samples.length < TIE_SAMPLES) samples.push({ ...s, cell: name });
      c.failing -= count;
      continue;
    }
    unexplained += count;
    if (first) continue;
    const fromGoldens = v.golden.unexplainedSamples[0];
    const sample = fromGoldens ?? v.model.unexplainedSamples[0];
    const shape = shapes[k]!;
    const lsb = cells[k]!.outputLsb;
    if (sample && sample.what === 'hidden state') {
      const p = hiddenPosition(shape, sample.step, sample.batch, sample.unit);
      const model = got[cells[k]!.boundary.outputs[0]]!.data[p]!;
      const expected = golden!.cells[k]!.hidden.data[p]!;
      const flat = c.map ? indexOf(c.map, k, 0, p) : null;
      first = elementReport(flat, c.expected.shape, { step: sample.step, batch: sample.batch, unit: sample.unit }, model, expected, lsb, {
        candidates: sample.candidates,
        reason: fromGoldens ? 'the expected value is none the cell gives at this step, even allowing certified ties' : 'the model\'s value is none the cell gives at this step, even allowing certified ties',
      });
    } else {
      const e = c.firstPending.get(k)!;
      first = elementReport(e, c.expected.shape, c.map ? placeOf(shape, c.map.which[e]!, c.map.position[e]!) : null, c.got.data[e]!, c.expected.data[e]!, lsb, {
        ...(sample ? { candidates: sample.candidates } : {}),
        reason: 'the last cell state is none the cell gives, even allowing certified ties',
      });
    }
  }
  first ??= c.direct.first;
  const elements = c.expected.data.length;
  return {
    name: c.name,
    kind: 'graph output',
    shape: c.got.shape,
    expectedShape: c.expected.shape,
    elements,
    exact: c.exact,
    percentExact: elements ? (100 * c.exact) / elements : 100,
    lsb: c.lsb,
    tolerance: c.tolerance,
    analysis: c.analysis,
    differing: c.differing,
    withinTolerance: c.withinTolerance,
    ties: { count: ties, samples },
    unexplained: { count: unexplained, first },
    maxErrorLsb: c.maxErrorLsb,
    maxErrorAbs: c.maxErrorAbs,
    firstMismatch: c.firstMismatch,
    maxErrorPerStep: c.maxErrorPerStep,
    passed: c.failing === 0 && unexplained === 0,
  };
}

function indexOf(map: ElementMap, cell: number, which: number, position: number): number | null {
  for (let e = 0; e < map.cell.length; e++) if (map.cell[e] === cell && map.which[e] === which && map.position[e] === position) return e;
  return null;
}
