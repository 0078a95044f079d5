import { UsageError } from '../../errors.js';
import type { Model } from '../../ir/model.js';
import { exportModel } from '../../onnx/export.js';
import { readModel } from '../../onnx/files.js';
import { recognizeCells } from '../../recognize/cell.js';
import type { OptimizationLevel } from '../../run/session.js';
import { loadArrays } from '../../verify/arrays.js';
import { verifyAgainstGoldens } from '../../verify/golden.js';
import { randomInputs } from '../../verify/random-inputs.js';
import { verifyAgainstReference } from '../../verify/reference-mode.js';
import type { VerifyReport } from '../../verify/report.js';
import { json, type Output } from '../output.js';
import { renderVerifyReport } from '../render-verify.js';

export interface VerifyCommandOptions {
  models: string[];
  inputs: string[];
  expected: string[];
  toleranceLsb: number;
  toleranceAbs: number;
  levels: OptimizationLevel[];
  seed: number;
  sequenceLength?: number;
  batch?: number;
  json: boolean;
}

/** Exit 0 when every output is within tolerance at every level, 1 when any is not. */
export async function verifyCommand(options: VerifyCommandOptions, io: Output): Promise<number> {
  const report = options.models.length === 1 ? await goldenMode(options) : await referenceMode(options);
  io.out(options.json ? json(report) : renderVerifyReport(report));
  return report.passed ? 0 : 1;
}

function realInputNames(model: Model): string[] {
  const initializers = new Set(model.graph.initializers);
  return model.graph.inputs.filter((v) => !initializers.has(v)).map((v) => v.name);
}

async function goldenMode(options: VerifyCommandOptions): Promise<VerifyReport> {
  if (!options.inputs.length || !options.expected.length) {
    throw new UsageError('with one model, give --inputs and --expected (or give ORIGINAL CONVERTED for reference mode)');
  }
  const model = readModel(options.models[0]!);
  return verifyAgainstGoldens({
    model,
    bytes: exportModel(model),
    inputs: loadArrays(options.inputs, realInputNames(model), 'graph inputs'),
    expected: loadArrays(options.expected, model.graph.outputs.map((v) => v.name), 'graph outputs'),
    tolerance: { lsb: options.toleranceLsb, abs: options.toleranceAbs },
    levels: options.levels,
  });
}

async function referenceMode(options: VerifyCommandOptions): Promise<VerifyReport> {
  if (options.models.length !== 2) throw new UsageError(`expected MODEL or ORIGINAL CONVERTED, got ${options.models.length} files`);
  if (options.expected.length) throw new UsageError('--expected goes with one model (golden mode), not with ORIGINAL CONVERTED');
  const original = readModel(options.models[0]!);
  const converted = readModel(options.models[1]!);
  const cells = recognizeCells(original);
  const inputs = options.inputs.length
    ? loadArrays(options.inputs, realInputNames(original), 'graph inputs')
    : randomInputs(original, cells, {
        seed: options.seed,
        ...(options.sequenceLength ? { sequenceLength: options.sequenceLength } : {}),
        ...(options.batch ? { batch: options.batch } : {}),
      });
  return verifyAgainstReference({
    original,
    cells,
    converted,
    inputs,
    tolerance: { lsb: options.toleranceLsb, abs: options.toleranceAbs },
    levels: options.levels,
  });
}
