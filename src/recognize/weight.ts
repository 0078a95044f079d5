import { UnsupportedModelError, type ErrorLocation } from '../errors.js';
import { DataType } from '../ir/data-type.js';
import type { Value } from '../ir/graph.js';
import { evaluateConstant } from './constant-value.js';
import type { CellWeight } from './description.js';

/**
 * A weight input of the cell as the float32 matrix Brevitas multiplies with: its constant
 * expression (DequantizeLinear <- [Clip] <- [QuantizeLinear] <- initializer, a qonnx Quant,
 * or a float initializer when weights are not quantized) evaluated exactly.
 */
export function readCellWeight(value: Value | null, at: ErrorLocation): CellWeight {
  const evaluated = evaluateConstant(value, at);
  if (evaluated.dataType !== DataType.FLOAT) {
    throw new UnsupportedModelError(`"${value!.name}" holds integers that are not dequantized, expected float weights`, at);
  }
  if (evaluated.dims.length !== 2) {
    throw new UnsupportedModelError(`weight "${value!.name}" has shape [${evaluated.dims.join(', ')}], expected a matrix`, at);
  }
  const [rows, cols] = evaluated.dims as [number, number];
  const q = evaluated.quantizedFrom;
  return {
    rows,
    cols,
    values: evaluated.data as Float32Array,
    summary: q ? { kind: 'integer', ...q } : { kind: 'float' },
    sourceName: evaluated.source.name,
  };
}

/** A bias input as float32 values: [H], or null for Brevitas' bias=False (a scalar 0 or nothing). */
export function readCellBias(value: Value | null, hiddenSize: number, at: ErrorLocation): Float32Array | null {
  if (!value) return null;
  const evaluated = evaluateConstant(value, at);
  if (evaluated.dataType !== DataType.FLOAT) throw new UnsupportedModelError(`"${value.name}" holds integers that are not dequantized, expected a float bias`, at);
  if (evaluated.data.length === 1 && evaluated.data[0] === 0 && hiddenSize !== 1) return null;
  if (evaluated.dims.length !== 1 || evaluated.dims[0] !== hiddenSize) {
    throw new UnsupportedModelError(`has shape [${evaluated.dims.join(', ')}], expected [${hiddenSize}]`, at);
  }
  return evaluated.data as Float32Array;
}
