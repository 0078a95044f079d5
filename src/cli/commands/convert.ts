import fs from 'node:fs';
import path from 'node:path';
import { convertModel } from '../../convert.js';
import { describeWeights, summarizeCell } from '../../describe.js';
import { UsageError } from '../../errors.js';
import type { Layout } from '../../scan/scan.js';
import { exportModel } from '../../onnx/export.js';
import { readModel, writeFileAtomic } from '../../onnx/files.js';
import { assertRuntimeLoads } from '../../run/load-check.js';
import { formatBytes, json, style, type Output } from '../output.js';

export interface ConvertCommandOptions {
  input: string;
  output: string;
  layout: Layout;
  json: boolean;
}

export async function convertCommand(options: ConvertCommandOptions, io: Output): Promise<number> {
  refuseSameFile(options.input, options.output);
  const model = readModel(options.input);
  const { cells } = convertModel(model, { layout: options.layout });
  const bytes = exportModel(model);
  await assertRuntimeLoads(bytes, options.input);
  fs.mkdirSync(path.dirname(path.resolve(options.output)), { recursive: true });
  writeFileAtomic(options.output, bytes);

  const summaries = cells.map((c) => summarizeCell(c.description, c.layout));
  if (options.json) {
    io.out(json({ input: options.input, output: options.output, bytes: bytes.length, cells: summaries }));
    return 0;
  }
  io.out(`${style.ok('converted')} ${options.input} ${style.dim('->')} ${options.output} (${formatBytes(bytes.length)})`);
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
    io.out(`  ${style.strong(c.name)} [${c.flavour}]: ${parts.join(', ')}`);
  }
  return 0;
}

function refuseSameFile(input: string, output: string): void {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  if (real(input) === real(output)) {
    throw new UsageError(`the output path is the input file; choose another output so the original is kept`, { file: output });
  }
}
