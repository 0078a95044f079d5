import { realInputs } from '../ir/graph.js';
import { InputError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { decodeModelProto } from '../onnx/codec.js';
import { exportModel } from '../onnx/export.js';
import { importModel } from '../onnx/import.js';
import type { ReferenceBoundary } from '../reference/types.js';
import type { NdArray } from '../run/npy.js';

/** A copy of the model to edit (exposing values, cutting): the caller's model stays as it was. */
export function cloneModel(model: Model): Model {
  return importModel(decodeModelProto(exportModel(model), model.source), model.source);
}

/** The arrays for the model's real graph inputs (not initializers), all of them required. */
export function feedsFor(model: Model, inputs: Map<string, NdArray>): Record<string, NdArray> {
  const real = realInputs(model.graph).map((v) => v.name);
  const missing = real.filter((n) => !inputs.has(n));
  if (missing.length) throw new InputError(`no input array given for ${missing.map((n) => `"${n}"`).join(', ')}`, { file: model.source });
  return Object.fromEntries(real.map((n) => [n, inputs.get(n)!]));
}

/** The values a cell reads: its input and the initial states it takes as values. */
export function cellInputNames(b: ReferenceBoundary): string[] {
  return [b.input, b.initialHidden, b.initialCell].filter((n): n is string => n !== null);
}

/** Every value at a cell's boundary: what it reads and what it writes. */
export function boundaryNames(b: ReferenceBoundary): string[] {
  return [...cellInputNames(b), ...b.outputs];
}
