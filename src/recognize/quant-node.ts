import { UnsupportedModelError, type ErrorLocation } from '../errors.js';
import { DataType, dataTypeName } from '../ir/data-type.js';
import type { Node } from '../ir/graph.js';
import type { RoundingMode } from '../quant/rounding.js';
import { integerRange } from '../quant/range.js';
import { constantOf } from './constants.js';
import { checkScale, checkZeroPoint, intFlag, readRounding } from './quantizer.js';
import { refuseDuplicateAttributes } from './attributes.js';

/** qonnx moved Quant (and QuantLSTMCell) from `onnx.brevitas` to this domain in Brevitas 0.12. */
export const QUANT_DOMAINS = ['qonnx.custom_op.general', 'onnx.brevitas'] as const;
const MAX_QUANT_BITS = 32;

export function isQuantNode(node: Node): boolean {
  return node.opType === 'Quant' && (QUANT_DOMAINS as readonly string[]).includes(node.domain);
}

/** A constant parameter tensor of a Quant node, kept in its own shape (numpy broadcasting). */
export interface QuantParameter {
  dims: number[];
  values: Float64Array;
}

/**
 * A qonnx Quant node, checked: y = (clamp(round_mode(x / scale + zp), min, max) - zp) * scale
 * in float32, with constant scale, zero point and bit width.
 */
export interface QuantPlan {
  node: Node;
  scale: QuantParameter;
  zeroPoint: QuantParameter;
  bits: number;
  signed: boolean;
  narrow: boolean;
  rounding: RoundingMode;
  min: number;
  max: number;
}

/** Checks that a Quant node can be lowered exactly, and says precisely why not otherwise. */
export function readQuantNode(file: string, node: Node): QuantPlan {
  const base: ErrorLocation = { file, node: node.name ?? 'Quant', opType: 'Quant' };
  const at = (input: number, role: string): ErrorLocation => ({ ...base, input, role });
  if (node.inputs.length !== 4 || node.outputs.length !== 1) {
    throw new UnsupportedModelError(`has ${node.inputs.length} inputs and ${node.outputs.length} outputs, expected 4 and 1`, base);
  }
  refuseDuplicateAttributes(node, base);
  const signed = intFlag(node, 'signed', base, true);
  const narrow = intFlag(node, 'narrow', base, false);
  const rounding = readRounding(node, 'rounding_mode', base, 'ROUND');

  const bitsTensor = constant(node, 3, at(3, 'bit width'));
  if (bitsTensor.size !== 1) throw new UnsupportedModelError(`has ${bitsTensor.size} values, expected one bit width`, at(3, 'bit width'));
  const bits = bitsTensor.numbers(at(3, 'bit width'))[0]!;
  if (!Number.isInteger(bits) || bits < 2 || bits > MAX_QUANT_BITS) {
    throw new UnsupportedModelError(`bit width is ${bits}; qlstm converts Quant nodes of 2 to ${MAX_QUANT_BITS} bits`, at(3, 'bit width'));
  }
  const scaleTensor = constant(node, 1, at(1, 'scale'));
  if (scaleTensor.dataType !== DataType.FLOAT) throw new UnsupportedModelError(`is ${dataTypeName(scaleTensor.dataType)}, expected float`, at(1, 'scale'));
  const scale = { dims: [...scaleTensor.dims], values: Float64Array.from(scaleTensor.numbers(at(1, 'scale'))) };
  for (const s of scale.values) checkScale(s, at(1, 'scale'));
  const zeroTensor = constant(node, 2, at(2, 'zero point'));
  const zeroPoint = { dims: [...zeroTensor.dims], values: Float64Array.from(zeroTensor.numbers(at(2, 'zero point'))) };
  for (const z of zeroPoint.values) checkZeroPoint(z, at(2, 'zero point'));
  return { node, scale, zeroPoint, bits, signed, narrow, rounding, ...integerRange(bits, signed, narrow) };
}

function constant(node: Node, input: number, at: ErrorLocation) {
  const value = node.input(input);
  const tensor = constantOf(value);
  if (!tensor) {
    const what = !value ? 'missing' : value.producer ? `computed by node ${value.producer.label()}` : `graph input "${value.name}"`;
    throw new UnsupportedModelError(`is ${what}, expected a constant`, at);
  }
  return tensor;
}
