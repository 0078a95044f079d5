import { roundWith, type RoundingMode } from './rounding.js';

/** What one quantizer needs for its arithmetic. */
export interface QuantizerArithmetic {
  scale: number;
  zeroPoint: number;
  min: number;
  max: number;
  rounding: RoundingMode;
}

const f32 = Math.fround;

/**
 * The integer a quantizer gives a float32 value, in Brevitas' (IntQuant.to_int) and qonnx's
 * (int_quant) float32 arithmetic: round_mode(v / scale + zero point), clamped. Clamping and
 * rounding commute because the bounds are integers, so qonnx's clamp-then-round agrees.
 */
export function quantizeCode(v: number, q: QuantizerArithmetic): number {
  const shifted = f32(f32(v / q.scale) + q.zeroPoint);
  const code = roundWith(q.rounding, shifted);
  return code < q.min ? q.min : code > q.max ? q.max : code;
}

/** (code - zero point) * scale in float32. */
export function dequantizeCode(code: number, q: { scale: number; zeroPoint: number }): number {
  return f32(f32(code - q.zeroPoint) * q.scale);
}

export function fakeQuantize(v: number, q: QuantizerArithmetic): number {
  return dequantizeCode(quantizeCode(v, q), q);
}
