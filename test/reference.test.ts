import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { recognizeCells } from '../src/recognize/cell.js';
import type { CellDescription } from '../src/recognize/description.js';
import { referenceCellsOf } from '../src/reference/from-export.js';
import { runReferenceCell, type ReferenceResult } from '../src/reference/run.js';
import type { NdArray } from '../src/run/npy.js';
import { exposeValues } from '../src/verify/probe.js';
import { openSession } from '../src/run/session.js';
import { corpusCases, describeDifference, difference } from './helpers/corpus.js';

/** [A, B, F] -> [B, A, F] */
function swap(data: Float32Array, a: number, b: number, f: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(data.subarray((i * b + j) * f, (i * b + j + 1) * f), (j * a + i) * f);
  return out;
}

/**
 * The export's own nodes before the first layer (input quantizer, state quantizers) are run
 * by onnxruntime; every cell is then computed by the reference alone, each layer fed by the
 * reference's previous layer, and the result compared with Brevitas' goldens.
 */
async function referenceOutputs(file: string, inputs: NdArray[]): Promise<{ cells: CellDescription[]; results: ReferenceResult[]; steps: number; batch: number }> {
  const cells = recognizeCells(readModel(file));
  const referenceCells = new Map(referenceCellsOf(readModel(file)).map((r) => [r.boundary.outputs[0], r.cell]));
  const model = readModel(file);
  convertModel(model);
  const boundary = cells.flatMap((c) => [c.input.name, ...[c.initialHidden, c.initialCell].filter((s) => s.kind === 'value').map((s) => s.value.name)]);
  assert.deepEqual(exposeValues(model, boundary), []);
  const session = await openSession(exportModel(model), { level: 'disabled' });
  const got = await session.run(Object.fromEntries(session.inputNames.map((n, i) => [n, inputs[i]!])));
  await session.release();

  const sequences = new Map<string, Float32Array>(); // time-first hidden states by value name
  const results: ReferenceResult[] = [];
  let steps = 0;
  let batch = 0;
  for (const cell of cells) {
    const x = got[cell.input.name]!;
    [steps, batch] = cell.batchFirst ? [x.shape[1]!, x.shape[0]!] : [x.shape[0]!, x.shape[1]!];
    const fromReference = sequences.get(cell.input.name);
    const timeFirst = fromReference ?? (cell.batchFirst ? swap(x.data, batch, steps, cell.inputSize) : x.data);
    const H = cell.hiddenSize;
    const state = (s: CellDescription['initialHidden']) => (s.kind === 'value' ? got[s.value.name]!.data : new Float32Array(batch * H));
    const result = runReferenceCell(referenceCells.get(cell.outputs[0].name)!, timeFirst, steps, batch, state(cell.initialHidden), state(cell.initialCell));
    sequences.set(cell.outputs[0].name, result.hiddenStates);
    results.push(result);
  }
  return { cells, results, steps, batch };
}

/** The corpus' first table; test/trajectory-golden.test.ts covers every case without src/recognize. */
const FIRST_TABLE = new Set(['seed_i10_h20', 'calib_i10_h20', 'batch4_i16_h32', 'batchfirst_i8_h16', 'nobias_i12_h24', 'cifg_i10_h20', 'w4_i10_h20', 'a6_i10_h20', 'perchannel_i10_h20', 'layers2_i10_h20', 'bidir_i10_h20', 'state_i10_h20', 'large_i64_h128', 'long_i10_h20', 'big_l2_i256_h512']);

describe('the reference cell reproduces the Brevitas goldens', () => {
  for (const c of corpusCases().filter((c) => !c.floatOutputs && FIRST_TABLE.has(c.name))) {
    it(c.name, async () => {
      const [goldY, goldH, goldC] = c.outputs() as [NdArray, NdArray, NdArray];
      const { cells, results, steps, batch } = await referenceOutputs(c.file('qcdq-int'), c.inputs());
      const H = cells[0]!.hiddenSize;
      // The last layer's hidden states, directions side by side along the unit axis.
      const last = cells.map((cell, k) => ({ cell, result: results[k]! })).filter(({ cell }) => !cells.some((o) => o.input.name === cell.outputs[0].name));
      const y = new Float32Array(steps * batch * H * last.length);
      last.forEach(({ result }, d) => {
        for (let r = 0; r < steps * batch; r++) y.set(result.hiddenStates.subarray(r * H, (r + 1) * H), (r * last.length + d) * H);
      });
      const batchFirst = cells[0]!.batchFirst;
      const yData = batchFirst ? swap(y, steps, batch, H * last.length) : y;
      const stack = (pick: (r: ReferenceResult) => Float32Array) => {
        const out = new Float32Array(results.length * batch * H);
        results.forEach((r, k) => out.set(pick(r), k * batch * H));
        return out;
      };
      const checks: [string, NdArray, Float32Array, number][] = [
        ['hidden states', goldY, yData, c.lsb(0)],
        ['last hidden states', goldH, stack((r) => r.lastHidden), c.lsb(1)],
        ['last cell states', goldC, stack((r) => r.lastCell), c.lsb(2)],
      ];
      for (const [what, golden, data, lsb] of checks) {
        const d = difference({ shape: golden.shape, data }, golden, lsb);
        assert.equal(d.unequal, 0, `${what}: ${describeDifference(d, 'LSB')}`);
      }
    });
  }
});
