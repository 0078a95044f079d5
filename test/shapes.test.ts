import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import type { NdArray } from '../src/run/npy.js';
import { OPTIMIZATION_LEVELS } from '../src/run/session.js';
import { corpusCase, describeDifference, difference, runModel } from './helpers/corpus.js';

function convertedBytes(name: string, layout: 'fused' | 'plain'): Uint8Array {
  const model = readModel(corpusCase(name).file('qcdq-int'));
  convertModel(model, { layout });
  return exportModel(model);
}

/** The rows `indices` along axis 0 or 1 of a 3-D array. */
function slice(a: NdArray, axis: number, indices: readonly number[]): NdArray {
  const shape = [...a.shape];
  shape[axis] = indices.length;
  const [, d1, d2] = a.shape as [number, number, number];
  const out = new Float32Array(shape[0]! * shape[1]! * shape[2]!);
  let o = 0;
  for (let i = 0; i < shape[0]!; i++) {
    for (let j = 0; j < shape[1]!; j++) {
      const [si, sj] = axis === 0 ? [indices[i]!, j] : [i, indices[j]!];
      out.set(a.data.subarray((si * d1 + sj) * d2, (si * d1 + sj + 1) * d2), o);
      o += d2;
    }
  }
  return { shape, data: out };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

for (const layout of ['fused', 'plain'] as const) {
  describe(`shapes other than the exported ones (${layout} layout)`, () => {
    const forward = corpusCase('calib_i10_h20');
    const bytes = convertedBytes(forward.name, layout);
    const [x] = forward.inputs() as [NdArray];
    const [y] = forward.outputs() as [NdArray];
    const steps = x.shape[0]!;

    for (const k of [1, 7]) {
      it(`the first ${k} step(s) reproduce the first ${k} golden steps`, async () => {
        for (const level of OPTIMIZATION_LEVELS) {
          const [got, lastHidden] = await runModel(bytes, level, [slice(x, 0, range(k))]);
          const d = difference(got!, slice(y, 0, range(k)), forward.lsb(0));
          assert.equal(d.unequal, 0, `${level}: ${describeDifference(d, 'LSB')}`);
          const last = slice(y, 0, [k - 1]);
          assert.deepEqual(Array.from(lastHidden!.data), Array.from(last.data), `${level}: h_n is the last step`);
        }
      });
    }

    it('60 steps leave the first steps equal to the golden', async () => {
      const extra = 60 - steps;
      const longer = new Float32Array(60 * x.shape[1]! * x.shape[2]!);
      longer.set(x.data);
      for (let i = x.data.length; i < longer.length; i++) longer[i] = Math.sin(i * 0.37);
      for (const level of OPTIMIZATION_LEVELS) {
        const [got] = await runModel(bytes, level, [{ shape: [60, x.shape[1]!, x.shape[2]!], data: longer }]);
        assert.deepEqual(got!.shape, [60, y.shape[1]!, y.shape[2]!]);
        const d = difference(slice(got!, 0, range(steps)), y, forward.lsb(0));
        assert.equal(d.unequal, 0, `${level} (${extra} extra steps): ${describeDifference(d, 'LSB')}`);
      }
    });

    for (const [name, batchAxis] of [['batch4_i16_h32', 1], ['batchfirst_i8_h16', 0]] as const) {
      it(`${name}: a batch of repeated and permuted rows reproduces the matching golden rows`, async () => {
        const c = corpusCase(name);
        const caseBytes = convertedBytes(name, layout);
        const [input] = c.inputs() as [NdArray];
        const [golden] = c.outputs() as [NdArray];
        const batch = input.shape[batchAxis]!;
        const rows = [batch - 1, 0, 1, 1, batch - 1, 0, 2 % batch];
        for (const level of OPTIMIZATION_LEVELS) {
          const [got] = await runModel(caseBytes, level, [slice(input, batchAxis, rows)]);
          const d = difference(got!, slice(golden, batchAxis, rows), c.lsb(0));
          assert.equal(d.unequal, 0, `${level}: ${describeDifference(d, 'LSB')}`);
        }
      });
    }
  });
}
