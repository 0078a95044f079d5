import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataType } from '../src/ir/data-type.js';
import type { Model } from '../src/ir/model.js';
import { readModel } from '../src/onnx/files.js';
import { referenceCellsOf } from '../src/reference/from-export.js';
import { followTrajectory } from '../src/reference/trajectory.js';
import type { ReferenceCell, ReferenceGate, ReferenceQuantizer } from '../src/reference/types.js';
import { corpusCase } from './helpers/corpus.js';
import { flavourInputNames, runCells } from './helpers/reference-corpus.js';

/**
 * Conversion bugs planted in the export make Brevitas' own goldens unexplained, at the first
 * element where the bug changes a hidden state. That element is found by a second, plain
 * implementation of Brevitas' step below (double sums rounded once to float32, quantizers
 * written out), fed the golden hidden states; it is checked on the unchanged export first.
 */
function halfEven(y: number): number {
  const floor = Math.floor(y);
  const rest = y - floor;
  return rest > 0.5 || (rest === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
}

function plainQ(v: number, q: ReferenceQuantizer): number {
  const code = Math.min(q.max, Math.max(q.min, halfEven(Math.fround(Math.fround(v / q.scale) + q.zeroPoint))));
  return Math.fround(Math.fround(code - q.zeroPoint) * q.scale);
}

function plainGate(g: ReferenceGate, act: (v: number) => number, x: Float32Array, h: Float32Array, j: number, I: number, H: number): number {
  let sum = 0;
  for (let k = 0; k < I; k++) sum += x[k]! * g.inputWeight[j * I + k]!;
  for (let k = 0; k < H; k++) sum += h[k]! * g.recurrentWeight[j * H + k]!;
  const acc = Math.fround(Math.fround(sum) + (g.bias ? g.bias[j]! : 0));
  return plainQ(Math.fround(act(plainQ(acc, g.acc))), g.activation);
}

/** The first (step, unit) where the plain step, fed the golden hidden states, differs from them. */
function firstPlainDifference(cell: ReferenceCell, x: Float32Array, golden: Float32Array, steps: number, c0: Float32Array): { step: number; batch: number; unit: number } | null {
  const { inputSize: I, hiddenSize: H } = cell;
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const c = Float32Array.from(c0);
  const B = c0.length / H;
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < B; b++) {
      const xs = x.subarray((t * B + b) * I, (t * B + b + 1) * I);
      const h = t === 0 ? new Float32Array(H) : golden.subarray(((t - 1) * B + b) * H, ((t - 1) * B + b + 1) * H);
      for (let j = 0; j < H; j++) {
        const i = plainGate(cell.input, sigmoid, xs, h, j, I, H);
        const f = plainGate(cell.forget!, sigmoid, xs, h, j, I, H);
        const g = plainGate(cell.cell, Math.tanh, xs, h, j, I, H);
        const o = plainGate(cell.output, sigmoid, xs, h, j, I, H);
        const u = b * H + j;
        c[u] = plainQ(Math.fround(plainQ(Math.fround(f * c[u]!), cell.cellState) + plainQ(Math.fround(i * g), cell.cellState)), cell.cellState);
        const hNew = plainQ(Math.fround(o * plainQ(Math.fround(Math.tanh(c[u]!)), cell.hiddenStateTanh)), cell.outputQuant);
        if (hNew !== golden[(t * B + b) * H + j]) return { step: t, batch: b, unit: j };
      }
    }
  }
  return null;
}

const CASE = corpusCase('calib_i10_h20');
const FILE = CASE.file('qcdq-int');

async function setup() {
  const inputs = new Map(flavourInputNames(CASE, 'qcdq-int').map((n, i) => [n, CASE.inputs()[i]!]));
  const { runs } = await runCells(FILE, inputs);
  const run = runs[0]!;
  const golden = CASE.outputs()[0]!.data;
  return { run, golden, lastCell: CASE.outputs()[2]!.data };
}

function cellOf(model: Model): ReferenceCell {
  return referenceCellsOf(model)[0]!.cell;
}

describe('planted conversion bugs make the goldens unexplained', () => {
  it('the plain step reproduces the goldens of the unchanged export', async () => {
    const { run, golden } = await setup();
    assert.equal(firstPlainDifference(cellOf(readModel(FILE)), run.x, golden, run.steps, run.c0), null);
  });

  it('a weight code moved by one in the cell gate', async (t) => {
    const { run, golden, lastCell } = await setup();
    const model = readModel(FILE);
    const cellNode = model.graph.nodes.find((n) => n.opType === 'QuantLSTMCell')!;
    // input 5: the cell gate's input weight, DequantizeLinear(Clip(int8 codes))
    const codes = cellNode.input(5)!.producer!.input(0)!.producer!.input(0)!.constant!;
    assert.equal(codes.dataType, DataType.INT8);
    assert.equal(codes.storage.kind, 'raw');
    const bytes = (codes.storage as { bytes: Uint8Array }).bytes;
    const I = run.cell.inputSize;
    const at = 3 * I + 2; // unit 3, input 2
    const code = (bytes[at]! << 24) >> 24;
    bytes[at] = (code === 127 ? code - 1 : code + 1) & 0xff;
    const mutated = cellOf(model);
    assert.notDeepEqual(mutated.cell.inputWeight, run.cell.cell.inputWeight);
    const expected = firstPlainDifference(mutated, run.x, golden, run.steps, run.c0);
    assert.ok(expected, 'the plain step sees the change');
    assert.equal(expected.unit, 3, 'only unit 3 reads the changed row');
    const report = followTrajectory(mutated, { steps: run.steps, batch: run.batch, x: run.x, h0: run.h0, c0: run.c0, observedHidden: golden, observedLastCell: lastCell });
    assert.ok(report.unexplained > 0);
    const first = report.unexplainedSamples[0]!;
    assert.deepEqual([first.what, first.step, first.batch, first.unit], ['hidden state', expected.step, expected.batch, expected.unit]);
    t.diagnostic(`first unexplained: step ${first.step}, batch ${first.batch}, unit ${first.unit}; ${report.unexplained} of ${report.elements} unexplained`);
    // every unexplained element is in unit 3: the other units read only golden states
    assert.ok(report.unexplainedSamples.every((r) => r.unit === 3));
  });

  it('the input and forget gates swapped', async (t) => {
    const { run, golden } = await setup();
    const model = readModel(FILE);
    const cellNode = model.graph.nodes.find((n) => n.opType === 'QuantLSTMCell')!;
    for (const [a, b] of [
      [3, 4],
      [7, 8],
      [11, 12],
    ] as const) {
      const va = cellNode.input(a);
      const vb = cellNode.input(b);
      cellNode.setInput(a, vb);
      cellNode.setInput(b, va);
    }
    const swapped = cellOf(model);
    const expected = firstPlainDifference(swapped, run.x, golden, run.steps, run.c0);
    assert.ok(expected);
    const report = followTrajectory(swapped, { steps: run.steps, batch: run.batch, x: run.x, h0: run.h0, c0: run.c0, observedHidden: golden });
    const first = report.unexplainedSamples[0]!;
    assert.deepEqual([first.step, first.batch, first.unit], [expected.step, expected.batch, expected.unit]);
    assert.ok(report.unexplained > report.elements / 4, `${report.unexplained} of ${report.elements} unexplained`);
    t.diagnostic(`first unexplained: step ${first.step}, batch ${first.batch}, unit ${first.unit}; ${report.unexplained} of ${report.elements} unexplained`);
  });
});
