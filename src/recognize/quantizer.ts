import { UnsupportedModelError, type ErrorLocation } from '../errors.js';
import { DataType, dataTypeName } from '../ir/data-type.js';
import type { Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { constantOf } from './constants.js';
import type { Quantizer, RoundingMode } from './description.js';
import { integerRange } from '../quant/range.js';

export const MIN_BITS = 2;
export const MAX_BITS = 8;

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

export function checkScale(scale: number, at: ErrorLocation): number {
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new UnsupportedModelError(`scale is ${scale}, expected a finite number greater than 0`, at);
  }
  return scale;
}

export function checkBitWidth(bits: number, at: ErrorLocation): number {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new UnsupportedModelError(
      `bit width is ${bits}; qlstm converts ${MIN_BITS} to ${MAX_BITS} bits exactly (QuantizeLinear stores int8/uint8)`,
      at,
    );
  }
  return bits;
}

export function checkZeroPoint(zeroPoint: number, dataType: number, signed: boolean, at: ErrorLocation): number {
  if (![DataType.FLOAT, DataType.INT8, DataType.UINT8].includes(dataType as 1 | 2 | 3)) {
    throw new UnsupportedModelError(`zero point is ${dataTypeName(dataType)}, expected float, int8 or uint8`, at);
  }
  const [low, high] = signed ? [-128, 127] : [0, 255];
  if (!Number.isInteger(zeroPoint) || zeroPoint < low || zeroPoint > high) {
    throw new UnsupportedModelError(
      `zero point is ${zeroPoint}, expected an integer in [${low}, ${high}] for a ${signed ? 'signed' : 'unsigned'} quantizer`,
      at,
    );
  }
  return zeroPoint;
}

export function checkRounding(mode: string, at: ErrorLocation): RoundingMode {
  if (mode !== 'ROUND') {
    throw new UnsupportedModelError(
      `rounding mode is "${mode}"; only ROUND (round half to even, as QuantizeLinear does) converts exactly`,
      at,
    );
  }
  return mode;
}

/** Builds a quantizer from checked parts. */
export function makeQuantizer(scale: number, zeroPoint: number, bitWidth: number, signed: boolean, narrow: boolean, rounding: RoundingMode): Quantizer {
  return { scale, zeroPoint, bitWidth, signed, narrow, rounding, ...integerRange(bitWidth, signed, narrow) };
}

/** Reads (scale, zero point, bit width) inputs starting at `first`, with flags given by the caller. */
export function readQuantizerInputs(
  node: Node,
  first: number,
  flags: { signed: boolean; narrow: boolean; rounding: RoundingMode },
  where: (index: number, part: string) => ErrorLocation,
): Quantizer {
  const scale = scalarInput(node, first, where(first, 'scale'));
  if (scale.dataType !== DataType.FLOAT) {
    throw new UnsupportedModelError(`is ${dataTypeName(scale.dataType)}, expected float`, where(first, 'scale'));
  }
  checkScale(scale.value, where(first, 'scale'));
  const zeroPoint = scalarInput(node, first + 1, where(first + 1, 'zero point'));
  checkZeroPoint(zeroPoint.value, zeroPoint.dataType, flags.signed, where(first + 1, 'zero point'));
  const bits = scalarInput(node, first + 2, where(first + 2, 'bit width')).value;
  checkBitWidth(bits, where(first + 2, 'bit width'));
  return makeQuantizer(scale.value, zeroPoint.value, bits, flags.signed, flags.narrow, flags.rounding);
}
