import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import type { CellWeight, WeightStack } from '../recognize/description.js';

/**
 * The first `gates` gates of a weight stack as one float32 constant [gates x H, cols], written
 * from the stack's own buffer without a copy. A constant GEMM operand is what onnxruntime
 * pre-packs, and its packed kernel adds the products in the order PyTorch's does
 * (docs/design.md).
 */
export function stackedWeights(tape: Tape, label: string, stack: WeightStack, gates: number): Value {
  const rows = gates * stack.rows;
  return tape.constant(label, Tensor.float32([rows, stack.cols], stack.values.subarray(0, rows * stack.cols)));
}

/** One gate's weight matrix [H, cols] as a float32 constant (a view, not a copy). */
export function gateWeights(tape: Tape, label: string, weight: CellWeight): Value {
  return tape.constant(label, Tensor.float32([weight.rows, weight.cols], weight.values));
}

/** Biases of several gates side by side: [sum H]. */
export function stackedBias(tape: Tape, label: string, parts: readonly Float32Array[]): Value {
  const values = new Float32Array(parts.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of parts) {
    values.set(b, offset);
    offset += b.length;
  }
  return tape.constant(label, Tensor.float32([values.length], values));
}
