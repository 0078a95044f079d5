import { UnsupportedModelError, type ErrorLocation } from '../errors.js';
import { DataType, dataTypeName } from '../ir/data-type.js';
import type { Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { integerRange } from '../quant/range.js';
import { isRoundingMode, ROUNDING_MODES, type RoundingMode } from '../quant/rounding.js';
import { constantOf } from './constants.js';
import type { Quantizer } from './description.js';

export const MIN_BITS = 2;
/** float32 holds every integer up to 2^24 exactly: the widest cell quantizer converted exactly. */
export const MAX_CELL_BITS = 24;
/**
 * Scales are accepted in [2^-60, 2^60]: far beyond any calibrated quantizer, and inside the
 * range where codes times scale, and values divided by scale, stay normal float32 numbers.
 */
export const MIN_SCALE = 2 ** -60;
export const MAX_SCALE = 2 ** 60;
const MAX_ZERO_POINT = 2 ** 24;

/** Reads a constant input and describes precisely why not when it cannot. */
export function constantInput(node: Node, index: number, at: ErrorLocation): Tensor {
  const value = node.input(index);
  if (!value) throw new UnsupportedModelError('is missing', at);
  const tensor = constantOf(value);
  if (!tensor) {
    const source = value.producer ? `the output of node ${value.producer.label()} (${value.producer.opType})` : 'a graph input';
    throw new UnsupportedModelError(`"${value.name}" is ${source}, expected a constant`, at);
  }
  return tensor;
}

/** The single element of a constant input (shape [] or any shape with one element). */
export function scalarInput(node: Node, index: number, at: ErrorLocation): { value: number; dataType: number } {
  const tensor = constantInput(node, index, at);
  if (tensor.size !== 1) {
    throw new UnsupportedModelError(`has shape [${tensor.dims.join(', ')}], expected a single value`, at);
  }
  return { value: tensor.numbers(at)[0]!, dataType: tensor.dataType };
}

export function checkPositiveFinite(scale: number, at: ErrorLocation): void {
  if (!Number.isFinite(scale) || scale <= 0) throw new UnsupportedModelError(`scale is ${scale}, expected a finite number greater than 0`, at);
}

export function checkScale(scale: number, at: ErrorLocation): number {
  checkPositiveFinite(scale, at);
  if (scale < MIN_SCALE || scale > MAX_SCALE) {
    throw new UnsupportedModelError(`scale is ${scale}, outside [2^-60, 2^60] where qlstm's float32 arithmetic is exact`, at);
  }
  return scale;
}

export function checkBitWidth(bits: number, at: ErrorLocation): number {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_CELL_BITS) {
    throw new UnsupportedModelError(
      `bit width is ${bits}; qlstm converts cell quantizers of ${MIN_BITS} to ${MAX_CELL_BITS} bits exactly (float32 holds every code up to 2^24)`,
      at,
    );
  }
  return bits;
}

export function checkZeroPoint(zeroPoint: number, at: ErrorLocation): number {
  if (!Number.isInteger(zeroPoint) || Math.abs(zeroPoint) > MAX_ZERO_POINT) {
    throw new UnsupportedModelError(`zero point is ${zeroPoint}, expected an integer of magnitude at most 2^24`, at);
  }
  return zeroPoint;
}

/** A 0/1 integer attribute. */
export function intFlag(node: Node, name: string, at: ErrorLocation, fallback: boolean | undefined): boolean {
  const attribute = node.attribute(name);
  if (!attribute) {
    if (fallback !== undefined) return fallback;
    throw new UnsupportedModelError(`has no attribute "${name}"`, at);
  }
  const v = attribute.value;
  if (v.kind !== 'int' || (v.value !== 0n && v.value !== 1n)) {
    const shown = v.kind === 'int' || v.kind === 'float' ? String(v.value) : `a ${v.kind} attribute`;
    throw new UnsupportedModelError(`attribute "${name}" is ${shown}, expected 0 or 1`, at);
  }
  return v.value === 1n;
}

/** A rounding-mode string attribute (qonnx upper-cases it before use, so does qlstm). */
export function readRounding(node: Node, name: string, at: ErrorLocation, fallback: RoundingMode | undefined): RoundingMode {
  const attribute = node.attribute(name);
  if (!attribute) {
    if (fallback !== undefined) return fallback;
    throw new UnsupportedModelError(`has no attribute "${name}"`, at);
  }
  if (attribute.value.kind !== 'string') throw new UnsupportedModelError(`attribute "${name}" is a ${attribute.value.kind} attribute, expected a string`, at);
  const mode = new TextDecoder().decode(attribute.value.value).toUpperCase();
  if (!isRoundingMode(mode)) {
    throw new UnsupportedModelError(`attribute "${name}" is "${mode}"; qlstm converts the rounding modes ${ROUNDING_MODES.join(', ')}`, at);
  }
  return mode;
}

const ZERO_POINT_TYPES: readonly number[] = [DataType.FLOAT, DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32];

/** Reads (scale, zero point, bit width) inputs starting at `first`, with flags given by the caller. */
export function readQuantizerInputs(
  node: Node,
  first: number,
  flags: { signed: boolean; narrow: boolean; rounding: RoundingMode },
  where: (index: number) => ErrorLocation,
): Quantizer {
  const scale = scalarInput(node, first, where(first));
  if (scale.dataType !== DataType.FLOAT) throw new UnsupportedModelError(`is ${dataTypeName(scale.dataType)}, expected float`, where(first));
  checkScale(scale.value, where(first));
  const zeroPoint = scalarInput(node, first + 1, where(first + 1));
  if (!ZERO_POINT_TYPES.includes(zeroPoint.dataType)) {
    throw new UnsupportedModelError(`is ${dataTypeName(zeroPoint.dataType)}, expected float or an integer type`, where(first + 1));
  }
  checkZeroPoint(zeroPoint.value, where(first + 1));
  const bits = checkBitWidth(scalarInput(node, first + 2, where(first + 2)).value, where(first + 2));
  return makeQuantizer(scale.value, zeroPoint.value, bits, flags.signed, flags.narrow, flags.rounding);
}

export function makeQuantizer(scale: number, zeroPoint: number, bitWidth: number, signed: boolean, narrow: boolean, rounding: RoundingMode): Quantizer {
  return { scale, zeroPoint, bitWidth, signed, narrow, rounding, ...integerRange(bitWidth, signed, narrow) };
}
