import { InputError, UsageError } from '../errors.js';
import { readInputFile } from '../onnx/files.js';
import { readNpy, type NdArray } from '../run/npy.js';
import { listNpz, readNpzEntry } from '../run/npz.js';

const MAX_NPZ_BYTES = 2 ** 31;

/** An array read for a graph input or output, with where it came from ("x.npy", "a.npz:x") and its stored element type. */
export interface LoadedArray {
  array: NdArray;
  label: string;
  /** numpy's descr, e.g. '<f4' */
  descr: string;
}

/**
 * Reads arrays for the named graph inputs or outputs: .npy files in the names' order, or one
 * .npz whose entries are named after them (or arr_0, arr_1, ... in order, as numpy.savez
 * names positional arrays).
 */
export function loadArrays(files: readonly string[], names: readonly string[], what: string): Map<string, NdArray> {
  return new Map([...loadArraySources(files, names, what)].map(([name, loaded]) => [name, loaded.array]));
}

/** loadArrays, keeping each array's source and stored element type (for messages and type checks). */
export function loadArraySources(files: readonly string[], names: readonly string[], what: string): Map<string, LoadedArray> {
  if (files.length === 1 && files[0]!.toLowerCase().endsWith('.npz')) return loadNpz(files[0]!, names, what);
  if (files.length !== names.length) {
    throw new UsageError(`${files.length} file(s) given for ${names.length} ${what} (${names.join(', ')})`);
  }
  return new Map(names.map((name, i) => [name, { ...readNpy(readInputFile(files[i]!), files[i]!), label: files[i]! }]));
}

function loadNpz(file: string, names: readonly string[], what: string): Map<string, LoadedArray> {
  const bytes = readInputFile(file);
  const entries = new Map(listNpz(bytes, file).filter((e) => e.name.endsWith('.npy')).map((e) => [e.name.replace(/\.npy$/, ''), e]));
  const keys = [...entries.keys()];
  const positional = names.map((_, i) => `arr_${i}`);
  const chosen = names.every((n) => entries.has(n))
    ? names
    : keys.length === names.length && positional.every((k) => entries.has(k))
      ? positional
      : undefined;
  if (!chosen) {
    const missing = names.filter((n) => !entries.has(n));
    throw new InputError(`holds ${keys.join(', ') || 'no arrays'}; expected ${what} named ${missing.join(', ')} (or arr_0... in order)`, {
      file,
    });
  }
  // Declared sizes are checked before anything is inflated; the entries not needed are never inflated.
  const total = chosen.reduce((sum, key) => sum + entries.get(key)!.size, 0);
  if (total > MAX_NPZ_BYTES) throw new InputError(`its arrays would take ${total} bytes, more than the ${MAX_NPZ_BYTES} qlstm reads`, { file });
  return new Map(names.map((n, i) => {
    const entry = entries.get(chosen[i]!)!;
    return [n, { ...readNpy(readNpzEntry(bytes, entry, file), `${file}:${entry.name}`), label: `${file}:${chosen[i]!}` }];
  }));
}
