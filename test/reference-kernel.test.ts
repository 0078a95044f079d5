import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absDotJs, DotKernel, dotRowsJs } from '../src/reference/dot-kernel.js';
import { gamma64 } from '../src/reference/float32.js';

/**
 * The WebAssembly dot products against the plain JavaScript loops. Both sum exact products in
 * double, in different orders, so they agree within gamma64_K * sum |products| (and exactly
 * where the sums are exact, as for small integers).
 */
function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround((s / 2 ** 32 - 0.5) * 2 ** ((s % 13) - 6));
  });
}

describe('dot kernel', () => {
  for (const [K, units, rows] of [
    [7, 3, 5],
    [8, 2, 4],
    [296, 17, 13],
    [768, 8, 64],
  ] as const) {
    it(`K ${K}, ${units} weight rows, ${rows} rows`, () => {
      const W = random(units * K, K);
      const kernel = new DotKernel(W, units, K);
      assert.ok(kernel.usesWasm, 'WebAssembly SIMD is available in Node 20');
      const fallback = new DotKernel(W, units, K, false);
      for (const call of [1, 2]) {
        const A = random(rows * K, K + call);
        const { sums, stride } = kernel.run(A, rows);
        const plain = fallback.run(A, rows);
        const expected = new Float64Array(rows);
        for (let n = 0; n < units; n++) {
          dotRowsJs(W, n * K, A, K, rows, expected);
          for (let r = 0; r < rows; r++) {
            const absSum = absDotJs(W, n * K, A, r * K, K);
            const slack = gamma64(K) * absSum;
            assert.ok(Math.abs(sums[n * stride + r]! - expected[r]!) <= slack, `sum ${n} ${r}`);
            assert.equal(plain.sums[n * plain.stride + r], expected[r]);
            assert.ok(Math.abs(kernel.absDot(n, r) - absSum) <= slack, `abs sum ${n} ${r}`);
            assert.equal(fallback.absDot(n, r), absSum);
          }
        }
      }
    });
  }

  it('exact on integers', () => {
    const K = 9;
    const W = Float32Array.from({ length: 2 * K }, (_, i) => i - 7);
    const A = Float32Array.from({ length: 6 * K }, (_, i) => (i % 5) - 2);
    const kernel = new DotKernel(W, 2, K);
    const { sums, stride } = kernel.run(A, 6);
    const expected = new Float64Array(6);
    for (let n = 0; n < 2; n++) {
      dotRowsJs(W, n * K, A, K, 6, expected);
      assert.deepEqual([...sums.subarray(n * stride, n * stride + 6)], [...expected]);
    }
  });
});
