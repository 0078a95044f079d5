import type { NdArray } from '../run/npy.js';
import type { TrajectoryReport } from '../reference/types.js';
import { absError, elementReport, hiddenPosition, onGrid, placeOf, sameValue, type CellShape } from './elements.js';
import type { GoldenCells } from './golden-cells.js';
import type { DescribedCell } from './metadata.js';
import type { ElementMap } from './output-map.js';
import { TIE_SAMPLES, type ElementReport, type OutputReport, type TieSample } from './report.js';


/** One output's element-by-element comparison, before tie analysis settles what is pending. */
export interface Comparison {
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

export function compareElements(
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
    const abs = equal ? 0 : absError(g, x);
    const inLsb = equal ? null : lsbError(g, x, q, offGrid === null, abs);
    if (!equal) {
      c.differing++;
      const place = placeAt(e);
      c.firstMismatch ??= elementReport(e, expected.shape, place, g, x, lsb);
      c.maxErrorAbs = Math.max(c.maxErrorAbs, abs);
      if (inLsb !== null) c.maxErrorLsb = Math.max(c.maxErrorLsb ?? 0, inLsb);
      if (perStep && place && place.step !== null) perStep[place.step] = Math.max(perStep[place.step]!, inLsb ?? abs);
    }
    if (offGrid) {
      unexplained(e, g, x, lsb, `${offGrid} is not on the grid of the quantizer that computes it (scale ${q!.scale}, zero point ${q!.zeroPoint})`);
      continue;
    }
    if (equal) continue;
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
  if (map && map.cell.length && map.cell.every((k) => k < 0)) c.maxFloatError = Math.max(c.maxFloatError, c.maxErrorAbs);
  c.analysis = strict
    ? 'strict: bit equality'
    : !map
      ? 'compared directly (no tie analysis)'
      : outputLsb === null
        ? 'float output: compared directly'
        : map.cell.every((k) => Boolean(golden?.cells[k]))
          ? 'differences judged by tie analysis of the cell(s)'
          : map.cell.some((k) => Boolean(golden?.cells[k]))
            ? 'differences judged by tie analysis where the cell\'s hidden states are among the outputs compared, directly elsewhere'
            : 'compared directly: the cell\'s hidden states are not among the outputs compared';
  return c;
}

/** Codes apart, for two values on the quantizer's grid; else the distance over the scale. */
function lsbError(g: number, x: number, q: { scale: number } | null, onTheGrid: boolean, abs: number): number | null {
  if (q === null) return null;
  return onTheGrid ? Math.abs(Math.round(g / q.scale) - Math.round(x / q.scale)) : abs / q.scale;
}

export function finishOutput(
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
      // Both trajectories may take ties: the goldens' (PyTorch's order) and the model's (onnxruntime's).
      ties += v.golden.ties + v.model.ties;
      samples.push(...v.golden.tieSamples.map((s) => ({ ...s, cell: name, takenBy: 'goldens' as const })));
      samples.push(...v.model.tieSamples.map((s) => ({ ...s, cell: name, takenBy: 'model' as const })));
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
    ties: { count: ties, samples: samples.sort((a, b) => a.step - b.step || a.batch - b.batch || a.unit - b.unit).slice(0, TIE_SAMPLES) },
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

