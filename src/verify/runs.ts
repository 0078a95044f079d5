import type { NdArray } from '../run/npy.js';
import { openSession, type ModelRunner, type OptimizationLevel } from '../run/session.js';
import type { RunDisagreement } from './report.js';

/** Each session is run this many times; every run must give the first run's bits. */
export const RUNS_PER_SESSION = 2;

export interface RepeatedRun {
  outputs: Record<string, NdArray>;
  disagreements: RunDisagreement[];
}

/**
 * Opens one onnxruntime session at `level`, runs it RUNS_PER_SESSION times on the same
 * feeds and compares every run with the first, bit for bit: a runtime whose second run
 * differs (onnxruntime 1.18 on bidirectional models) cannot be verified by a single run.
 */
export async function runRepeatedly(
  bytes: Uint8Array,
  level: OptimizationLevel,
  feeds: Record<string, NdArray>,
  source: string,
  onRun?: (run: number) => void,
): Promise<RepeatedRun> {
  const session = await openSession(bytes, { level, source });
  try {
    return await repeatRuns(session, feeds, source, onRun);
  } finally {
    await session.release();
  }
}

/** runRepeatedly on a session the caller opened (and releases), for many feeds on one model. */
export async function repeatRuns(
  session: ModelRunner,
  feeds: Record<string, NdArray>,
  source: string,
  onRun?: (run: number) => void,
): Promise<RepeatedRun> {
  onRun?.(1);
  const first = await session.run(feeds);
  const disagreements: RunDisagreement[] = [];
  for (let run = 2; run <= RUNS_PER_SESSION; run++) {
    onRun?.(run);
    const again = await session.run(feeds);
    for (const [name, array] of Object.entries(first)) {
      const elements = countDifferent(array, again[name]);
      if (elements) disagreements.push({ run, model: source, output: name, elements });
    }
  }
  return { outputs: first, disagreements };
}

/** Elements that are not bit-identical (NaN equals NaN); a different shape counts all. */
function countDifferent(a: NdArray, b: NdArray | undefined): number {
  if (!b || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return Math.max(a.data.length, 1);
  const x = new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length);
  const y = new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length);
  let count = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(Number.isNaN(a.data[i]) && Number.isNaN(b.data[i]))) count++;
  return count;
}
