import type { Node, Value } from '../ir/graph.js';
import type { RoundingMode } from '../quant/rounding.js';

export type { RoundingMode };

/** The 11 activation quantizers of a Brevitas QuantLSTM cell, in the order of its inputs. */
export const QUANTIZER_NAMES = [
  'output',
  'cell_state',
  'input_acc',
  'forget_acc',
  'cell_acc',
  'output_acc',
  'input_sigmoid',
  'forget_sigmoid',
  'cell_tanh',
  'output_sigmoid',
  'hidden_state_tanh',
] as const;
export type QuantizerName = (typeof QUANTIZER_NAMES)[number];

export const GATES = ['input', 'forget', 'cell', 'output'] as const;
export type Gate = (typeof GATES)[number];

/** Which quantizer follows each gate's accumulation, and which its activation. */
export const GATE_QUANTIZERS: Record<Gate, { acc: QuantizerName; activation: QuantizerName }> = {
  input: { acc: 'input_acc', activation: 'input_sigmoid' },
  forget: { acc: 'forget_acc', activation: 'forget_sigmoid' },
  cell: { acc: 'cell_acc', activation: 'cell_tanh' },
  output: { acc: 'output_acc', activation: 'output_sigmoid' },
};

/**
 * A per-tensor quantizer: v -> (clamp(round_mode(v / scale + zeroPoint), min, max) - zeroPoint)
 * * scale, in float32 (Brevitas' IntQuant; the zero point is added before rounding).
 */
export interface Quantizer {
  scale: number;
  zeroPoint: number;
  bitWidth: number;
  signed: boolean;
  narrow: boolean;
  rounding: RoundingMode;
  /** the integer range [min, max] that bitWidth, signed and narrow give */
  min: number;
  max: number;
}

/** How a weight was stored in the export, for reports; the values are already dequantized. */
export type WeightSummary =
  | { kind: 'integer'; bits: number; signed: boolean; narrow: boolean; granularity: 'per-tensor' | 'per-channel' }
  | { kind: 'float' };

/** A weight matrix [rows, cols] as the float32 values Brevitas multiplies with. */
export interface CellWeight {
  rows: number;
  cols: number;
  /** row-major, each element (q - zero point) * scale in float32, or the float initializer; a view into its WeightStack */
  values: Float32Array;
  summary: WeightSummary;
  /** the constant the weight came from, for naming what replaces it */
  sourceName: string;
}

/**
 * One kind of a cell's weights (input or recurrent), every gate's matrix stacked by rows in
 * `order`: the gates a fused Scan computes first (input, forget, cell, output; CIFG: input,
 * cell, output), then any it does not use. The per-gate CellWeights are views into `values`,
 * so the weights are held once, and the builder writes them out without copying.
 */
export interface WeightStack {
  order: Gate[];
  /** rows of one gate (the hidden size) */
  rows: number;
  cols: number;
  values: Float32Array;
}

export type Flavour = 'qcdq' | 'qcdq-int' | 'qonnx';

export type InitialState =
  /** the export's traced zeros: any batch size can start from zeros */
  | { kind: 'zeros'; value: Value }
  /** a graph value (input or computed) or non-zero constant, used as it is */
  | { kind: 'value'; value: Value };

/** Everything qlstm needs to rebuild one QuantLSTMCell, read from the graph around it. */
export interface CellDescription {
  node: Node;
  /** position among the model's cells, in graph order */
  index: number;
  flavour: Flavour;
  inputSize: number;
  hiddenSize: number;
  batchFirst: boolean;
  reverse: boolean;
  cifg: boolean;
  input: Value;
  initialHidden: InitialState;
  initialCell: InitialState;
  inputWeights: Record<Gate, CellWeight>;
  recurrentWeights: Record<Gate, CellWeight>;
  inputStack: WeightStack;
  recurrentStack: WeightStack;
  /** null when the cell has no bias */
  biases: Record<Gate, Float32Array> | null;
  quantizers: Record<QuantizerName, Quantizer>;
  /** all hidden states, last hidden state, last cell state */
  outputs: [Value, Value, Value];
}
