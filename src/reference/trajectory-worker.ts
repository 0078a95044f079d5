/** A worker thread of trajectory-parallel.ts: follows one range of units and posts its report. */
import { workerData, type MessagePort } from 'node:worker_threads';
import { followUnits, type UnitRange } from './trajectory.js';
import type { ReferenceCell, TrajectoryInput } from './types.js';

const { cell, input, range, port, flags, index, threads } = workerData as {
  cell: ReferenceCell;
  input: TrajectoryInput;
  range: UnitRange;
  port: MessagePort;
  flags: Int32Array;
  index: number;
  threads: number;
};
try {
  const report = followUnits(cell, input, range, (done) => Atomics.store(flags, threads + index, done));
  port.postMessage({ report });
} catch (error) {
  port.postMessage({ error: String((error as Error)?.message ?? error), name: (error as Error)?.name });
}
Atomics.store(flags, index, 1);
Atomics.notify(flags, index);
