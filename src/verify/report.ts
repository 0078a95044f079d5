import type { TieRecord, TrajectoryReport, UnexplainedRecord } from '../reference/types.js';
import type { OptimizationLevel } from '../run/session.js';

/** The JSON report's schema version (docs/notes/verify.md describes it). */
export const REPORT_VERSION = 1;

export interface Tolerance {
  /** accepted difference in LSB of the quantizer that produced the element */
  lsb: number;
  /** accepted absolute difference */
  abs: number;
}

/** One element of an output, by flat index and, when known, by time step, batch and unit. */
export interface ElementReport {
  /** index in the output ([] when the element is not in it) */
  index: number[];
  step: number | null;
  batch: number | null;
  unit: number | null;
  got: number;
  /** the golden value (golden mode) or the reference's nominal value (reference mode) */
  expected: number | null;
  /** reference values that certified ties allow at this element, when a trajectory gave them */
  candidates?: number[];
  errorLsb: number | null;
  errorAbs: number | null;
  /** why it is not explained, when that is not just "differs" */
  reason?: string;
}

export interface TieSample extends TieRecord {
  cell: string;
  /** whose trajectory took the tie the other way: the model's, or the goldens' (golden mode) */
  takenBy?: 'model' | 'goldens';
}

/** How many certified ties a report lists with their place (all are counted). */
export const TIE_SAMPLES = 5;

export interface OutputReport {
  /** graph output name, or "cell: what" for reference mode's cell checks */
  name: string;
  kind: 'graph output' | 'cell input' | 'hidden states' | 'last hidden state' | 'last cell state';
  shape: number[];
  expectedShape: number[];
  elements: number;
  exact: number;
  percentExact: number;
  /** one LSB of the (validated) quantizer behind the output; null for float or unknown outputs */
  lsb: number | null;
  tolerance: Tolerance;
  /** how differences were judged, in words */
  analysis: string;
  differing: number;
  withinTolerance: number;
  ties: { count: number; samples: TieSample[] };
  unexplained: { count: number; first: ElementReport | null };
  maxErrorLsb: number | null;
  maxErrorAbs: number;
  /** first element that differs at all (explained or not) */
  firstMismatch: ElementReport | null;
  /** largest error (LSB, or absolute without an LSB) per time step; null without a time axis */
  maxErrorPerStep: number[] | null;
  passed: boolean;
}

/** One cell's trajectory check: a hidden-state sequence followed through the cell. */
export interface CellCheck extends Omit<TrajectoryReport, 'tieSamples' | 'unexplainedSamples'> {
  cell: string;
  /** whose hidden states were followed */
  followed: 'model' | 'goldens';
  tieSamples: TieSample[];
  unexplainedSamples: (UnexplainedRecord & { cell: string })[];
  consistent: boolean;
}

export interface RunDisagreement {
  /** the run that differed from the first one (2 = the second run of the same session) */
  run: number;
  /** the model that was run */
  model: string;
  output: string;
  elements: number;
}

export interface LevelReport {
  level: OptimizationLevel;
  /** runs of each session at this level */
  runs: number;
  runsAgree: boolean;
  runDisagreements: RunDisagreement[];
  outputs: OutputReport[];
  cells: CellCheck[];
  passed: boolean;
}

export interface VerifyReport {
  version: typeof REPORT_VERSION;
  qlstm: string;
  onnxruntime: string;
  mode: 'golden' | 'reference';
  model: string;
  /** reference mode: the Brevitas export the converted model is checked against */
  original?: string;
  strict: boolean;
  tolerance: Tolerance & { perOutput: Record<string, Partial<Tolerance>> };
  levels: LevelReport[];
  /** what the verdict rests on, in words */
  checked: string[];
  /** what could not be checked, and why */
  notChecked: string[];
  passed: boolean;
}

export function levelReport(
  level: OptimizationLevel,
  runs: number,
  runDisagreements: RunDisagreement[],
  outputs: OutputReport[],
  cells: CellCheck[],
): LevelReport {
  const runsAgree = runDisagreements.length === 0;
  return {
    level,
    runs,
    runsAgree,
    runDisagreements,
    outputs,
    cells,
    passed: runsAgree && outputs.every((o) => o.passed) && cells.every((c) => c.consistent),
  };
}
