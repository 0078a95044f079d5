import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { followTrajectory } from '../src/reference/trajectory.js';
import { corpusCase } from './helpers/corpus.js';
import { flavourInputNames, runCells } from './helpers/reference-corpus.js';

/**
 * Split by unit across worker threads, the trajectory gives the very report of one thread
 * (counts, samples and their order), on the first 120 steps of an at-scale case against its
 * goldens, and reports progress up to the last step.
 */
describe('followTrajectory on worker threads', () => {
  it('scale_a_i40_h256, 120 steps: 1, 2 and 3 threads agree', async () => {
    const c = corpusCase('scale_a_i40_h256');
    const steps = 120;
    const x = c.inputs()[0]!;
    const batch = x.shape[1]!;
    const inputs = new Map([[flavourInputNames(c, 'qcdq-int')[0]!, { shape: [steps, batch, x.shape[2]!], data: x.data.subarray(0, steps * batch * x.shape[2]!) }]]);
    const { runs } = await runCells(c.file('qcdq-int'), inputs);
    const run = runs[0]!;
    const H = run.cell.hiddenSize;
    const input = { steps, batch, x: run.x, h0: run.h0, c0: run.c0, observedHidden: c.outputs()[0]!.data.subarray(0, steps * batch * H) };
    const progress: number[] = [];
    const one = followTrajectory(run.cell, input, { threads: 1 });
    const two = followTrajectory(run.cell, input, { threads: 2, onProgress: (done, total) => progress.push(done / total) });
    const three = followTrajectory(run.cell, input, { threads: 3 });
    assert.equal(one.unexplained, 0);
    assert.ok(one.certifiedTies > 0);
    assert.deepEqual(two, one);
    assert.deepEqual(three, one);
    assert.equal(progress.at(-1), 1);
    assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]!));
  });

  it('a planted difference is reported the same way by every split', async () => {
    const c = corpusCase('scale_b_i40_h256');
    const steps = 40;
    const x = c.inputs()[0]!;
    const batch = x.shape[1]!;
    const inputs = new Map([[flavourInputNames(c, 'qonnx')[0]!, { shape: [steps, batch, x.shape[2]!], data: x.data.subarray(0, steps * batch * x.shape[2]!) }]]);
    const { runs } = await runCells(c.file('qonnx'), inputs);
    const run = runs[0]!;
    const H = run.cell.hiddenSize;
    const observed = Float32Array.from(c.outputs()[0]!.data.subarray(0, steps * batch * H));
    // two elements one output LSB off: (step 5, batch 3, unit 200) and (step 2, batch 9, unit 7)
    const lsb = run.cell.outputQuant.scale;
    for (const [t, b, j] of [[5, 3, 200], [2, 9, 7]] as const) observed[(t * batch + b) * H + j] = Math.fround(observed[(t * batch + b) * H + j]! + lsb);
    const input = { steps, batch, x: run.x, h0: run.h0, c0: run.c0, observedHidden: observed };
    const one = followTrajectory(run.cell, input, { threads: 1 });
    const two = followTrajectory(run.cell, input, { threads: 2 });
    assert.deepEqual(two, one);
    // the first in time order; the next steps of those rows read the altered state and differ too
    assert.deepEqual([one.unexplainedSamples[0]!.step, one.unexplainedSamples[0]!.batch, one.unexplainedSamples[0]!.unit], [2, 9, 7]);
    assert.ok(one.unexplainedSamples.some((r) => r.step === 5 && r.batch === 3 && r.unit === 200));
  });
});
