/**
 * The reference's public types: a Brevitas QuantLSTM cell as plain data (dequantized float32
 * weights per gate, biases, the 11 quantizers) and the report of following an observed
 * hidden-state sequence through it (docs/design.md section 5).
 */

export type RoundingMode = 'ROUND' | 'HALF_EVEN' | 'CEIL' | 'FLOOR' | 'UP' | 'DOWN' | 'ROUND_TO_ZERO' | 'HALF_UP' | 'HALF_DOWN' | 'DPU';

export type ReferenceQuantizerName =
  | 'output'
  | 'cell_state'
  | 'input_acc'
  | 'forget_acc'
  | 'cell_acc'
  | 'output_acc'
  | 'input_sigmoid'
  | 'forget_sigmoid'
  | 'cell_tanh'
  | 'output_sigmoid'
  | 'hidden_state_tanh';

/** Q(v) = (clamp(rounding(v / scale + zeroPoint), min, max) - zeroPoint) * scale, all float32. */
export interface ReferenceQuantizer {
  scale: number;
  zeroPoint: number;
  min: number;
  max: number;
  rounding: RoundingMode;
}

export interface ReferenceGate {
  /** [H*I], row j = unit j */
  inputWeight: Float32Array;
  /** [H*H] */
  recurrentWeight: Float32Array;
  /** [H] */
  bias: Float32Array | null;
  acc: ReferenceQuantizer;
  activation: ReferenceQuantizer;
}

export interface ReferenceCell {
  name: string;
  inputSize: number;
  hiddenSize: number;
  reverse: boolean;
  batchFirst: boolean;
  cifg: boolean;
  input: ReferenceGate;
  /** null iff cifg */
  forget: ReferenceGate | null;
  cell: ReferenceGate;
  output: ReferenceGate;
  cellState: ReferenceQuantizer;
  hiddenStateTanh: ReferenceQuantizer;
  outputQuant: ReferenceQuantizer;
}

/** Where a cell meets the rest of the graph: value names. */
export interface ReferenceBoundary {
  input: string;
  /** null: the export's traced zeros */
  initialHidden: string | null;
  initialCell: string | null;
  outputs: [string, string, string];
}

export interface TrajectoryInput {
  steps: number;
  batch: number;
  /** [T,B,I] time-first, each step at its own index */
  x: Float32Array;
  /** [B,H] */
  h0: Float32Array;
  /** [B,H] */
  c0: Float32Array;
  /** [T,B,H] time-first, each step at its own index (a reverse cell's step T-1 runs first) */
  observedHidden: Float32Array;
  /** [B,H] */
  observedLastCell?: Float32Array;
}

export interface TieRecord {
  step: number;
  batch: number;
  unit: number;
  quantizer: ReferenceQuantizerName;
  /** nominal, taken */
  codes: [number, number];
  /** exact value's distance from the rounding boundary, in float32 ulps of the quantizer input */
  distanceUlps: number;
}

export interface UnexplainedRecord {
  step: number;
  batch: number;
  unit: number;
  what: 'hidden state' | 'last cell state';
  observed: number;
  candidates: number[];
}

export interface TrajectoryReport {
  /** T*B*H hidden elements */
  elements: number;
  /** elements equal to the exact-arithmetic path */
  nominal: number;
  /** decisions where the trajectory took the non-nominal side of a certified tie */
  ties: number;
  /** first 20 */
  tieSamples: TieRecord[];
  /** hidden elements no candidate produces, plus last-cell elements outside the surviving set */
  unexplained: number;
  /** first 20, in the order the cell runs its steps (time order; a reverse cell's step T-1 first) */
  unexplainedSamples: UnexplainedRecord[];
  lastCell: 'consistent' | 'inconsistent' | 'not observed';
  /**
   * gate values (and hidden-state tanh values) that a certified tie left with more than one
   * possibility, whichever was observed; ties whose sides give the same value are not counted
   */
  certifiedTies: number;
  /** (step, batch, unit) where the set of possible cell states reached its cap and was cut */
  candidateCapHits: number;
}

export const SAMPLE_LIMIT = 20;
