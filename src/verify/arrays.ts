import { unzipSync } from 'fflate';
import { InputError, UsageError } from '../errors.js';
import { readInputFile } from '../onnx/files.js';
import { parseNpy, type NdArray } from '../run/npy.js';

const MAX_NPZ_BYTES = 2 ** 31;

/**
 * Reads arrays for the named graph inputs or outputs: .npy files in the names' order, or one
 * .npz whose entries are named after them (or arr_0, arr_1, ... in order, as numpy.savez
 * names positional arrays).
 */
export function loadArrays(files: readonly string[], names: readonly string[], what: string): Map<string, NdArray> {
  if (files.length === 1 && files[0]!.toLowerCase().endsWith('.npz')) return loadNpz(files[0]!, names, what);
  if (files.length !== names.length) {
    throw new UsageError(`${files.length} file(s) given for ${names.length} ${what} (${names.join(', ')})`);
  }
  return new Map(names.map((name, i) => [name, parseNpy(readInputFile(files[i]!), files[i]!)]));
}

function loadNpz(file: string, names: readonly string[], what: string): Map<string, NdArray> {
  const bytes = readInputFile(file);
  let total = 0;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (entry) => {
        total += entry.originalSize;
        if (total > MAX_NPZ_BYTES) throw new InputError(`its arrays would take more than ${MAX_NPZ_BYTES} bytes`, { file });
        return entry.name.endsWith('.npy');
      },
    });
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`not a readable .npz archive: ${(error as Error).message}`, { file });
  }
  const arrays = new Map(Object.entries(entries).map(([key, data]) => [key.replace(/\.npy$/, ''), parseNpy(data, `${file}:${key}`)]));
  const keys = [...arrays.keys()];
  if (names.every((n) => arrays.has(n))) return new Map(names.map((n) => [n, arrays.get(n)!]));
  const positional = names.map((_, i) => `arr_${i}`);
  if (keys.length === names.length && positional.every((k) => arrays.has(k))) {
    return new Map(names.map((n, i) => [n, arrays.get(positional[i]!)!]));
  }
  const missing = names.filter((n) => !arrays.has(n));
  throw new InputError(`holds ${keys.join(', ') || 'no arrays'}; expected ${what} named ${missing.join(', ')} (or arr_0... in order)`, {
    file,
  });
}
