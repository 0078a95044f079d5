import type { ReferenceQuantizer } from '../reference/types.js';
import type { ElementReport } from './report.js';

/** Where a cell output element sits: time step (hidden states only), batch and unit. */
export interface CellPlace {
  step: number | null;
  batch: number;
  unit: number;
}

/** Sizes of one cell's outputs in a run, and its layout. */
export interface CellShape {
  steps: number;
  batch: number;
  hidden: number;
  batchFirst: boolean;
}

/** Flat position in cell output `which` ([T,B,H] or [B,T,H]; [B,H]) -> time, batch, unit. */
export function placeOf(shape: CellShape, which: number, position: number): CellPlace {
  const unit = position % shape.hidden;
  const row = Math.floor(position / shape.hidden);
  if (which !== 0) return { step: null, batch: row, unit };
  return shape.batchFirst
    ? { step: row % shape.steps, batch: Math.floor(row / shape.steps), unit }
    : { step: Math.floor(row / shape.batch), batch: row % shape.batch, unit };
}

/** Time, batch, unit -> flat position in the hidden states as the model lays them out. */
export function hiddenPosition(shape: CellShape, step: number, batch: number, unit: number): number {
  return shape.batchFirst ? (batch * shape.steps + step) * shape.hidden + unit : (step * shape.batch + batch) * shape.hidden + unit;
}

/**
 * Whether v is a value quantizer q can output: fround((n - zp) * scale) for an integer n
 * in [min, max]. Neighbouring codes give distinct float32 values, so only the nearest
 * code to v / scale + zp can produce v.
 */
export function onGrid(v: number, q: Pick<ReferenceQuantizer, 'scale' | 'zeroPoint' | 'min' | 'max'>): boolean {
  if (!Number.isFinite(v)) return false;
  const n = Math.round(v / q.scale) + q.zeroPoint;
  return n >= q.min && n <= q.max && Math.fround((n - q.zeroPoint) * q.scale) === v;
}

export function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = flat % shape[axis]!;
    flat = Math.floor(flat / shape[axis]!);
  }
  return index;
}

export function elementReport(
  flat: number | null,
  shape: readonly number[],
  place: CellPlace | null,
  got: number,
  expected: number | null,
  lsb: number | null,
  extra: Partial<Pick<ElementReport, 'candidates' | 'reason'>> = {},
): ElementReport {
  const errorAbs = expected === null ? null : absError(got, expected);
  return {
    index: flat === null ? [] : unravel(flat, shape),
    step: place?.step ?? null,
    batch: place?.batch ?? null,
    unit: place?.unit ?? null,
    got,
    expected,
    errorLsb: errorAbs === null || lsb === null || expected === null ? null : codesApart(got, expected, lsb, errorAbs),
    errorAbs,
    ...extra,
  };
}

/** Whole codes apart when both values sit on multiples of the LSB, else the distance in LSB. */
function codesApart(a: number, b: number, lsb: number, abs: number): number {
  const [p, q] = [a / lsb, b / lsb];
  const onCodes = Math.abs(p - Math.round(p)) < 1e-3 && Math.abs(q - Math.round(q)) < 1e-3;
  return onCodes ? Math.abs(Math.round(p) - Math.round(q)) : abs / lsb;
}

/** |a - b|, with NaN against a number as infinitely far. */
export function absError(a: number, b: number): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  const d = Math.abs(a - b);
  return Number.isNaN(d) ? Infinity : d;
}

export function sameValue(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** "time 3, batch 0, unit 7: got 0.5, expected 0.25 (1 LSB)", for reports. */
export function describeElement(e: ElementReport): string {
  const where =
    e.batch !== null
      ? [e.step !== null ? `time ${e.step}` : null, `batch ${e.batch}`, `unit ${e.unit}`].filter(Boolean).join(', ')
      : e.index.length
        ? `[${e.index.join(', ')}]`
        : 'element';
  const size = e.errorLsb !== null ? `${formatNumber(e.errorLsb)} LSB` : e.errorAbs !== null ? formatNumber(e.errorAbs) : null;
  const expected = e.expected === null ? '' : `, expected ${e.expected}`;
  const candidates = e.candidates && e.candidates.length > 1 ? ` (the cell allows ${e.candidates.join(' or ')})` : '';
  return `${where}: got ${e.got}${expected}${size ? ` (${size})` : ''}${candidates}${e.reason ? `; ${e.reason}` : ''}`;
}

export function formatNumber(n: number | null): string {
  if (n === null) return '-';
  if (n === Infinity) return 'inf';
  return Number.isInteger(n) ? String(n) : n.toPrecision(3);
}
