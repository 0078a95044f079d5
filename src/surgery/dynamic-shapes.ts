import type { Value } from '../ir/graph.js';
import type { Dim } from '../ir/type-info.js';
import type { AxisNames } from '../recognize/sequence-axes.js';

/**
 * Declares the sequence (and batch) axes found before the conversion symbolic, so the converted
 * model accepts any sequence length and batch.
 */
export function relaxSequenceShapes(axes: Map<Value, AxisNames>): void {
  for (const [value, names] of axes) relax(value, names);
}

function relax(value: Value, axes: AxisNames): void {
  const type = value.info.type;
  if (!type || type.kind !== 'tensor' || !type.shape) return;
  const shape: Dim[] = type.shape.map((dim, axis) => (axes.has(axis) ? { param: axes.get(axis)! } : dim));
  value.info = { ...value.info, type: { ...type, shape } };
}
