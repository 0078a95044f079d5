/**
 * Exact sums of float32 products, as integers times 2^-298 (SHIFT_NUMBER). Every float32 is m 2^e with an
 * integer m below 2^24 and e >= -149, so a product of two is an integer times 2^-298 and any
 * sum of them is exact in a BigInt. Used only near rounding boundaries, where it decides the
 * nominal code and the distance to the boundary.
 */
import { MAX_FLOAT32 } from './float32.js';

const SHIFT_NUMBER = 298;

const view = new DataView(new ArrayBuffer(4));

/** A float32 value as [integer mantissa (signed), exponent]: x = m 2^e. */
function decompose(x: number): [bigint, number] {
  view.setFloat32(0, x);
  const b = view.getUint32(0);
  const sign = b >>> 31 ? -1n : 1n;
  const biased = (b >>> 23) & 0xff;
  const fraction = b & 0x7fffff;
  if (biased === 0) return [sign * BigInt(fraction), -149];
  return [sign * BigInt(fraction | 0x800000), biased - 150];
}

/** x (a float32) times 2^SHIFT_NUMBER, exactly. */
export function exactOf(x: number): bigint {
  const [m, e] = decompose(x);
  return m << BigInt(e + SHIFT_NUMBER);
}

/** a * b (float32 values) times 2^SHIFT_NUMBER, exactly. */
export function exactProduct(a: number, b: number): bigint {
  const [ma, ea] = decompose(a);
  const [mb, eb] = decompose(b);
  return (ma * mb) << BigInt(ea + eb + SHIFT_NUMBER);
}

/** An exact double as an exact scaled integer (the double must be a multiple of 2^-298). */
export function exactOfDouble(x: number): bigint {
  if (x === 0) return 0n;
  let e = 0;
  let m = Math.abs(x);
  while (!Number.isInteger(m)) {
    m *= 2;
    e--;
  }
  return (x < 0 ? -1n : 1n) * (BigInt(m) << BigInt(e + SHIFT_NUMBER));
}

/** The double nearest to an exact scaled integer (for distances, not decisions). */
export function toNumber(n: bigint): number {
  return Number(n) * 2 ** -SHIFT_NUMBER;
}

/** The float32 value nearest to an exact scaled integer, ties to even (IEEE). */
export function roundToFloat32(n: bigint): number {
  if (n === 0n) return 0;
  const negative = n < 0n;
  const a = negative ? -n : n;
  const length = a.toString(2).length;
  const exponent = length - 1 - SHIFT_NUMBER; // a in [2^exponent, 2^(exponent+1)) after scaling
  const quantum = Math.max(exponent - 23, -149);
  const drop = BigInt(quantum + SHIFT_NUMBER);
  let m = a >> drop;
  const remainder = a - (m << drop);
  const half = 1n << (drop - 1n);
  if (remainder > half || (remainder === half && (m & 1n) === 1n)) m += 1n;
  const v = Number(m) * 2 ** quantum;
  const r = v > MAX_FLOAT32 ? Infinity : v;
  return negative ? -r : r;
}

