import fs from 'node:fs';
import path from 'node:path';
import { convertModel } from '../../src/convert.js';
import type { Model } from '../../src/ir/model.js';
import { exportModel } from '../../src/onnx/export.js';
import { readModel } from '../../src/onnx/files.js';

/**
 * Converts an export into `out` (once, unless edited). `edit` may change the converted model
 * and its parsed `qlstm.cells` metadata, or return the metadata's new text, before it is written.
 */
export function convertFixture(
  originalFile: string,
  out: string,
  edit?: (converted: Model, metadata: Record<string, unknown>) => string | void,
): string {
  if (fs.existsSync(out) && !edit) return out;
  const converted = readModel(originalFile);
  convertModel(converted);
  const metadata = JSON.parse(converted.metadata('qlstm.cells') ?? '{}') as Record<string, unknown>;
  if (edit) converted.setMetadata('qlstm.cells', edit(converted, metadata) ?? JSON.stringify(metadata));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, exportModel(converted));
  return out;
}
