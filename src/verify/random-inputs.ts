import { realInputs } from '../ir/graph.js';
import { UsageError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { CellDescription } from '../recognize/description.js';
import type { NdArray } from '../run/npy.js';
import { BATCH_DIM, SEQUENCE_DIM, sequenceAxes } from '../recognize/sequence-axes.js';
import { seededRandom } from '../util/random.js';

const MAX_RANDOM_ELEMENTS = 2 ** 28;

export interface RandomInputOptions {
  seed: number;
  sequenceLength?: number;
  batch?: number;
}

/**
 * Uniform values in [-1, 1) for every real graph input of `model`, shaped as declared, with
 * the time and batch axes of inputs that feed the cells set by the options when given.
 */
export function randomInputs(model: Model, cells: readonly CellDescription[], options: RandomInputOptions): Map<string, NdArray> {
  const next = seededRandom(options.seed);
  const axes = sequenceAxes(cells);
  const result = new Map<string, NdArray>();
  for (const input of realInputs(model.graph)) {
    const type = input.info.type;
    if (type?.kind !== 'tensor' || !type.shape) throw new UsageError(`graph input "${input.name}" has no declared shape; pass --inputs`);
    const named = axes.get(input);
    const shape = type.shape.map((dim, axis) => {
      const role = named?.get(axis);
      const override = role === SEQUENCE_DIM ? options.sequenceLength : role === BATCH_DIM ? options.batch : undefined;
      const size = override ?? dim.value;
      if (size === undefined) throw new UsageError(`graph input "${input.name}" has axis ${axis} of unknown size; pass --inputs`);
      return size;
    });
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > MAX_RANDOM_ELEMENTS) {
      throw new UsageError(`graph input "${input.name}" of shape [${shape.join(', ')}] is too large for random inputs; pass --inputs`);
    }
    const data = new Float32Array(count);
    for (let i = 0; i < data.length; i++) data[i] = next() * 2 - 1;
    result.set(input.name, { shape, data });
  }
  return result;
}
