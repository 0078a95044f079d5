import { Worker } from 'node:worker_threads';
import { InputError, InternalError, QlstmError, UnsupportedModelError, UsageError, type ErrorLocation } from '../errors.js';
import type { NdArray } from '../run/npy.js';
import type { ReferenceBoundary, ReferenceCell, TrajectoryInput, TrajectoryReport } from '../reference/types.js';

/**
 * The trajectory check's input for one cell from values a run of the model gave: the cell's
 * input sequence and initial states, and `hidden` / `lastCell` as the observed outputs
 * (the model's own, or goldens laid out the same way). Sequences become time-first.
 */
export function trajectoryInput(
  cell: ReferenceCell,
  boundary: ReferenceBoundary,
  values: Record<string, NdArray>,
  hidden: NdArray,
  lastCell: Float32Array | undefined,
  file: string,
): TrajectoryInput {
  const x = values[boundary.input]!;
  if (x.shape.length !== 3 || x.shape[2] !== cell.inputSize) {
    throw new InputError(`cell "${cell.name}": its input "${boundary.input}" has shape [${x.shape.join(', ')}], expected 3 axes ending in ${cell.inputSize}`, { file });
  }
  const [steps, batch] = cell.batchFirst ? [x.shape[1]!, x.shape[0]!] : [x.shape[0]!, x.shape[1]!];
  const H = cell.hiddenSize;
  const state = (name: string | null, what: string): Float32Array => {
    if (name === null) return new Float32Array(batch * H);
    const v = values[name]!;
    if (v.data.length !== batch * H) throw new InputError(`cell "${cell.name}": its ${what} "${name}" has shape [${v.shape.join(', ')}], expected ${batch} x ${H} elements`, { file });
    return v.data;
  };
  const expectedHidden = cell.batchFirst ? [batch, steps, H] : [steps, batch, H];
  if (hidden.data.length !== steps * batch * H) {
    throw new InputError(`cell "${cell.name}": its hidden states have shape [${hidden.shape.join(', ')}], expected [${expectedHidden.join(', ')}]`, { file });
  }
  return {
    steps,
    batch,
    x: cell.batchFirst ? swapLeadingAxes(x.data, batch, steps, cell.inputSize) : x.data,
    h0: state(boundary.initialHidden, 'initial hidden state'),
    c0: state(boundary.initialCell, 'initial cell state'),
    observedHidden: cell.batchFirst ? swapLeadingAxes(hidden.data, batch, steps, H) : hidden.data,
    ...(lastCell && lastCell.length === batch * H ? { observedLastCell: lastCell } : {}),
  };
}

/** [A, B, F] -> [B, A, F] */
function swapLeadingAxes(data: Float32Array, a: number, b: number, features: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) out.set(data.subarray((i * b + j) * features, (i * b + j + 1) * features), (j * a + i) * features);
  }
  return out;
}

/**
 * Trajectory reports by their inputs: the levels of onnxruntime usually give the same
 * values, and the goldens' trajectory equals the model's where they agree, so each
 * distinct input is followed once. Each runs in a worker thread, so that onnxruntime (which
 * blocks the thread that calls it) runs the next level meanwhile.
 */
export class TrajectoryCache {
  private readonly entries: { cell: ReferenceCell; input: TrajectoryInput; report: Promise<TrajectoryReport> }[] = [];
  private readonly workers = new Set<Worker>();

  follow(cell: ReferenceCell, input: TrajectoryInput, onProgress?: (done: number, total: number) => void): Promise<TrajectoryReport> {
    const hit = this.entries.find((e) => e.cell === cell && sameInput(e.input, input));
    if (hit) return hit.report;
    const report = inWorker(cell, input, this.workers, onProgress);
    report.catch(() => {}); // awaited later; an early failure must not go unhandled meanwhile
    this.entries.push({ cell, input, report });
    return report;
  }

  /** Stops what is still running (when verification ends early, with an error). */
  async stop(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.terminate()));
  }
}

const ERRORS: Record<string, new (detail: string, at?: ErrorLocation) => QlstmError> = { InputError, UsageError, UnsupportedModelError, InternalError };

function inWorker(cell: ReferenceCell, input: TrajectoryInput, running: Set<Worker>, onProgress?: (done: number, total: number) => void): Promise<TrajectoryReport> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const worker = new Worker(new URL('./trajectory-worker.js', import.meta.url), { workerData: { cell, input } });
    running.add(worker);
    worker.on('message', (m: { progress?: [number, number]; report?: TrajectoryReport; error?: { kind: string; detail: string; at: ErrorLocation } }) => {
      if (m.progress) onProgress?.(...m.progress);
      else if (m.report) {
        settled = true;
        resolve(m.report);
      } else if (m.error) {
        settled = true;
        const Kind = ERRORS[m.error.kind];
        reject(Kind ? new Kind(m.error.detail, m.error.at) : new InternalError(`following cell "${cell.name}" failed: ${m.error.detail}`));
      }
    });
    worker.on('error', (error) => {
      settled = true;
      reject(new InternalError(`following cell "${cell.name}" failed: ${error.message}`));
    });
    worker.on('exit', (code) => {
      running.delete(worker);
      if (!settled) reject(new InternalError(`following cell "${cell.name}": its worker stopped (exit code ${code})`));
    });
  });
}

function sameInput(a: TrajectoryInput, b: TrajectoryInput): boolean {
  return (
    a.steps === b.steps &&
    a.batch === b.batch &&
    same(a.x, b.x) &&
    same(a.h0, b.h0) &&
    same(a.c0, b.c0) &&
    same(a.observedHidden, b.observedHidden) &&
    (a.observedLastCell === undefined ? b.observedLastCell === undefined : b.observedLastCell !== undefined && same(a.observedLastCell, b.observedLastCell))
  );
}

/** Bit-identical arrays. */
function same(a: Float32Array, b: Float32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
