/** Rounds to the nearest integer, ties to even (what QuantizeLinear and torch.round do). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The integer QuantizeLinear computes for a float32 `x`: round_half_even(x / scale) + zeroPoint,
 * clamped to [min, max]. Division in double then rounding to float32 is exactly float32 division.
 */
export function quantizeToInteger(x: number, scale: number, zeroPoint: number, min: number, max: number): number {
  const q = roundHalfEven(Math.fround(x / scale)) + zeroPoint;
  return q < min ? min : q > max ? max : q;
}
