/**
 * followTrajectory split by hidden unit across worker threads. Units are independent (each has
 * its own cell state; all read the same observed hidden states), so each worker follows a
 * range of units over the whole sequence and the reports are merged. The public API stays
 * synchronous: the calling thread waits on a shared flag (Atomics.wait) and takes each
 * worker's report with receiveMessageOnPort.
 */
import os from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { InputError, InternalError } from '../errors.js';
import { SAMPLE_LIMIT, type ReferenceCell, type TieRecord, type TrajectoryInput, type TrajectoryReport, type UnexplainedRecord } from './types.js';

/** Multiply-adds below which one thread is faster than starting workers (~0.1 s each). */
const PARALLEL_WORK = 3e8;

export function threadsFor(cell: ReferenceCell, input: TrajectoryInput): number {
  const gates = cell.cifg ? 3 : 4;
  const work = input.steps * input.batch * gates * cell.hiddenSize * (cell.inputSize + cell.hiddenSize);
  return work < PARALLEL_WORK ? 1 : Math.min(2, os.availableParallelism());
}

function shared(array: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(array.byteLength));
  out.set(array);
  return out;
}

export function followInParallel(cell: ReferenceCell, input: TrajectoryInput, threads: number, onProgress?: (done: number, total: number) => void): TrajectoryReport {
  const H = cell.hiddenSize;
  const sharedInput: TrajectoryInput = {
    steps: input.steps,
    batch: input.batch,
    x: shared(input.x),
    h0: shared(input.h0),
    c0: shared(input.c0),
    observedHidden: shared(input.observedHidden),
    ...(input.observedLastCell ? { observedLastCell: shared(input.observedLastCell) } : {}),
  };
  // flags[w] = 1 when worker w is done; flags[threads + w] = its steps done
  const flags = new Int32Array(new SharedArrayBuffer(8 * threads));
  const workers = Array.from({ length: threads }, (_, w) => {
    const first = Math.floor((w * H) / threads);
    const range = { first, count: Math.floor(((w + 1) * H) / threads) - first };
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./trajectory-worker.js', import.meta.url), {
      workerData: { cell, input: sharedInput, range, port: port2, flags, index: w, threads },
      transferList: [port2],
    });
    worker.unref();
    return { worker, port: port1 };
  });
  const reports: TrajectoryReport[] = [];
  let reported = -1;
  try {
    for (let w = 0; w < threads; w++) {
      while (Atomics.load(flags, w) === 0) {
        Atomics.wait(flags, w, 0, 250);
        if (onProgress) {
          let done = input.steps;
          for (let v = 0; v < threads; v++) done = Math.min(done, Atomics.load(flags, threads + v));
          if (done !== reported) onProgress((reported = done), input.steps);
        }
      }
      const message = receiveMessageOnPort(workers[w]!.port)?.message as { report?: TrajectoryReport; error?: string; name?: string } | undefined;
      if (!message?.report) {
        const detail = message?.error ?? 'a worker thread stopped without a report';
        throw message?.name === 'InputError' ? new InputError(detail) : new InternalError(`reference trajectory: ${detail}`);
      }
      reports.push(message.report);
    }
  } finally {
    for (const { worker, port } of workers) {
      port.close();
      void worker.terminate();
    }
  }
  if (onProgress && reported !== input.steps) onProgress(input.steps, input.steps);
  return merge(reports, cell, input);
}

/** One report from the workers' reports: counts add up, samples keep the run's order. */
function merge(reports: TrajectoryReport[], cell: ReferenceCell, input: TrajectoryInput): TrajectoryReport {
  const { steps: T, batch: B } = input;
  const H = cell.hiddenSize;
  const position = (t: number) => (cell.reverse ? T - 1 - t : t);
  const key = (r: TieRecord | UnexplainedRecord) =>
    'what' in r && r.what === 'last cell state' ? T * B * H + r.batch * H + r.unit : (position(r.step) * B + r.batch) * H + r.unit;
  const ordered = <R extends TieRecord | UnexplainedRecord>(lists: R[][]): R[] =>
    lists
      .flat()
      .sort((a, b) => key(a) - key(b))
      .slice(0, SAMPLE_LIMIT);
  const sum = (pick: (r: TrajectoryReport) => number) => reports.reduce((s, r) => s + pick(r), 0);
  const lastCells = new Set(reports.map((r) => r.lastCell));
  return {
    elements: sum((r) => r.elements),
    nominal: sum((r) => r.nominal),
    ties: sum((r) => r.ties),
    tieSamples: ordered(reports.map((r) => r.tieSamples)),
    unexplained: sum((r) => r.unexplained),
    unexplainedSamples: ordered(reports.map((r) => r.unexplainedSamples)),
    lastCell: lastCells.has('inconsistent') ? 'inconsistent' : lastCells.has('not observed') ? 'not observed' : 'consistent',
    certifiedTies: sum((r) => r.certifiedTies),
    candidateCapHits: sum((r) => r.candidateCapHits),
  };
}
