import type { Value } from '../ir/graph.js';
import type { Dim } from '../ir/type-info.js';
import type { CellDescription } from '../recognize/description.js';
import { sequenceAxes, type AxisNames } from '../recognize/sequence-axes.js';

/** Declares those axes symbolic, so the converted model accepts any sequence length and batch. */
export function relaxSequenceShapes(cells: readonly CellDescription[]): void {
  for (const [value, axes] of sequenceAxes(cells)) relax(value, axes);
}

function relax(value: Value, axes: AxisNames): void {
  const type = value.info.type;
  if (!type || type.kind !== 'tensor' || !type.shape) return;
  const shape: Dim[] = type.shape.map((dim, axis) => (axes.has(axis) ? { param: axes.get(axis)! } : dim));
  value.info = { ...value.info, type: { ...type, shape } };
}
