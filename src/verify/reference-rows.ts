import type { ReferenceBoundary, ReferenceCell, TrajectoryReport } from '../reference/types.js';
import type { NdArray } from '../run/npy.js';
import { absError, elementReport, hiddenPosition, sameValue, unravel, type CellShape } from './elements.js';
import { TIE_SAMPLES, type OutputReport } from './report.js';


/** Rows for one cell: its hidden states (the trajectory), last hidden state, last cell state. */
export function cellRows(
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
  if (first) hidden.unexplained.first!.index = unravel(hiddenPosition(shape, first.step, first.batch, first.unit), ys!.shape);

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

