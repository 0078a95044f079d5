import type { Layout } from './scan/scan.js';
import { InputError } from './errors.js';
import type { Model } from './ir/model.js';
import { recognizeCells } from './recognize/cell.js';
import type { CellDescription, QuantizedWeight, Quantizer, QuantizerName } from './recognize/description.js';
import { GATES, QUANTIZER_NAMES } from './recognize/description.js';

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
  weights: { bits: number; signed: boolean; narrow: boolean; granularity: 'per-tensor' | 'per-channel' };
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

export function summarizeQuantizer(q: Quantizer): QuantizerSummary {
  return { scale: q.scale, zeroPoint: q.zeroPoint, bits: q.bitWidth, signed: q.signed, narrow: q.narrow, rounding: q.rounding };
}

function weightSummary(weights: QuantizedWeight[]): CellSummary['weights'] {
  const bits = Math.max(...weights.map((w) => w.bitWidth));
  const first = weights[0]!;
  // Narrow range drops the most negative code (signed) or the largest one (unsigned).
  const narrow = first.signed ? weights.every((w) => w.min > -(2 ** (bits - 1))) : weights.every((w) => w.max < 2 ** bits - 1);
  return {
    bits,
    signed: first.signed,
    narrow,
    granularity: weights.some((w) => w.scale.length > 1) ? 'per-channel' : 'per-tensor',
  };
}

export function summarizeCell(cell: CellDescription, layout?: Layout): CellSummary {
  const weights = GATES.flatMap((g) => [cell.inputWeights[g], cell.recurrentWeights[g]]);
  return {
    name: cell.node.name ?? `#${cell.index}`,
    flavour: cell.flavour,
    inputSize: cell.inputSize,
    hiddenSize: cell.hiddenSize,
    direction: cell.reverse ? 'reverse' : 'forward',
    batchFirst: cell.batchFirst,
    cifg: cell.cifg,
    bias: cell.biases !== null,
    initialState: cell.initialHidden.kind === 'zeros' && cell.initialCell.kind === 'zeros' ? 'zeros' : 'input',
    weights: weightSummary(weights),
    quantizers: Object.fromEntries(QUANTIZER_NAMES.map((n) => [n, summarizeQuantizer(cell.quantizers[n])])) as CellSummary['quantizers'],
    outputs: cell.outputs.map((v) => v.name) as [string, string, string],
    ...(layout ? { layout } : {}),
  };
}

/** Model metadata key under which a converted model records its cells (for inspect and verify). */
export const CELLS_METADATA_KEY = 'qlstm.cells';

/**
 * The cells of a model: recorded in its metadata when qlstm converted it, else recognised
 * from its QuantLSTMCell nodes. `converted` says which.
 */
export function cellSummariesOf(model: Model): { cells: CellSummary[]; converted: boolean } {
  const recorded = model.metadata(CELLS_METADATA_KEY);
  if (recorded === undefined) return { cells: recognizeCells(model).map((c) => summarizeCell(c)), converted: false };
  let cells: unknown;
  try {
    cells = JSON.parse(recorded);
  } catch {
    cells = undefined;
  }
  const valid =
    Array.isArray(cells) &&
    cells.every((c) => typeof c === 'object' && c !== null && Array.isArray(c.outputs) && typeof c.quantizers?.output?.scale === 'number');
  if (!valid) throw new InputError(`metadata "${CELLS_METADATA_KEY}" is not what qlstm writes`, { file: model.source });
  return { cells: cells as CellSummary[], converted: true };
}
