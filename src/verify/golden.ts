import { InputError, UsageError } from '../errors.js';
import { cellSummariesOf } from '../describe.js';
import type { Model } from '../ir/model.js';
import type { NdArray } from '../run/npy.js';
import { openSession, type OptimizationLevel } from '../run/session.js';
import { isCellNode } from '../recognize/cell.js';
import { compareOutput, type Tolerance } from './compare.js';
import { outputMeanings } from './meaning.js';
import { levelReport, type VerifyReport } from './report.js';

export interface GoldenCheck {
  model: Model;
  bytes: Uint8Array;
  inputs: Map<string, NdArray>;
  expected: Map<string, NdArray>;
  tolerance: Tolerance;
  levels: readonly OptimizationLevel[];
}

/** Runs the model at each optimization level and compares every output with its golden. */
export async function verifyAgainstGoldens(check: GoldenCheck): Promise<VerifyReport> {
  const { model } = check;
  if (model.graph.nodes.some(isCellNode)) {
    throw new UsageError('is a Brevitas export with QuantLSTMCell nodes, which onnxruntime cannot run: convert it first', {
      file: model.source,
    });
  }
  const meanings = outputMeanings(model, cellSummariesOf(model).cells);
  const levels = [];
  for (const level of check.levels) {
    const session = await openSession(check.bytes, { level, source: model.source });
    try {
      const missing = session.inputNames.filter((n) => !check.inputs.has(n));
      if (missing.length) throw new InputError(`no input array given for ${missing.join(', ')}`, { file: model.source });
      const feeds = Object.fromEntries(session.inputNames.map((n) => [n, check.inputs.get(n)!]));
      const got = await session.run(feeds);
      const outputs = [...check.expected].map(([name, expected]) => {
        const actual = got[name];
        if (!actual) throw new InputError(`has no output named "${name}"`, { file: model.source });
        return compareOutput(name, actual, expected, meanings.get(name) ?? { lsb: null, axes: null }, check.tolerance);
      });
      levels.push(levelReport(level, outputs));
    } finally {
      await session.release();
    }
  }
  return { mode: 'golden', model: model.source, tolerance: check.tolerance, levels, passed: levels.every((l) => l.passed) };
}
