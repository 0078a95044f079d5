import type { Layout } from './scan/scan.js';
import type { CellSummary, QuantizerSummary } from './cell-summary.js';
import type { Model } from './ir/model.js';
import { CELLS_METADATA_KEY, parseCellsMetadata } from './metadata.js';
import { recognizeCells } from './recognize/cell.js';
import type { CellDescription, CellWeight, Quantizer, WeightSummary } from './recognize/description.js';
import { GATES, QUANTIZER_NAMES } from './recognize/description.js';

export type { CellSummary, QuantizerSummary } from './cell-summary.js';

export function summarizeQuantizer(q: Quantizer): QuantizerSummary {
  return { scale: q.scale, zeroPoint: q.zeroPoint, bits: q.bitWidth, signed: q.signed, narrow: q.narrow, rounding: q.rounding };
}

/** The weights' storage across all gates: the widest bit width, per-channel if any gate is. */
function weightSummary(weights: CellWeight[]): WeightSummary {
  const integer = weights.map((w) => w.summary).filter((s) => s.kind === 'integer');
  if (integer.length !== weights.length || integer.length === 0) return { kind: 'float' };
  return {
    kind: 'integer',
    bits: Math.max(...integer.map((s) => s.bits)),
    signed: integer[0]!.signed,
    narrow: integer.every((s) => s.narrow),
    granularity: integer.some((s) => s.granularity === 'per-channel') ? 'per-channel' : 'per-tensor',
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

export { CELLS_METADATA_KEY };

/**
 * The cells of a model: recorded in its metadata when qlstm converted it (checked field by
 * field), else recognised from its QuantLSTMCell nodes. `converted` says which.
 */
export function cellSummariesOf(model: Model): { cells: CellSummary[]; converted: boolean } {
  const recorded = model.metadata(CELLS_METADATA_KEY);
  if (recorded === undefined) return { cells: recognizeCells(model).map((c) => summarizeCell(c)), converted: false };
  const cells = parseCellsMetadata(recorded, model.source).cells.map(({ values: _values, parameters: _parameters, ...summary }) => summary);
  return { cells, converted: true };
}

/** "8-bit per-tensor", "4-bit signed narrow per-channel" or "float", for people. */
export function describeWeights(w: WeightSummary, detail = false): string {
  if (w.kind === 'float') return 'float';
  const flags = detail ? `${w.signed ? ' signed' : ' unsigned'}${w.narrow ? ' narrow' : ''}` : '';
  return `${w.bits}-bit${flags} ${w.granularity}`;
}
