import { attr } from '../ir/attribute.js';
import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import type { QuantizedWeight } from '../recognize/description.js';

/**
 * Integer initializer + DequantizeLinear for one weight matrix [rows, cols], or for several
 * stacked by rows (same column count and storage type). The scale is per tensor when every
 * part shares one, else one per row (along the row axis), which dequantizes each element
 * exactly as its own part's scale would. `transposed` stores the stack as [cols, rows].
 */
export function dequantizedWeights(tape: Tape, label: string, parts: readonly QuantizedWeight[], transposed = false): Value {
  const cols = parts[0]!.cols;
  const rows = parts.reduce((n, w) => n + w.rows, 0);
  const integers = parts[0]!.signed ? new Int8Array(rows * cols) : new Uint8Array(rows * cols);
  let rowOffset = 0;
  for (const w of parts) {
    for (let r = 0; r < w.rows; r++) {
      for (let c = 0; c < cols; c++) {
        const at = transposed ? c * rows + rowOffset + r : (rowOffset + r) * cols + c;
        integers[at] = w.values[r * cols + c]!;
      }
    }
    rowOffset += w.rows;
  }
  const first = parts[0]!;
  const perTensor = parts.every((w) => w.scale.length === 1 && w.scale[0] === first.scale[0] && w.zeroPoint[0] === first.zeroPoint[0]);
  const perRow = (pick: (w: QuantizedWeight) => ArrayLike<number>) =>
    parts.flatMap((w) => Array.from({ length: w.rows }, (_, r) => pick(w)[pick(w).length === 1 ? 0 : r]!));
  const scale = perTensor ? [first.scale[0]!] : perRow((w) => w.scale);
  const zeroPoint = perTensor ? [first.zeroPoint[0]!] : perRow((w) => w.zeroPoint);
  const dims = perTensor ? [] : [rows];
  const makeInts = first.signed ? Tensor.int8 : Tensor.uint8;
  const axis = perTensor ? [] : [attr.int('axis', transposed ? 1 : 0)];

  const quantized = tape.constant(`${label}/quantized`, makeInts(transposed ? [cols, rows] : [rows, cols], integers));
  const scaleValue = tape.constant(`${label}/scale`, Tensor.float32(dims, scale));
  const zeroValue = tape.constant(`${label}/zero_point`, makeInts(dims, zeroPoint));
  return tape.op('DequantizeLinear', [quantized, scaleValue, zeroValue], axis, `${label}/DequantizeLinear`);
}

/** Whether weights can be stacked into one tensor: same columns and the same storage type. */
export function canStack(parts: readonly QuantizedWeight[]): boolean {
  return parts.every((w) => w.cols === parts[0]!.cols && w.signed === parts[0]!.signed);
}
