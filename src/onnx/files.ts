import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { decodeModelProto, PROTOBUF_LIMIT } from './codec.js';
import { loadExternalData, type ExternalFile } from './external-data.js';
import { importModel } from './import.js';

/** Reads a file that must exist and be a regular file, with one clear error otherwise. */
export function readInputFile(file: string, maxBytes = PROTOBUF_LIMIT): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`, { file });
  }
  if (stat.isDirectory()) throw new InputError('is a folder, not a file', { file });
  if (!stat.isFile()) throw new InputError('is not a regular file', { file });
  if (stat.size > maxBytes) {
    throw new InputError(`${stat.size} bytes is more than the ${maxBytes} bytes qlstm reads from one file`, { file });
  }
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new InputError(`cannot read it (${(error as NodeJS.ErrnoException).code})`, { file });
  }
}

/** Loads an ONNX model, with any external data it references, into the IR. */
export function readModel(file: string): Model {
  return readModelWithDataFiles(file).model;
}

/** readModel, and the files the model's external data lives in (checked, not yet read). */
export function readModelWithDataFiles(file: string): { model: Model; dataFiles: ExternalFile[] } {
  const proto = decodeModelProto(readInputFile(file), file);
  const model = importModel(proto, file);
  const dataFiles = loadExternalData(model, path.dirname(path.resolve(file)));
  return { model, dataFiles };
}
