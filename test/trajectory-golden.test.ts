import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { followTrajectory } from '../src/reference/trajectory.js';
import type { NdArray } from '../src/run/npy.js';
import { corpusCases } from './helpers/corpus.js';
import { flavourInputNames, flavourOutputNames, runCells, slicesOf, swapLeading, type CellRun } from './helpers/reference-corpus.js';

/**
 * The reference against Brevitas itself, on every corpus case and flavour. Each cell is fed
 * what the export computes for it (onnxruntime for the nodes between cells, the free-running
 * reference for earlier layers); then
 * - the free-running reference gives every golden bit for bit (except the at-scale cases,
 *   where Brevitas' own float sums take the other side of certified ties), and
 * - followTrajectory on the golden hidden states explains every element (unexplained 0) and
 *   the golden last cell state, wherever a cell's whole sequence is a graph output.
 */
const AT_SCALE = new Set(['scale_a_i40_h256', 'scale_b_i40_h256']);

/** Golden slice k of n along the last axis of [.., n*H]: a [rows, H] array. */
function sliceLast(a: NdArray, k: number, n: number): Float32Array {
  const width = a.shape[a.shape.length - 1]!;
  const H = width / n;
  const rows = a.data.length / width;
  const out = new Float32Array(rows * H);
  for (let r = 0; r < rows; r++) out.set(a.data.subarray(r * width + k * H, r * width + (k + 1) * H), r * H);
  return out;
}

/** Golden slice k of the first axis of [n, B, H]. */
function sliceFirst(a: NdArray, k: number): Float32Array {
  const size = a.data.length / a.shape[0]!;
  return a.data.subarray(k * size, (k + 1) * size);
}

function firstDifference(got: Float32Array, want: Float32Array): string {
  const i = got.findIndex((v, k) => v !== want[k]);
  return i < 0 ? 'none' : `index ${i}: ${got[i]} vs ${want[i]}`;
}

describe('reference and trajectory against the Brevitas goldens', () => {
  for (const c of corpusCases()) {
    for (const flavour of c.flavours) {
      it(`${c.name} ${flavour}`, async (t) => {
        const inputs = new Map(flavourInputNames(c, flavour).map((n, i) => [n, c.inputs()[i]!]));
        const { model, runs } = await runCells(c.file(flavour), inputs);
        assert.ok(runs.length > 0);
        const outputs = c.outputs();
        const names = flavourOutputNames(c, flavour);
        const byOutput = (slot: number) => {
          const slices = slicesOf(model, names[slot]!);
          return slices?.map((name) => runs.find((r) => r.boundary.outputs.includes(name))!) ?? null;
        };
        if (c.floatOutputs) {
          // the classifier's head is not a cell: only the reading of its cell is checked here
          assert.equal(byOutput(0), null);
          return;
        }
        const sequences = byOutput(0)!;
        const lastHidden = byOutput(1)!;
        const lastCells = byOutput(2)!;
        assert.ok(sequences && lastHidden && lastCells, 'graph outputs map to cells');
        // every cell's last states, and the free-running sequence of the observed cells
        if (!AT_SCALE.has(c.name)) {
          lastCells.forEach((run, k) => assert.deepEqual(run.free.lastCell, Float32Array.from(sliceFirst(outputs[2]!, k)), `${run.cell.name}: last cell state`));
          lastHidden.forEach((run, k) => assert.deepEqual(run.free.lastHidden, Float32Array.from(sliceFirst(outputs[1]!, k)), `${run.cell.name}: last hidden state`));
        }
        const lines: string[] = [];
        sequences.forEach((run: CellRun, k) => {
          const H = run.cell.hiddenSize;
          let golden = sliceLast(outputs[0]!, k, sequences.length);
          if (run.cell.batchFirst) golden = swapLeading(golden, run.batch, run.steps, H);
          if (!AT_SCALE.has(c.name)) assert.equal(firstDifference(run.free.hiddenStates, golden), 'none', `${run.cell.name}: free-running hidden states`);
          const slot = lastCells.indexOf(run);
          const report = followTrajectory(run.cell, {
            steps: run.steps,
            batch: run.batch,
            x: run.x,
            h0: run.h0,
            c0: run.c0,
            observedHidden: golden,
            observedLastCell: Float32Array.from(sliceFirst(outputs[2]!, slot)),
          });
          assert.equal(report.elements, run.steps * run.batch * H);
          assert.equal(report.unexplained, 0, `${run.cell.name}: ${JSON.stringify(report.unexplainedSamples.slice(0, 3))}`);
          assert.equal(report.lastCell, 'consistent');
          assert.equal(report.candidateCapHits, 0);
          lines.push(`${run.cell.name}: ${report.elements} elements, ${report.nominal} nominal, ${report.ties} ties taken, ${report.certifiedTies} certified ties`);
        });
        t.diagnostic(lines.join('; '));
      });
    }
  }
});
