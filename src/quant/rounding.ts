/**
 * Rounding modes of Brevitas' quantizers (FloatToIntImplType) and of qonnx's Quant node
 * (resolve_rounding_mode), as the float32 operations those libraries perform.
 */
export const ROUNDING_MODES = ['ROUND', 'HALF_EVEN', 'FLOOR', 'CEIL', 'ROUND_TO_ZERO', 'DOWN', 'UP', 'HALF_UP', 'HALF_DOWN', 'DPU'] as const;
export type RoundingMode = (typeof ROUNDING_MODES)[number];

export function isRoundingMode(mode: string): mode is RoundingMode {
  return (ROUNDING_MODES as readonly string[]).includes(mode);
}

/** Rounds to the nearest integer, ties to even (QuantizeLinear, torch.round, numpy.round). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

const f32 = Math.fround;

/** `mode` applied to a float32 value, with every intermediate rounded to float32 as numpy/torch do. */
export function roundWith(mode: RoundingMode, x: number): number {
  switch (mode) {
    case 'ROUND':
    case 'HALF_EVEN':
      return roundHalfEven(x);
    case 'FLOOR':
      return Math.floor(x);
    case 'CEIL':
      return Math.ceil(x);
    case 'ROUND_TO_ZERO':
    case 'DOWN':
      return Math.sign(x) * Math.floor(Math.abs(x));
    case 'UP':
      return Math.sign(x) * Math.ceil(Math.abs(x));
    case 'HALF_UP':
      return Math.sign(x) * Math.floor(f32(Math.abs(x) + 0.5));
    case 'HALF_DOWN':
      return Math.sign(x) * Math.ceil(f32(Math.abs(x) - 0.5));
    case 'DPU':
      return x < 0 && f32(x - Math.floor(x)) === 0.5 ? Math.ceil(x) : roundHalfEven(x);
  }
}
