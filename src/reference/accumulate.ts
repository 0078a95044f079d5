/**
 * Gate accumulators and their quantizer decisions, for many independent rows at once.
 *
 * A row is one (step, batch) pair: its input x_t and the hidden state h the step reads. A gate
 * accumulator is v = sum_k a_k w_k + b over K = I + H float32 products. Any float32 evaluation
 * of it, in any order and grouping (PyTorch's x W_x^T + h W_h^T then + b, onnxruntime's blocked
 * GEMMs, with or without FMA), lies within
 *
 *     gamma_{K+1} * (sum_k |a_k w_k| + |b|)   of v,   gamma_n = n u / (1 - n u), u = 2^-24,
 *
 * plus (K + 1) * 2^-150 for products that underflow. Why: in any summation tree each term
 * passes through at most K - 1 additions, one multiplication and the final bias addition,
 * each a relative error of at most u (fewer with FMA); a product of at most K + 1 factors
 * (1 + d_i), |d_i| <= u, is 1 + t with |t| <= gamma_{K+1} (Higham, Accuracy and Stability of
 * Numerical Algorithms, 2nd ed., lemma 3.1 and the inner-product bound of section 3.1, which
 * does not depend on the order of summation). Underflow on additions is exact.
 *
 * The reference sums the exact products (a float32 product is exact in a double) in double,
 * whose own error is at most gamma64_{K+1} times the same sum, and widens the interval by it.
 * An implementation's sum r is a float32 inside that interval, so between its smallest and
 * largest float32 values (the interval's ends rounded inwards). The quantizer's code
 * clamp(round(fl(fl(r / s) + zp))) is monotone in r, so r's code lies between the codes of those
 * two values: when they agree the decision is certain, otherwise it is a certified tie.
 *
 * For speed, sum_k |a_k w_k| is first bounded from precomputed row sums and norms; only
 * decisions that this leaves open get the exact sum_k |a_k w_k| (dot-kernel.ts), and only
 * certified ties more (their nominal code and the distance to the boundary).
 */
import { exactOf, exactProduct, roundToFloat32, toNumber, exactOfDouble } from './exact.js';
import { down32, f32, fromOrderedKey, gamma32, gamma64, nextDown32, nextUp32, orderedKey, ulp32, up32 } from './float32.js';
import { codeOf, roundWith } from './quantizer.js';
import { DotKernel } from './dot-kernel.js';
import type { ReferenceQuantizer } from './types.js';

/**
 * The packed weights of the cell's gates for units first..first+count-1: row n = g count + (j -
 * first) = [W_x row j, W_h row j] of gate g.
 */
export interface PackedGates {
  gates: number;
  first: number;
  count: number;
  units: number; // gates * count
  inputSize: number;
  hiddenSize: number;
  K: number;
  weights: Float32Array; // [units * K]
  kernel: DotKernel;
  /** per unit: sum |W_x row|, sum |W_h row|, ||W_x row||_2, ||W_h row||_2, rounded up */
  absX: Float64Array;
  absH: Float64Array;
  normX: Float64Array;
  normH: Float64Array;
  bias: Float64Array; // [units], 0 without bias
  quantizers: ReferenceQuantizer[]; // per gate
  /** relative bound on any float32 evaluation plus our double sum: gamma32(K+1) + gamma64(K+1) */
  relative: number;
  /** absolute bound for underflowing products */
  absolute: number;
}

export interface PackedGate {
  inputWeight: Float32Array;
  recurrentWeight: Float32Array;
  bias: Float32Array | null;
  acc: ReferenceQuantizer;
}

export function packGates(gates: PackedGate[], inputSize: number, hiddenSize: number, first = 0, count = hiddenSize): PackedGates {
  const I = inputSize;
  const H = hiddenSize;
  const K = I + H;
  const units = gates.length * count;
  const weights = new Float32Array(units * K);
  const bias = new Float64Array(units);
  const [absX, absH, normX, normH] = [0, 1, 2, 3].map(() => new Float64Array(units)) as [Float64Array, Float64Array, Float64Array, Float64Array];
  const up = 1 + 4 * gamma64(K + 1);
  gates.forEach((gate, g) => {
    for (let j = first; j < first + count; j++) {
      const n = g * count + (j - first);
      weights.set(gate.inputWeight.subarray(j * I, (j + 1) * I), n * K);
      weights.set(gate.recurrentWeight.subarray(j * H, (j + 1) * H), n * K + I);
      bias[n] = gate.bias ? gate.bias[j]! : 0;
      absX[n] = sumAbs(gate.inputWeight, j * I, I) * up;
      absH[n] = sumAbs(gate.recurrentWeight, j * H, H) * up;
      normX[n] = norm(gate.inputWeight, j * I, I) * up;
      normH[n] = norm(gate.recurrentWeight, j * H, H) * up;
    }
  });
  return {
    gates: gates.length,
    first,
    count,
    units,
    inputSize: I,
    hiddenSize: H,
    K,
    weights,
    kernel: new DotKernel(weights, units, K),
    absX,
    absH,
    normX,
    normH,
    bias,
    quantizers: gates.map((g) => g.acc),
    // 2^-50 of slack for the few double roundings in forming v -+ bound
    relative: gamma32(K + 1) + gamma64(K + 1) + 2 ** -50,
    absolute: (K + 1) * 2 ** -150,
  };
}

function sumAbs(v: Float32Array, offset: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.abs(v[offset + k]!);
  return s;
}

/** ||v||_2 in double (a few n 2^-53 relative error, covered by the callers' rounding up). */
function norm(v: Float32Array, offset: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += v[offset + k]! * v[offset + k]!;
  return Math.sqrt(s);
}

/** A decision with more than one possible code. */
export interface AccumulatorTie {
  nominal: number;
  low: number;
  high: number;
  /** the float32 ends of the interval any implementation's sum lies in */
  lowValue: number;
  highValue: number;
  /** the exact sum: a double when that is within far less than an ulp, else scaled BigInt */
  exact: number | bigint;
  quantizer: ReferenceQuantizer;
}

/** Distance of a tie's exact value from the boundary towards code `taken`, in float32 ulps of the sum. */
export function tieDistance(tie: AccumulatorTie, taken: number): number {
  const boundary = boundaryBetween(tie.quantizer, taken < tie.nominal ? tie.nominal - 1 : tie.nominal, tie.lowValue, tie.highValue);
  const gap = typeof tie.exact === 'bigint' ? toNumber(tie.exact - exactOfDouble(boundary)) : tie.exact - boundary;
  return Math.abs(gap) / ulp32(boundary);
}

export interface AccumulatorBlock {
  rows: number;
  /** [rows * units] nominal code per row and gate unit */
  codes: Int32Array;
  /** index row * units + n -> tie */
  ties: Map<number, AccumulatorTie>;
  /** [rows * units] 1 where `ties` has an entry */
  tied: Uint8Array;
}

/**
 * Computes every gate accumulator decision for `rows` rows. Row r reads x from `x` at
 * xOffsets[r] (I values) and h from `h` at hOffsets[r] (H values).
 */
export function accumulate(p: PackedGates, rows: number, x: Float32Array, xOffsets: Int32Array, h: Float32Array, hOffsets: Int32Array): AccumulatorBlock {
  const { K, units, inputSize: I, hiddenSize: H, weights: W } = p;
  // rows packed as [x, h] so that one loop over k serves both
  const A = new Float32Array(rows * K);
  const maxX = new Float64Array(rows);
  const maxH = new Float64Array(rows);
  const normX = new Float64Array(rows);
  const normH = new Float64Array(rows);
  const up = 1 + 4 * gamma64(K + 1);
  for (let r = 0; r < rows; r++) {
    A.set(x.subarray(xOffsets[r]!, xOffsets[r]! + I), r * K);
    A.set(h.subarray(hOffsets[r]!, hOffsets[r]! + H), r * K + I);
    maxX[r] = maxAbs(A, r * K, I);
    maxH[r] = maxAbs(A, r * K + I, H);
    normX[r] = norm(A, r * K, I) * up;
    normH[r] = norm(A, r * K + I, H) * up;
  }
  const codes = new Int32Array(rows * units);
  const tied = new Uint8Array(rows * units);
  const ties = new Map<number, AccumulatorTie>();
  const { sums, stride } = p.kernel.run(A, rows);
  for (let n = 0; n < units; n++) {
    const at = n * stride;
    const q = p.quantizers[Math.floor(n / p.count)]!;
    const inverse = 1 / q.scale;
    const b = p.bias[n]!;
    const absB = Math.abs(b);
    for (let r = 0; r < rows; r++) {
      const v = sums[at + r]! + b;
      // sum |a_k w_k| is at most max|a| sum|w| and at most ||a|| ||w|| (Cauchy-Schwarz)
      const byMax = maxX[r]! * p.absX[n]! + maxH[r]! * p.absH[n]!;
      const byNorm = normX[r]! * p.normX[n]! + normH[r]! * p.normH[n]!;
      let code = quickCode(q, v, inverse, p.relative * ((byMax < byNorm ? byMax : byNorm) + absB) + p.absolute);
      if (code === null) {
        const absSum = p.kernel.absDot(n, r) + absB;
        const bound = p.relative * absSum + p.absolute;
        code = quickCode(q, v, inverse, bound);
        if (code === null) {
          // the float32 values inside the interval: an implementation's sum is one of them
          const lowValue = up32(v - bound);
          const highValue = down32(v + bound);
          const low = codeOf(q, lowValue);
          const high = codeOf(q, highValue);
          if (low === high) code = low;
          else {
            const tie = decideTie(p, q, W, n * K, A, r * K, v, b, absSum, lowValue, highValue, low, high);
            code = tie.nominal;
            ties.set(r * units + n, tie);
            tied[r * units + n] = 1;
          }
        }
      }
      codes[r * units + n] = code;
    }
  }
  return { rows, codes, ties, tied };
}

/**
 * The code every value within `bound` of v gets, or null when they may differ. The interval is
 * mapped to the rounding's input and widened by far more than the float32 roundings of r, r / s
 * and + zp (2^-22 relative each) and the reciprocal's error; rounding is monotone, so when its
 * ends round alike every value in it does.
 */
function quickCode(q: ReferenceQuantizer, v: number, inverse: number, bound: number): number | null {
  const y = v * inverse + q.zeroPoint;
  const spread = bound * inverse + (Math.abs(v * inverse) + Math.abs(q.zeroPoint)) * 2 ** -20 + 2 ** -140;
  const low = roundWith(q.rounding, y - spread);
  if (low !== roundWith(q.rounding, y + spread)) return null;
  return low < q.min ? q.min : low > q.max ? q.max : low;
}

function maxAbs(v: Float32Array, offset: number, n: number): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const a = Math.abs(v[offset + k]!);
    if (a > m) m = a;
  }
  return m;
}

/**
 * A certified tie: its nominal code, the code of the exact value rounded to float32. The
 * double sum v is within gamma64_{K+1} sum|terms| of the exact value; when that interval
 * holds a float32 rounding point the exact value is summed again, as an unevaluated
 * double-double of the exact products (TwoSum, error at most gamma64_K^2 sum|terms|: Ogita,
 * Rump and Oishi, Accurate sum and dot product, 2005), and in BigInt if even that straddles.
 */
function decideTie(p: PackedGates, q: ReferenceQuantizer, W: Float32Array, w: number, A: Float32Array, a: number, v: number, b: number, absSum: number, lowValue: number, highValue: number, low: number, high: number): AccumulatorTie {
  const doubleError = 2 * gamma64(p.K + 1) * absSum;
  let nearest = f32(v);
  let exact: number | bigint = v;
  if (f32(v - doubleError) !== nearest || f32(v + doubleError) !== nearest) {
    let hi = b;
    let lo = 0;
    for (let k = 0; k < p.K; k++) {
      const product = W[w + k]! * A[a + k]!;
      const sum = hi + product;
      const virtual = sum - hi;
      lo += hi - (sum - virtual) + (product - virtual);
      hi = sum;
    }
    const error = 4 * gamma64(p.K + 1) ** 2 * absSum;
    nearest = roundPairToFloat32(hi, lo);
    exact = hi + lo;
    if (roundPairToFloat32(hi, lo - error) !== nearest || roundPairToFloat32(hi, lo + error) !== nearest) {
      let n = exactOf(b);
      for (let k = 0; k < p.K; k++) n += exactProduct(W[w + k]!, A[a + k]!);
      nearest = roundToFloat32(n);
      exact = n;
    }
  }
  return { nominal: codeOf(q, nearest), low, high, lowValue, highValue, exact, quantizer: q };
}

/** The float32 nearest to hi + lo, ties to even. */
function roundPairToFloat32(hi: number, lo: number): number {
  const sum = hi + lo;
  const r = f32(sum);
  if (r === sum) return r;
  const other = r > sum ? nextDown32(r) : nextUp32(r);
  if ((r + other) / 2 !== sum) return r;
  // sum is exactly halfway between two float32 values; the part of lo lost in hi + lo decides
  const rest = lo - (sum - hi);
  if (rest === 0) return r;
  return rest > 0 === other > r ? other : r;
}

/**
 * The real number where the code rises above `code`, between float32 values `from` and `to`:
 * the midpoint of the last float32 with a code <= `code` and the next one (binary search over
 * float32 values, which the code is monotone in).
 */
export function boundaryBetween(q: ReferenceQuantizer, code: number, from: number, to: number): number {
  let lo = orderedKey(from);
  let hi = orderedKey(to);
  // invariant: code(lo) <= code < code(hi)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (codeOf(q, fromOrderedKey(mid)) <= code) lo = mid;
    else hi = mid;
  }
  return (fromOrderedKey(lo) + fromOrderedKey(hi)) / 2;
}
