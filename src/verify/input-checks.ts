import { realInputs } from '../ir/graph.js';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { LoadedArray } from './arrays.js';

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
export function checkInputTypes(arrays: Map<string, LoadedArray>, castInputs: boolean, what: 'input' | 'expected'): void {
  if (castInputs && what === 'input') return;
  for (const [name, { label: where, descr }] of arrays) {
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
export function checkInputShapes(model: Model, inputs: Map<string, LoadedArray>): void {
  for (const input of model.graph.inputs) {
    const array = inputs.get(input.name)?.array;
    const type = input.info.type;
    if (!array || type?.kind !== 'tensor' || !type.shape) continue;
    const declared = type.shape;
    const fits = declared.length === array.shape.length && declared.every((d, i) => d.value === undefined || d.value === array.shape[i]);
    if (!fits) {
      const where = inputs.get(input.name)!.label;
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
