import type { Layout } from './scan/scan.js';
import type { CellDescription, QuantizerName, WeightSummary } from './recognize/description.js';

/** A cell as plain JSON: what `convert --json`, `inspect` and the model metadata report. */
export interface CellSummary {
  name: string;
  flavour: CellDescription['flavour'];
  inputSize: number;
  hiddenSize: number;
  direction: 'forward' | 'reverse';
  batchFirst: boolean;
  cifg: boolean;
  bias: boolean;
  initialState: 'zeros' | 'input';
  weights: WeightSummary;
  quantizers: Record<QuantizerName, QuantizerSummary>;
  /** names of the cell's output values: all hidden states, last hidden state, last cell state */
  outputs: [string, string, string];
  layout?: Layout;
}

export interface QuantizerSummary {
  scale: number;
  zeroPoint: number;
  bits: number;
  signed: boolean;
  narrow: boolean;
  rounding: string;
}
