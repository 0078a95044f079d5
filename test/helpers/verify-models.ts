import fs from 'node:fs';
import path from 'node:path';
import { convertModel } from '../../src/convert.js';
import type { Model } from '../../src/ir/model.js';
import { exportModel } from '../../src/onnx/export.js';
import { readModel } from '../../src/onnx/files.js';

/**
 * Converts an export into `out` (once, unless edited). `edit` may change the converted model
 * and its parsed `qlstm.cells` metadata, or return the metadata's new text (null: no metadata),
 * before it is written.
 */
export function convertFixture(
  originalFile: string,
  out: string,
  edit?: (converted: Model, metadata: Record<string, unknown>) => string | null | void,
): string {
  if (fs.existsSync(out) && !edit) return out;
  const converted = readModel(originalFile);
  convertModel(converted);
  const metadata = JSON.parse(converted.metadata('qlstm.cells') ?? '{}') as Record<string, unknown>;
  if (edit) {
    const text = edit(converted, metadata);
    if (text === null) converted.metadataProps = converted.metadataProps.filter(([key]) => key !== 'qlstm.cells');
    else converted.setMetadata('qlstm.cells', text ?? JSON.stringify(metadata));
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, exportModel(converted));
  return out;
}
