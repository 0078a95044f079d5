import { f32 } from './float32.js';
import type { ReferenceQuantizer, RoundingMode } from './types.js';

export const ROUNDING_MODES: readonly RoundingMode[] = ['ROUND', 'HALF_EVEN', 'CEIL', 'FLOOR', 'UP', 'DOWN', 'ROUND_TO_ZERO', 'HALF_UP', 'HALF_DOWN', 'DPU'];

export function isRoundingMode(s: string): s is RoundingMode {
  return (ROUNDING_MODES as readonly string[]).includes(s);
}

function halfEven(y: number): number {
  const r = Math.round(y);
  return r - y === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Rounding of a float32 value, with the float32 operations Brevitas/qonnx perform in their
 * order (HALF_UP's |x| + 0.5 is itself a float32 addition and may round).
 */
export function roundWith(mode: RoundingMode, y: number): number {
  switch (mode) {
    case 'ROUND':
    case 'HALF_EVEN':
      return halfEven(y);
    case 'CEIL':
      return Math.ceil(y);
    case 'FLOOR':
      return Math.floor(y);
    case 'DOWN':
    case 'ROUND_TO_ZERO':
      return Math.sign(y) * Math.floor(Math.abs(y));
    case 'UP':
      return Math.sign(y) * Math.ceil(Math.abs(y));
    case 'HALF_UP':
      return Math.sign(y) * Math.floor(f32(Math.abs(y) + 0.5));
    case 'HALF_DOWN':
      return Math.sign(y) * Math.ceil(f32(Math.abs(y) - 0.5));
    case 'DPU':
      return y < 0 && f32(y - Math.floor(y)) === 0.5 ? Math.ceil(y) : halfEven(y);
  }
}

/** qonnx's min_int / max_int. */
export function integerRange(bits: number, signed: boolean, narrow: boolean): { min: number; max: number } {
  if (signed) return { min: -(2 ** (bits - 1)) + (narrow ? 1 : 0), max: 2 ** (bits - 1) - 1 };
  return { min: 0, max: 2 ** bits - 1 - (narrow ? 1 : 0) };
}

/** The integer code a float32 value r gets: clamp(round(fl32(fl32(r / s) + zp))). Monotone in r. */
export function codeOf(q: ReferenceQuantizer, r: number): number {
  const scaled = f32(r / q.scale);
  const shifted = q.zeroPoint === 0 ? scaled : f32(scaled + q.zeroPoint);
  const n = roundWith(q.rounding, shifted);
  return n < q.min ? q.min : n > q.max ? q.max : n;
}

/** (code - zp) * s in float32. */
export function valueOf(q: ReferenceQuantizer, code: number): number {
  return f32(f32(code - q.zeroPoint) * q.scale);
}

/** Q(r) for a float32 r. */
export function quantize(q: ReferenceQuantizer, r: number): number {
  return valueOf(q, codeOf(q, r));
}
