import { UnsupportedModelError, type ErrorLocation } from '../errors.js';
import { DataType, dataTypeName } from '../ir/data-type.js';
import type { Node, Value } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { dequantizeCode, fakeQuantize } from '../quant/fake-quantize.js';
import { integerRange } from '../quant/range.js';
import { roundHalfEven } from '../quant/rounding.js';
import { constantOf } from './constants.js';
import { readQuantNode } from './quant-node.js';
import { checkPositiveFinite } from './quantizer.js';

/** How a dequantized constant was quantized, as far as its expression tells. */
export interface QuantizedFrom {
  bits: number;
  signed: boolean;
  narrow: boolean;
  granularity: 'per-tensor' | 'per-channel';
}

/** The value of a constant expression: exact elements (float32 values, or integers) and its type. */
type IntegerArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array;

export interface ConstantValue {
  dims: number[];
  /** float32 values, or integers in the narrowest typed array that holds them */
  data: Float32Array | IntegerArray;
  dataType: number;
  quantizedFrom?: QuantizedFrom;
  /** the initializer at the start of the expression */
  source: Value;
}

const INTEGER_TYPES: Record<number, { signed: boolean; bits: number }> = {
  [DataType.INT8]: { signed: true, bits: 8 },
  [DataType.UINT8]: { signed: false, bits: 8 },
  [DataType.INT16]: { signed: true, bits: 16 },
  [DataType.UINT16]: { signed: false, bits: 16 },
  [DataType.INT32]: { signed: true, bits: 32 },
};

const f32 = Math.fround;

/**
 * Evaluates the constant expression that feeds a weight or bias of the cell, with the
 * semantics of each operator: ONNX QuantizeLinear / DequantizeLinear / Clip, qonnx Quant
 * (float32 numpy arithmetic), Identity, or an initializer / Constant. Anything else, or a
 * graph input, is refused with the reason.
 */
export function evaluateConstant(value: Value | null, at: ErrorLocation): ConstantValue {
  if (!value) throw new UnsupportedModelError('is missing', at);
  const tensor = constantOf(value);
  if (tensor) return fromTensor(tensor, value, at);
  const node = value.producer;
  if (!node) throw new UnsupportedModelError(`"${value.name}" is a graph input, expected a constant`, at);
  const here = (role: string): ErrorLocation => ({ file: at.file, node: node.name ?? node.opType, opType: node.opType, role });
  if (node.domain === '' && node.opType === 'Identity') return evaluateConstant(node.input(0), at);
  if (node.domain === '' && node.opType === 'DequantizeLinear') return dequantize(node, evaluateConstant(node.input(0), at), here);
  if (node.domain === '' && node.opType === 'QuantizeLinear') return quantize(node, evaluateConstant(node.input(0), at), here);
  if (node.domain === '' && node.opType === 'Clip') return clip(node, evaluateConstant(node.input(0), at), here);
  if (node.opType === 'Quant') return quantNode(node, evaluateConstant(node.input(0), at), at);
  throw new UnsupportedModelError(
    `"${value.name}" is computed by ${node.opType} node ${node.label()}; qlstm evaluates constants through DequantizeLinear, QuantizeLinear, Clip, Quant and Identity`,
    at,
  );
}

function fromTensor(tensor: Tensor, source: Value, at: ErrorLocation): ConstantValue {
  const known = tensor.dataType === DataType.FLOAT || tensor.dataType in INTEGER_TYPES || tensor.dataType === DataType.INT64;
  if (!known) throw new UnsupportedModelError(`"${source.name}" holds ${dataTypeName(tensor.dataType)}, expected float or integers`, at);
  const numbers = tensor.numbers(at);
  const float = tensor.dataType === DataType.FLOAT;
  const data = float ? (numbers instanceof Float32Array ? numbers : Float32Array.from(numbers)) : integers(numbers, source, at);
  if (float && data.some((x) => !Number.isFinite(x))) throw new UnsupportedModelError(`"${source.name}" holds a NaN or infinite value`, at);
  return { dims: [...tensor.dims], data, dataType: tensor.dataType, source };
}

/** A scale and zero point, per tensor or along `axis`, expanded to one value per element. */
interface Affine {
  scaleOf(i: number): number;
  zeroOf(i: number): number;
  perChannel: boolean;
}

function affine(node: Node, x: ConstantValue, here: (role: string) => ErrorLocation, zeroType?: number): Affine {
  const scaleValue = node.input(1);
  const scaleTensor = constantOf(scaleValue);
  if (!scaleTensor) throw new UnsupportedModelError('is not a constant', here('scale'));
  if (scaleTensor.dataType !== DataType.FLOAT) throw new UnsupportedModelError(`is ${dataTypeName(scaleTensor.dataType)}, expected float`, here('scale'));
  const scale = scaleTensor.float32(here('scale'));
  for (const s of scale) checkPositiveFinite(s, here('scale'));
  const zeroValue = node.input(2);
  const zeroTensor = zeroValue ? constantOf(zeroValue) : undefined;
  if (zeroValue && !zeroTensor) throw new UnsupportedModelError('is not a constant', here('zero point'));
  const zero = zeroTensor ? zeroTensor.numbers(here('zero point')) : new Float64Array(scale.length);
  if (zeroType !== undefined && zeroTensor && zeroTensor.dataType !== zeroType) {
    throw new UnsupportedModelError(`is ${dataTypeName(zeroTensor.dataType)}, expected ${dataTypeName(zeroType)}`, here('zero point'));
  }
  if (zero.length !== scale.length) throw new UnsupportedModelError(`has ${zero.length} values for ${scale.length} scales`, here('zero point'));
  if (scale.length === 1) return { scaleOf: () => scale[0]!, zeroOf: () => zero[0]!, perChannel: false };
  const axisAttribute = node.attribute('axis')?.value;
  let axis = axisAttribute?.kind === 'int' ? Number(axisAttribute.value) : 1;
  if (axis < 0) axis += x.dims.length;
  if (axis < 0 || axis >= x.dims.length || x.dims[axis] !== scale.length || scaleTensor.dims.length !== 1) {
    throw new UnsupportedModelError(
      `has ${scale.length} values along axis ${axis} of a tensor of shape [${x.dims.join(', ')}]`,
      here('scale'),
    );
  }
  const inner = x.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channel = (i: number) => Math.floor(i / inner) % scale.length;
  return { scaleOf: (i) => scale[channel(i)]!, zeroOf: (i) => zero[channel(i)]!, perChannel: true };
}

/** ONNX DequantizeLinear: (float(x - zero point)) * scale, in float32. */
function dequantize(node: Node, x: ConstantValue, here: (role: string) => ErrorLocation): ConstantValue {
  const type = INTEGER_TYPES[x.dataType];
  if (!type) throw new UnsupportedModelError(`dequantizes ${dataTypeName(x.dataType)}, expected an integer type`, here('input 0'));
  const params = affine(node, x, here, x.dataType);
  const data = new Float32Array(x.data.length);
  for (let i = 0; i < data.length; i++) data[i] = dequantizeCode(x.data[i]!, { scale: params.scaleOf(i), zeroPoint: params.zeroOf(i) });
  const range = x.quantizedFrom ?? { bits: type.bits, signed: type.signed, narrow: false, granularity: 'per-tensor' as const };
  return { dims: x.dims, data, dataType: DataType.FLOAT, source: x.source, quantizedFrom: { ...range, granularity: params.perChannel ? 'per-channel' : 'per-tensor' } };
}

/** ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zero point). */
function quantize(node: Node, x: ConstantValue, here: (role: string) => ErrorLocation): ConstantValue {
  if (x.dataType !== DataType.FLOAT) throw new UnsupportedModelError(`quantizes ${dataTypeName(x.dataType)}, expected float`, here('input 0'));
  const outputType = quantizedType(node, here);
  const type = INTEGER_TYPES[outputType];
  if (!type) throw new UnsupportedModelError(`quantizes to ${dataTypeName(outputType)}, expected an integer type`, here('zero point'));
  const params = affine(node, x, here, node.input(2) ? outputType : undefined);
  const { min, max } = integerRange(type.bits, type.signed, false);
  const data = new Int32Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    const q = roundHalfEven(f32(x.data[i]! / params.scaleOf(i))) + params.zeroOf(i);
    data[i] = q < min ? min : q > max ? max : q;
  }
  return { dims: x.dims, data, dataType: outputType, source: x.source };
}

/** The integer type QuantizeLinear writes: its zero point's type, else opset 21's output_dtype, else uint8. */
function quantizedType(node: Node, here: (role: string) => ErrorLocation): number {
  const zero = node.input(2);
  const declared = node.attribute('output_dtype')?.value;
  const outputDtype = declared?.kind === 'int' && declared.value !== 0n ? Number(declared.value) : undefined;
  if (zero) {
    const tensor = constantOf(zero);
    if (!tensor) throw new UnsupportedModelError('is not a constant', here('zero point'));
    if (outputDtype !== undefined && outputDtype !== tensor.dataType) {
      throw new UnsupportedModelError(`output_dtype ${dataTypeName(outputDtype)} disagrees with the zero point's ${dataTypeName(tensor.dataType)}`, here('zero point'));
    }
    return tensor.dataType;
  }
  return outputDtype ?? DataType.UINT8;
}

function clip(node: Node, x: ConstantValue, here: (role: string) => ErrorLocation): ConstantValue {
  const bound = (index: number, role: string, fallback: number): number => {
    const value = node.input(index);
    if (!value) return fallback;
    const tensor = constantOf(value);
    if (!tensor || tensor.size !== 1) throw new UnsupportedModelError('is not a constant scalar', here(role));
    return tensor.numbers(here(role))[0]!;
  };
  const low = bound(1, 'min', -Infinity);
  const high = bound(2, 'max', Infinity);
  // in place: every array here is the evaluator's own (Tensor.numbers returns a copy)
  const data = x.data;
  for (let i = 0; i < data.length; i++) data[i] = data[i]! < low ? low : data[i]! > high ? high : data[i]!;
  const type = INTEGER_TYPES[x.dataType];
  if (!type) return { ...x, data };
  const full = integerRange(type.bits, type.signed, false);
  const min = Math.max(low, full.min);
  const max = Math.min(high, full.max);
  return { ...x, data, quantizedFrom: { ...rangeSummary(min, max, type.signed), granularity: 'per-tensor' } };
}

/** The narrowest (bits, narrow) whose range holds [min, max]. */
function rangeSummary(min: number, max: number, signed: boolean): { bits: number; signed: boolean; narrow: boolean } {
  for (let bits = 1; bits <= 32; bits++) {
    for (const narrow of [false, true]) {
      const range = integerRange(bits, signed, narrow);
      if (range.min === min && range.max === max) return { bits, signed, narrow };
    }
    const range = integerRange(bits, signed, false);
    if (min >= range.min && max <= range.max) return { bits, signed, narrow: false };
  }
  return { bits: 32, signed, narrow: false };
}

/** qonnx Quant on a constant: float32 numpy arithmetic, scale and zero point broadcast numpy's way. */
function quantNode(node: Node, x: ConstantValue, at: ErrorLocation): ConstantValue {
  const plan = readQuantNode(at.file ?? 'model', node);
  if (x.dataType !== DataType.FLOAT) throw new UnsupportedModelError(`quantizes ${dataTypeName(x.dataType)}, expected float`, at);
  const scaleAt = broadcastIndexer(plan.scale.dims, x.dims, at);
  const zeroAt = broadcastIndexer(plan.zeroPoint.dims, x.dims, at);
  const data = new Float32Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    const q = { scale: plan.scale.values[scaleAt(i)]!, zeroPoint: plan.zeroPoint.values[zeroAt(i)]!, min: plan.min, max: plan.max, rounding: plan.rounding };
    data[i] = fakeQuantize(x.data[i]!, q);
  }
  const granularity = plan.scale.values.length > 1 ? 'per-channel' : 'per-tensor';
  return { dims: x.dims, data, dataType: DataType.FLOAT, source: x.source, quantizedFrom: { bits: plan.bits, signed: plan.signed, narrow: plan.narrow, granularity } };
}

/** For numpy broadcasting of a parameter of shape `small` over a tensor of shape `big`: element index -> parameter index. */
function broadcastIndexer(small: readonly number[], big: readonly number[], at: ErrorLocation): (i: number) => number {
  if (small.length > big.length || small.some((d, k) => d !== 1 && d !== big[big.length - small.length + k])) {
    throw new UnsupportedModelError(`a parameter of shape [${small.join(', ')}] does not broadcast to [${big.join(', ')}]`, at);
  }
  const offset = big.length - small.length;
  const bigStrides = strides(big);
  const smallStrides = strides(small);
  return (i) => {
    let index = 0;
    for (let k = 0; k < small.length; k++) {
      if (small[k] === 1) continue;
      const coordinate = Math.floor(i / bigStrides[offset + k]!) % big[offset + k]!;
      index += coordinate * smallStrides[k]!;
    }
    return index;
  };
}

function strides(dims: readonly number[]): number[] {
  const out = new Array<number>(dims.length);
  let stride = 1;
  for (let k = dims.length - 1; k >= 0; k--) {
    out[k] = stride;
    stride *= dims[k]!;
  }
  return out;
}

function integers(numbers: ReturnType<Tensor['numbers']>, source: Value, at: ErrorLocation): IntegerArray {
  if (!(numbers instanceof Float64Array || numbers instanceof Float32Array || numbers instanceof Uint32Array)) return numbers;
  return Int32Array.from(numbers, (n) => {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new UnsupportedModelError(`"${source.name}" holds ${n}, outside the int32 range`, at);
    return n;
  });
}
