/**
 * The reference cell run freely over a sequence: every decision takes the code of the exact
 * value (accumulators: the correctly rounded float32 sum; activations: the correctly rounded
 * true sigmoid/tanh). Where an implementation's rounding can fall the other way the result can
 * differ from it by a certified tie; followTrajectory says which.
 */
import { accumulate } from './accumulate.js';
import { CellArithmetic } from './cell-arithmetic.js';
import type { ReferenceCell } from './types.js';

export interface ReferenceResult {
  /** [T, B, H], each step at its own index */
  hiddenStates: Float32Array;
  lastHidden: Float32Array; // [B, H]
  lastCell: Float32Array; // [B, H]
}

/** Runs the cell over x [T, B, I] (time-first) from states h0, c0 [B, H]. */
export function runReferenceCell(cell: ReferenceCell, x: Float32Array, steps: number, batch: number, h0: Float32Array, c0: Float32Array): ReferenceResult {
  const a = new CellArithmetic(cell);
  const { inputSize: I, hiddenSize: H } = cell;
  const B = batch;
  const units = a.packed.units;
  const { input: gi, forget: gf, cell: gc, output: go } = a.index;
  let h = Float32Array.from(h0);
  const c = Float32Array.from(c0);
  const hiddenStates = new Float32Array(steps * B * H);
  const xOffsets = new Int32Array(B);
  const hOffsets = Int32Array.from({ length: B }, (_, b) => b * H);
  for (let s = 0; s < steps; s++) {
    const t = cell.reverse ? steps - 1 - s : s;
    for (let b = 0; b < B; b++) xOffsets[b] = (t * B + b) * I;
    const { codes } = accumulate(a.packed, B, x, xOffsets, h, hOffsets);
    const next = new Float32Array(B * H);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const code = (g: number) => codes[b * units + g * H + j]!;
        const i = a.activation(gi, code(gi)).value;
        const f = gf < 0 ? a.forgetOf(i) : a.activation(gf, code(gf)).value;
        const g = a.activation(gc, code(gc)).value;
        const o = a.activation(go, code(go)).value;
        const u = b * H + j;
        const cellCode = a.nextCell(f, c[u]!, i, g);
        c[u] = a.cellValue(cellCode);
        next[u] = a.output(o, a.tanhOfCell(cellCode).value);
      }
    }
    h = next;
    hiddenStates.set(h, t * B * H);
  }
  return { hiddenStates, lastHidden: h, lastCell: c };
}
