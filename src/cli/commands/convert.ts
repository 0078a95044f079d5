import fs from 'node:fs';
import path from 'node:path';
import { convertModel } from '../../convert.js';
import { CELLS_METADATA_KEY, describeWeights, summarizeCell } from '../../describe.js';
import { NODE_NAME_LIMIT, printable, UsageError } from '../../errors.js';
import type { Layout } from '../../scan/scan.js';
import { exportModel } from '../../onnx/export.js';
import type { ExternalFile } from '../../onnx/external-data.js';
import { readModel, readModelWithDataFiles } from '../../onnx/files.js';
import { assertLoadCheckBounded, assertRuntimeLoads } from '../../run/load-check.js';
import { formatBytes, json, style, type Output } from '../output.js';
import { checkOutputPath, writeFileAtomic } from '../write-output.js';

export interface ConvertCommandOptions {
  input: string;
  output: string;
  layout: Layout;
  staticShapes?: boolean;
  json: boolean;
  /** replace an existing output file */
  force: boolean;
}

export async function convertCommand(options: ConvertCommandOptions, io: Output): Promise<number> {
  refuseSameFile(options.input, options.output);
  let input: ReturnType<typeof readModelWithDataFiles> | undefined;
  if (fs.existsSync(options.output)) {
    input = readModelWithDataFiles(options.input);
    refuseDataFileOf(options.input, input.dataFiles, options.output);
  }
  checkOutputPath(options.output, options);
  const { model } = input ?? readModelWithDataFiles(options.input);
  if (model.metadata(CELLS_METADATA_KEY) !== undefined) {
    throw new UsageError(`is already converted by qlstm (its metadata has "${CELLS_METADATA_KEY}"); convert the original Brevitas export instead`, {
      file: options.input,
    });
  }
  const { cells } = convertModel(model, { layout: options.layout, staticShapes: options.staticShapes ?? false });
  assertLoadCheckBounded(model, options.input);
  const bytes = exportModel(model);
  await assertRuntimeLoads(bytes, options.input, () => readModel(options.input));
  await writeFileAtomic(options.output, bytes, options);

  const summaries = cells.map((c) => summarizeCell(c.description, c.layout));
  if (options.json) {
    io.out(json({ input: options.input, output: options.output, bytes: bytes.length, cells: summaries }));
    return 0;
  }
  io.out(`${style.ok('converted')} ${printable(options.input)} ${style.dim('->')} ${printable(options.output)} (${formatBytes(bytes.length)})`);
  for (const c of summaries) {
    const parts = [
      `input ${c.inputSize}`,
      `hidden ${c.hiddenSize}`,
      c.direction,
      c.batchFirst ? 'batch-first' : 'time-first',
      c.cifg ? 'CIFG' : undefined,
      c.bias ? 'bias' : 'no bias',
      `${describeWeights(c.weights)} weights`,
      `${c.layout} layout`,
    ].filter(Boolean);
    io.out(`  ${style.strong(printable(c.name, NODE_NAME_LIMIT))} [${c.flavour}]: ${parts.join(', ')}`);
  }
  return 0;
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function refuseSameFile(input: string, output: string): void {
  if (realPath(input) === realPath(output)) {
    throw new UsageError(`the output path is the input file; choose another output so the original is kept`, { file: output });
  }
}

/** Replacing a file the input model reads its weights from would destroy the input. */
function refuseDataFileOf(input: string, dataFiles: ExternalFile[], output: string): void {
  const target = realPath(output);
  const hit = dataFiles.find((f) => f.real === target);
  if (hit) {
    throw new UsageError(`is external data of the input model ${input} ("${printable(hit.location, NODE_NAME_LIMIT)}"); choose another output so the original is kept`, {
      file: output,
    });
  }
}
