/**
 * Float32 helpers on doubles. A float32 operation of float32 operands computed in double and
 * rounded once with Math.fround gives the correctly rounded float32 result for + - * / (the
 * double has more than 2*24+2 bits, so the double rounding is innocuous).
 */

export const f32 = Math.fround;

/** 2^-24, the unit roundoff of float32. */
export const U32 = 2 ** -24;
/** 2^-53, the unit roundoff of float64. */
export const U64 = 2 ** -53;
export const MAX_FLOAT32 = 3.4028234663852886e38;

const bits = new Float32Array(1);
const ints = new Int32Array(bits.buffer);

/** Float32 values as ordered integers: a < b as floats iff key(a) < key(b) (zeros both 0). */
export function orderedKey(x: number): number {
  bits[0] = x;
  const i = ints[0]!;
  return i < 0 ? -(i & 0x7fffffff) : i;
}

export function fromOrderedKey(k: number): number {
  ints[0] = k < 0 ? (-k | 0x80000000) : k;
  return bits[0]!;
}

/** The next float32 above a float32 value. */
export function nextUp32(x: number): number {
  if (x === Infinity || Number.isNaN(x)) return x;
  return fromOrderedKey(orderedKey(x) + 1);
}

export function nextDown32(x: number): number {
  if (x === -Infinity || Number.isNaN(x)) return x;
  return fromOrderedKey(orderedKey(x) - 1);
}

/** The largest float32 not above x. */
export function down32(x: number): number {
  const r = f32(x);
  return r > x ? nextDown32(r) : r;
}

/** The smallest float32 not below x. */
export function up32(x: number): number {
  const r = f32(x);
  return r < x ? nextUp32(r) : r;
}

/** The spacing of float32 values at |x| (2^-149 among subnormals). */
export function ulp32(x: number): number {
  const a = Math.abs(x);
  if (a < 2 ** -126) return 2 ** -149;
  if (!Number.isFinite(a)) return Infinity;
  const e = Math.floor(Math.log2(a));
  // log2 can be off by one right at powers of two
  const exponent = 2 ** e > a ? e - 1 : 2 ** (e + 1) <= a ? e + 1 : e;
  return 2 ** (exponent - 23);
}

/** gamma_n = n u / (1 - n u) (Higham): the relative error bound of n float32 roundings. */
export function gamma32(n: number): number {
  return (n * U32) / (1 - n * U32);
}

export function gamma64(n: number): number {
  return (n * U64) / (1 - n * U64);
}
