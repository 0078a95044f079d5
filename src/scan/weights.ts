import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import type { CellWeight } from '../recognize/description.js';

/**
 * The weights of several gates stacked by rows into one float32 constant [sum rows, cols], or its
 * transpose [cols, sum rows]. A constant GEMM operand is what onnxruntime pre-packs, and its
 * packed kernel adds the products in the order PyTorch's does (docs/design.md).
 */
export function stackedWeights(tape: Tape, label: string, parts: readonly CellWeight[], transposed = false): Value {
  const cols = parts[0]!.cols;
  const rows = parts.reduce((n, w) => n + w.rows, 0);
  const values = new Float32Array(rows * cols);
  let rowOffset = 0;
  for (const w of parts) {
    for (let r = 0; r < w.rows; r++) {
      for (let c = 0; c < cols; c++) {
        values[transposed ? c * rows + rowOffset + r : (rowOffset + r) * cols + c] = w.values[r * cols + c]!;
      }
    }
    rowOffset += w.rows;
  }
  return tape.constant(label, Tensor.float32(transposed ? [cols, rows] : [rows, cols], values));
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
