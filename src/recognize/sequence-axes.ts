import type { Value } from '../ir/graph.js';
import type { CellDescription } from './description.js';
import { constantOf } from './constants.js';

export const SEQUENCE_DIM = 'sequence_length';
export const BATCH_DIM = 'batch_size';

/** Ops whose output has input 0's shape, axis for axis (the quantizer chains around a cell). */
export const SHAPE_PRESERVING = new Set(['QuantizeLinear', 'DequantizeLinear', 'Clip', 'Identity', 'Quant']);

/** Axis index -> symbolic name, for one value. */
export type AxisNames = Map<number, string>;

/**
 * The values from each cell's inputs back to the graph inputs whose time axis (and batch
 * axis, when nothing else fixes the batch) a conversion can leave free, with those axes.
 */
export function sequenceAxes(cells: readonly CellDescription[]): Map<Value, AxisNames> {
  const found = new Map<Value, AxisNames>();
  for (const cell of cells) {
    const states = [cell.initialHidden, cell.initialCell];
    const batchIsFree = states.every((s) => s.kind === 'zeros' || !constantOf(s.value));
    const axes: AxisNames = new Map([[cell.batchFirst ? 1 : 0, SEQUENCE_DIM]]);
    if (batchIsFree) axes.set(cell.batchFirst ? 0 : 1, BATCH_DIM);
    traceBack(cell.input, axes, found);
    if (batchIsFree) {
      for (const s of states) if (s.kind === 'value') traceBack(s.value, new Map([[0, BATCH_DIM]]), found);
    }
  }
  return found;
}

function traceBack(start: Value, startAxes: AxisNames, found: Map<Value, AxisNames>): void {
  let value: Value | null = start;
  let axes = startAxes;
  const seen = new Set<Value>();
  while (value && !seen.has(value)) {
    seen.add(value);
    found.set(value, new Map([...(found.get(value) ?? []), ...axes]));
    const producer: Value['producer'] = value.producer;
    if (!producer) return;
    if (SHAPE_PRESERVING.has(producer.opType)) {
      value = producer.input(0);
    } else if (producer.opType === 'Gather' && isScalarGatherOnAxis0(producer)) {
      axes = new Map([...axes].map(([axis, name]) => [axis + 1, name]));
      value = producer.input(0);
    } else {
      return;
    }
    if (value?.constant) return;
  }
}

function isScalarGatherOnAxis0(node: NonNullable<Value['producer']>): boolean {
  const axis = node.attribute('axis')?.value;
  const index = constantOf(node.input(1));
  return (axis === undefined || (axis.kind === 'int' && axis.value === 0n)) && index?.dims.length === 0;
}
