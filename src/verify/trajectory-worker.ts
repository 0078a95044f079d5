/**
 * Runs one followTrajectory off the main thread, so that onnxruntime (which blocks the thread
 * that calls it) can run the next level while the cell is followed. Receives the cell and
 * the input, posts progress and then the report, or the error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { QlstmError } from '../errors.js';
import { followTrajectory } from '../reference/trajectory.js';
import type { ReferenceCell, TrajectoryInput } from '../reference/types.js';

const { cell, input } = workerData as { cell: ReferenceCell; input: TrajectoryInput };
try {
  let last = 0;
  const report = followTrajectory(cell, input, {
    onProgress: (done, total) => {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      parentPort!.postMessage({ progress: [done, total] });
    },
  });
  parentPort!.postMessage({ report });
} catch (error) {
  const e = error as Error;
  parentPort!.postMessage({
    error: error instanceof QlstmError ? { kind: error.name, detail: error.detail, at: error.at } : { kind: 'Error', detail: e?.message ?? String(error), at: {} },
  });
}
