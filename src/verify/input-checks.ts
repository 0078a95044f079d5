import { realInputs } from '../ir/graph.js';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { readInputFile } from '../onnx/files.js';
import type { NdArray } from '../run/npy.js';
import { listNpz, readNpzEntry } from '../run/npz.js';

/** Where a named array came from ("x.npy", or "a.npz:x") and its .npy element type. */
export interface ArraySource {
  label: string;
  /** numpy's descr, e.g. '<f4' */
  descr: string;
}

/**
 * The source of each named array, by arrays.ts' rules (.npy files in order, or one .npz by
 * name or arr_0, arr_1, ...), read from the headers alone: the loader checked the arrays.
 */
export function arraySources(files: readonly string[], names: readonly string[]): Map<string, ArraySource> {
  const sources = new Map<string, ArraySource>();
  if (files.length === 1 && files[0]!.toLowerCase().endsWith('.npz')) {
    const file = files[0]!;
    // The archive's own checked reader (sizes capped, CRC checked), and only the entries needed.
    const archive = readInputFile(file);
    const byKey = new Map(listNpz(archive, file).filter((e) => e.name.endsWith('.npy')).map((e) => [e.name.replace(/\.npy$/, ''), e]));
    const byName = names.every((n) => byKey.has(n));
    names.forEach((name, i) => {
      const key = byName ? name : `arr_${i}`;
      const entry = byKey.get(key);
      if (entry) sources.set(name, { label: `${file}:${key}`, descr: descrOf(readNpzEntry(archive, entry, file)) });
    });
  } else {
    names.forEach((name, i) => {
      const file = files[i];
      if (file !== undefined) sources.set(name, { label: file, descr: descrOf(readInputFile(file)) });
    });
  }
  return sources;
}

function descrOf(bytes: Uint8Array): string {
  const header = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 4096)));
  // numpy's header is a Python dict: either quote, and a key given twice keeps its last value
  const found = [...header.matchAll(/['"]descr['"]\s*:\s*['"]([^'"]*)['"]/g)];
  return found.at(-1)?.[1] ?? '?';
}

const TYPE_NAMES: Record<string, string> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<i8': 'int64',
  '<i4': 'int32',
  '<i2': 'int16',
  '<u2': 'uint16',
  '|i1': 'int8',
  '|u1': 'uint8',
};

/**
 * Input arrays must be float32 unless --cast-inputs says to convert them: a float64 array
 * rounded to float32 silently would verify the model on inputs the user never gave it.
 */
export function checkInputTypes(files: readonly string[], names: readonly string[], castInputs: boolean, what: 'input' | 'expected'): void {
  if (castInputs && what === 'input') return;
  for (const [name, { label: where, descr }] of arraySources(files, names)) {
    if (descr === '<f4') continue;
    const type = TYPE_NAMES[descr] ?? descr;
    if (what === 'input') {
      throw new UsageError(
        `${where} holds ${type} values, graph input "${name}" is float32: save it as float32 (numpy: x.astype(numpy.float32)) or pass --cast-inputs to convert it`,
      );
    }
    throw new UsageError(`${where} holds ${type} values, output "${name}" is float32: save the expected outputs as float32, as the model computes them`);
  }
}

/** Each input array must have the rank and the fixed sizes its graph input declares. */
export function checkInputShapes(model: Model, inputs: Map<string, NdArray>, files: readonly string[]): void {
  const sources = arraySources(files, [...inputs.keys()]);
  for (const input of model.graph.inputs) {
    const array = inputs.get(input.name);
    const type = input.info.type;
    if (!array || type?.kind !== 'tensor' || !type.shape) continue;
    const declared = type.shape;
    const fits = declared.length === array.shape.length && declared.every((d, i) => d.value === undefined || d.value === array.shape[i]);
    if (!fits) {
      const where = sources.get(input.name)?.label ?? input.name;
      const expected = `[${declared.map((d) => d.value ?? d.param ?? '?').join(', ')}]`;
      throw new UsageError(
        `${where} has shape [${array.shape.join(', ')}] but graph input "${input.name}" of ${path.basename(model.source)} is ${expected}: give the arrays in graph-input order (${realInputNames(model).join(', ')})`,
      );
    }
  }
}

export function realInputNames(model: Model): string[] {
  return realInputs(model.graph).map((v) => v.name);
}
