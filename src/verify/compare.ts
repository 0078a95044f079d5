import type { NdArray } from '../run/npy.js';

/** How to read one output: the size of its LSB and what its axes mean, when known. */
export interface OutputMeaning {
  /** one LSB of the quantizer that produced the output; null for float outputs */
  lsb: number | null;
  /** names of the axes, e.g. ['time', 'batch', 'unit'], when known */
  axes: string[] | null;
}

export interface Tolerance {
  lsb: number;
  abs: number;
}

export interface Mismatch {
  index: number[];
  axes: string[] | null;
  got: number;
  expected: number;
  errorLsb: number | null;
  errorAbs: number;
}

export interface OutputReport {
  name: string;
  shape: number[];
  expectedShape: number[];
  elements: number;
  exact: number;
  percentExact: number;
  lsb: number | null;
  maxErrorLsb: number | null;
  maxErrorAbs: number;
  /** first element outside the tolerance, or the first inexact one when all are within it */
  firstMismatch: Mismatch | null;
  /** largest error (in LSB, or absolute for float outputs) at each step along the time axis */
  maxErrorPerStep: number[] | null;
  passed: boolean;
}

/**
 * Compares two arrays element by element. An element passes when it is equal, or within
 * `tolerance.lsb` LSB (quantized outputs) or `tolerance.abs` (float outputs, or any output).
 * NaN only ever equals NaN; a shape mismatch fails the whole output.
 */
export function compareOutput(name: string, got: NdArray, expected: NdArray, meaning: OutputMeaning, tolerance: Tolerance): OutputReport {
  const elements = expected.data.length;
  const sameShape = got.shape.length === expected.shape.length && got.shape.every((d, i) => d === expected.shape[i]);
  const timeAxis = meaning.axes?.indexOf('time') ?? -1;
  const perStep = sameShape && timeAxis >= 0 ? new Array<number>(expected.shape[timeAxis]!).fill(0) : null;
  let exact = 0;
  let maxLsb = 0;
  let maxAbs = 0;
  let firstOutside: number | undefined;
  let firstInexact: number | undefined;
  const n = sameShape ? elements : 0;
  for (let i = 0; i < n; i++) {
    const g = got.data[i]!;
    const e = expected.data[i]!;
    const equal = g === e || (Number.isNaN(g) && Number.isNaN(e));
    if (equal) {
      exact++;
      continue;
    }
    firstInexact ??= i;
    const abs = Math.abs(g - e);
    const lsb = meaning.lsb ? abs / meaning.lsb : null;
    const measure = Number.isNaN(abs) ? Infinity : abs;
    maxAbs = Math.max(maxAbs, measure);
    if (lsb !== null) maxLsb = Math.max(maxLsb, Number.isNaN(lsb) ? Infinity : lsb);
    const within = (lsb !== null && lsb <= tolerance.lsb) || abs <= tolerance.abs;
    if (!within) firstOutside ??= i;
    if (perStep) {
      const t = unravel(i, expected.shape)[timeAxis]!;
      perStep[t] = Math.max(perStep[t]!, lsb ?? measure);
    }
  }
  const reported = firstOutside ?? firstInexact;
  return {
    name,
    shape: got.shape,
    expectedShape: expected.shape,
    elements,
    exact,
    percentExact: elements ? (100 * exact) / elements : 100,
    lsb: meaning.lsb,
    maxErrorLsb: meaning.lsb ? maxLsb : null,
    maxErrorAbs: maxAbs,
    firstMismatch:
      reported === undefined
        ? null
        : {
            index: unravel(reported, expected.shape),
            axes: meaning.axes,
            got: got.data[reported]!,
            expected: expected.data[reported]!,
            errorLsb: meaning.lsb ? Math.abs(got.data[reported]! - expected.data[reported]!) / meaning.lsb : null,
            errorAbs: Math.abs(got.data[reported]! - expected.data[reported]!),
          },
    maxErrorPerStep: perStep,
    passed: sameShape && firstOutside === undefined,
  };
}

export function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = flat % shape[axis]!;
    flat = Math.floor(flat / shape[axis]!);
  }
  return index;
}
