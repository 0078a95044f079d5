/**
 * The value of a constant subgraph, computed with each operator's own semantics (ONNX for the
 * standard ones, qonnx's float32 numpy arithmetic for `Quant`). Only what feeds a Brevitas
 * cell is supported; anything else is refused with the reason, never guessed.
 */
import type { Attribute } from '../ir/attribute.js';
import { DataType, dataTypeName } from '../ir/data-type.js';
import type { Model } from '../ir/model.js';
import type { Node, Value } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { f32 } from './float32.js';
import { integerRange, isRoundingMode, roundWith } from './quantizer.js';

/** A constant: element type, shape and elements (float32 types hold float32 values). */
export interface Constant {
  type: number;
  dims: number[];
  data: Float64Array;
}

/** Why a value is not a constant the reference evaluates; turned into a located error by the caller. */
export class NotEvaluable extends Error {}

const INTEGER_RANGES: Record<number, [number, number]> = {
  [DataType.INT8]: [-128, 127],
  [DataType.UINT8]: [0, 255],
  [DataType.INT16]: [-32768, 32767],
  [DataType.UINT16]: [0, 65535],
  [DataType.INT32]: [-(2 ** 31), 2 ** 31 - 1],
  [DataType.UINT32]: [0, 2 ** 32 - 1],
  [DataType.INT64]: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  [DataType.BOOL]: [0, 1],
};

const QUANT_DOMAINS = new Set(['qonnx.custom_op.general', 'onnx.brevitas']);

function isFloat(type: number): boolean {
  return type === DataType.FLOAT || type === DataType.DOUBLE;
}

function size(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function describeNode(node: Node): string {
  return `node ${node.label()} (${node.opType})`;
}

export class ConstantEvaluator {
  private readonly memo = new Map<Value, Constant>();
  private readonly visiting = new Set<Value>();

  constructor(private readonly model: Model) {}

  /** The constant value of `value`, or NotEvaluable with the reason. */
  evaluate(value: Value): Constant {
    const known = this.memo.get(value);
    if (known) return known;
    if (this.visiting.has(value)) throw new NotEvaluable(`"${value.name}" depends on itself`);
    this.visiting.add(value);
    try {
      const result = this.compute(value);
      this.memo.set(value, result);
      return result;
    } finally {
      this.visiting.delete(value);
    }
  }

  private compute(value: Value): Constant {
    if (value.constant) return fromTensor(value.constant, `initializer "${value.name}"`);
    const node = value.producer;
    if (!node) {
      if (this.model.graph.inputs.includes(value)) throw new NotEvaluable(`reads graph input "${value.name}"`);
      throw new NotEvaluable(`"${value.name}" has no producer`);
    }
    if (node.outputs[0] !== value) throw new NotEvaluable(`"${value.name}" is output ${node.outputs.indexOf(value)} of ${describeNode(node)}; only first outputs are evaluated`);
    const input = (k: number): Constant | null => {
      const v = node.input(k);
      return v ? this.evaluate(v) : null;
    };
    const required = (k: number): Constant => {
      const c = input(k);
      if (!c) throw new NotEvaluable(`${describeNode(node)} has no input ${k}`);
      return c;
    };
    const at = describeNode(node);
    if (QUANT_DOMAINS.has(node.domain) && node.opType === 'Quant') return quant(node, required(0), required(1), required(2), required(3), at);
    if (node.domain !== '' && node.domain !== 'ai.onnx') throw new NotEvaluable(`${at} is not an operator the reference evaluates`);
    const opset = this.model.opsetVersion('') ?? 1;
    switch (node.opType) {
      case 'Constant':
        return constantNode(node, at);
      case 'Identity':
        return required(0);
      case 'Cast':
        return cast(required(0), intAttribute(node, 'to', undefined, at), at);
      case 'Reshape':
        return reshape(required(0), required(1), intAttribute(node, 'allowzero', 0, at), at);
      case 'Squeeze':
        return squeeze(required(0), axesOf(node, opset >= 13 ? input(1) : null, at), at);
      case 'Unsqueeze':
        return unsqueeze(required(0), axesOf(node, opset >= 13 ? input(1) : null, at), at);
      case 'QuantizeLinear':
        return quantizeLinear(node, required(0), required(1), input(2), at);
      case 'DequantizeLinear':
        return dequantizeLinear(node, required(0), required(1), input(2), at);
      case 'Clip':
        return clip(node, required(0), opset >= 11 ? input(1) : null, opset >= 11 ? input(2) : null, opset, at);
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        return arithmetic(node.opType, required(0), required(1), at);
      default:
        throw new NotEvaluable(`${at} is not an operator the reference evaluates`);
    }
  }
}

export function fromTensor(tensor: Tensor, what: string): Constant {
  const type = tensor.dataType;
  if (type !== DataType.FLOAT && type !== DataType.DOUBLE && INTEGER_RANGES[type] === undefined) {
    throw new NotEvaluable(`${what} holds ${dataTypeName(type)} elements`);
  }
  let numbers;
  try {
    numbers = tensor.numbers();
  } catch (error) {
    throw new NotEvaluable(`${what}: ${(error as Error).message}`);
  }
  const data = Float64Array.from(numbers);
  if (type === DataType.FLOAT) for (let i = 0; i < data.length; i++) data[i] = f32(data[i]!);
  return { type, dims: [...tensor.dims], data };
}

function attributeOf(node: Node, name: string): Attribute | undefined {
  return node.attribute(name);
}

function intAttribute(node: Node, name: string, fallback: number | undefined, at: string): number {
  const a = attributeOf(node, name);
  if (!a) {
    if (fallback === undefined) throw new NotEvaluable(`${at} has no attribute "${name}"`);
    return fallback;
  }
  if (a.value.kind !== 'int') throw new NotEvaluable(`${at}: attribute "${name}" is not an integer`);
  return Number(a.value.value);
}

function stringAttribute(node: Node, name: string, fallback: string, at: string): string {
  const a = attributeOf(node, name);
  if (!a) return fallback;
  if (a.value.kind !== 'string') throw new NotEvaluable(`${at}: attribute "${name}" is not a string`);
  return new TextDecoder().decode(a.value.value);
}

function constantNode(node: Node, at: string): Constant {
  if (node.attributes.length !== 1) throw new NotEvaluable(`${at} must have exactly one value attribute`);
  const a = node.attributes[0]!;
  const v = a.value;
  if (a.name === 'value' && v.kind === 'tensor') return fromTensor(v.value, `${at} value`);
  if (a.name === 'value_float' && v.kind === 'float') return { type: DataType.FLOAT, dims: [], data: Float64Array.of(f32(v.value)) };
  if (a.name === 'value_floats' && v.kind === 'floats') return { type: DataType.FLOAT, dims: [v.value.length], data: Float64Array.from(v.value, f32) };
  if (a.name === 'value_int' && v.kind === 'int') return { type: DataType.INT64, dims: [], data: Float64Array.of(safe(v.value, at)) };
  if (a.name === 'value_ints' && v.kind === 'ints') return { type: DataType.INT64, dims: [v.value.length], data: Float64Array.from(v.value, (x) => safe(x, at)) };
  throw new NotEvaluable(`${at}: attribute "${a.name}" is not a value the reference evaluates`);
}

function safe(x: bigint, at: string): number {
  const n = Number(x);
  if (!Number.isSafeInteger(n)) throw new NotEvaluable(`${at}: ${x} is not exactly representable`);
  return n;
}

/** Stores a result in its type: float32 rounding, or integer wrap-around as C casts do. */
function store(type: number, x: number, at: string): number {
  if (type === DataType.FLOAT) return f32(x);
  if (type === DataType.DOUBLE) return x;
  if (type === DataType.BOOL) return x !== 0 ? 1 : 0;
  const range = INTEGER_RANGES[type];
  if (!range) throw new NotEvaluable(`${at}: ${dataTypeName(type)} results are not supported`);
  if (!Number.isFinite(x)) throw new NotEvaluable(`${at}: ${x} does not fit ${dataTypeName(type)}`);
  const t = Math.trunc(x);
  if (type === DataType.INT64) {
    if (!Number.isSafeInteger(t)) throw new NotEvaluable(`${at}: ${x} is not exactly representable`);
    return t;
  }
  const [lo, hi] = range;
  const span = hi - lo + 1;
  return ((((t - lo) % span) + span) % span) + lo;
}

function cast(x: Constant, to: number, at: string): Constant {
  if (!isFloat(to) && INTEGER_RANGES[to] === undefined) throw new NotEvaluable(`${at}: cast to ${dataTypeName(to)} is not supported`);
  if (isFloat(x.type) && !isFloat(to)) {
    for (const v of x.data) if (!Number.isFinite(v) || Math.trunc(v) < INTEGER_RANGES[to]![0] || Math.trunc(v) > INTEGER_RANGES[to]![1]) {
      throw new NotEvaluable(`${at}: ${v} does not fit ${dataTypeName(to)}`);
    }
  }
  return { type: to, dims: x.dims, data: x.data.map((v) => store(to, v, at)) };
}

function integerList(c: Constant, what: string, at: string): number[] {
  if (c.type !== DataType.INT64 && c.type !== DataType.INT32) throw new NotEvaluable(`${at}: ${what} must be int64`);
  return [...c.data];
}

function reshape(x: Constant, shape: Constant, allowZero: number, at: string): Constant {
  const wanted = integerList(shape, 'shape', at);
  const dims = wanted.map((d, i) => (d === 0 && !allowZero ? (x.dims[i] ?? NaN) : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const unknown = dims.filter((d) => d === -1).length;
  if (unknown > 1 || dims.some((d) => Number.isNaN(d) || d < -1)) throw new NotEvaluable(`${at}: shape [${wanted}] is not valid for [${x.dims}]`);
  const out = dims.map((d) => (d === -1 ? size(x.dims) / known : d));
  if (size(out) !== size(x.dims) || out.some((d) => !Number.isInteger(d))) throw new NotEvaluable(`${at}: cannot reshape [${x.dims}] to [${wanted}]`);
  return { type: x.type, dims: out, data: x.data };
}

function axesOf(node: Node, fromInput: Constant | null, at: string): number[] | null {
  if (fromInput) return integerList(fromInput, 'axes', at);
  const a = attributeOf(node, 'axes');
  if (!a) return null;
  if (a.value.kind !== 'ints') throw new NotEvaluable(`${at}: attribute "axes" is not a list of integers`);
  return a.value.value.map((v) => safe(v, at));
}

function normalizeAxes(axes: number[], rank: number, at: string): number[] {
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  if (out.some((a) => a < 0 || a >= rank) || new Set(out).size !== out.length) throw new NotEvaluable(`${at}: axes [${axes}] are not valid for rank ${rank}`);
  return out;
}

function squeeze(x: Constant, axes: number[] | null, at: string): Constant {
  const drop = axes ? normalizeAxes(axes, x.dims.length, at) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
  if (drop.some((a) => x.dims[a] !== 1)) throw new NotEvaluable(`${at}: cannot squeeze axes [${drop}] of [${x.dims}]`);
  return { type: x.type, dims: x.dims.filter((_, i) => !drop.includes(i)), data: x.data };
}

function unsqueeze(x: Constant, axes: number[] | null, at: string): Constant {
  if (!axes) throw new NotEvaluable(`${at} has no axes`);
  const rank = x.dims.length + axes.length;
  const insert = normalizeAxes(axes, rank, at);
  const dims: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) dims.push(insert.includes(i) ? 1 : x.dims[k++]!);
  return { type: x.type, dims, data: x.data };
}

/** numpy broadcasting: the output shape and, per input, the input index of each output element. */
function broadcast(inputs: Constant[], at: string): { dims: number[]; index: (k: number, flat: number) => number } {
  const rank = Math.max(...inputs.map((c) => c.dims.length));
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const sizes = inputs.map((c) => c.dims[c.dims.length - rank + i] ?? 1);
    const n = Math.max(...sizes);
    if (sizes.some((s) => s !== 1 && s !== n)) throw new NotEvaluable(`${at}: shapes ${inputs.map((c) => `[${c.dims}]`).join(', ')} do not broadcast`);
    dims.push(n);
  }
  const strides = inputs.map((c) => {
    const s = new Array<number>(rank).fill(0);
    let stride = 1;
    for (let i = rank - 1; i >= 0; i--) {
      const d = c.dims[c.dims.length - rank + i] ?? 1;
      s[i] = d === 1 ? 0 : stride;
      stride *= d;
    }
    return s;
  });
  const index = (k: number, flat: number): number => {
    let rest = flat;
    let at = 0;
    for (let i = rank - 1; i >= 0; i--) {
      const d = dims[i]!;
      at += (rest % d) * strides[k]![i]!;
      rest = Math.floor(rest / d);
    }
    return at;
  };
  return { dims, index };
}

function arithmetic(op: string, a: Constant, b: Constant, at: string): Constant {
  if (a.type !== b.type) throw new NotEvaluable(`${at}: operands are ${dataTypeName(a.type)} and ${dataTypeName(b.type)}`);
  const { dims, index } = broadcast([a, b], at);
  const data = new Float64Array(size(dims));
  const integer = !isFloat(a.type);
  for (let i = 0; i < data.length; i++) {
    const x = a.data[index(0, i)]!;
    const y = b.data[index(1, i)]!;
    let r: number;
    if (op === 'Add') r = x + y;
    else if (op === 'Sub') r = x - y;
    else if (op === 'Mul') r = x * y;
    else {
      if (integer && y === 0) throw new NotEvaluable(`${at}: integer division by zero`);
      r = integer ? Math.trunc(x / y) : x / y;
    }
    if (integer && !Number.isSafeInteger(r)) throw new NotEvaluable(`${at}: ${r} is not exactly representable`);
    data[i] = store(a.type, r, at);
  }
  return { type: a.type, dims, data };
}

function clip(node: Node, x: Constant, lo: Constant | null, hi: Constant | null, opset: number, at: string): Constant {
  let min = -Infinity;
  let max = Infinity;
  if (opset < 11) {
    const a = attributeOf(node, 'min');
    const b = attributeOf(node, 'max');
    if (a) min = a.value.kind === 'float' ? f32(a.value.value) : NaN;
    if (b) max = b.value.kind === 'float' ? f32(b.value.value) : NaN;
  } else {
    for (const [bound, set] of [
      [lo, (v: number) => (min = v)],
      [hi, (v: number) => (max = v)],
    ] as const) {
      if (!bound) continue;
      if (bound.data.length !== 1 || bound.type !== x.type) throw new NotEvaluable(`${at}: bounds must be scalars of the input's type`);
      set(bound.data[0]!);
    }
  }
  if (Number.isNaN(min) || Number.isNaN(max)) throw new NotEvaluable(`${at}: bounds are not numbers`);
  return { type: x.type, dims: x.dims, data: x.data.map((v) => (v < min ? min : v > max ? max : v)) };
}

/** Scale and zero point per element of x: per tensor, or per slice along `axis`. */
function perAxis(node: Node, x: Constant, scale: Constant, zeroPoint: Constant | null, at: string): (i: number) => number {
  if (zeroPoint && zeroPoint.data.length !== scale.data.length) throw new NotEvaluable(`${at}: scale and zero point differ in size`);
  if (intAttribute(node, 'block_size', 0, at) !== 0) throw new NotEvaluable(`${at}: blocked quantization is not supported`);
  if (scale.data.length === 1 && scale.dims.length <= 1) return () => 0;
  if (scale.dims.length !== 1) throw new NotEvaluable(`${at}: scale of shape [${scale.dims}] is neither a scalar nor 1-D`);
  const rank = x.dims.length;
  let axis = intAttribute(node, 'axis', 1, at);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank || x.dims[axis] !== scale.data.length) throw new NotEvaluable(`${at}: ${scale.data.length} scales do not match axis ${axis} of [${x.dims}]`);
  const inner = size(x.dims.slice(axis + 1));
  const n = x.dims[axis]!;
  return (i) => Math.floor(i / inner) % n;
}

function checkScale(scale: Constant, at: string): void {
  if (scale.type !== DataType.FLOAT) throw new NotEvaluable(`${at}: scale is ${dataTypeName(scale.type)}, the reference reads float scales`);
}

function quantizeLinear(node: Node, x: Constant, scale: Constant, zeroPoint: Constant | null, at: string): Constant {
  checkScale(scale, at);
  if (x.type !== DataType.FLOAT && x.type !== DataType.INT32) throw new NotEvaluable(`${at}: input is ${dataTypeName(x.type)}`);
  const declared = intAttribute(node, 'output_dtype', 0, at);
  if (zeroPoint && declared && zeroPoint.type !== declared) throw new NotEvaluable(`${at}: output_dtype ${dataTypeName(declared)} contradicts the zero point's ${dataTypeName(zeroPoint.type)}`);
  const type = zeroPoint?.type ?? (declared || DataType.UINT8);
  if (![DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16].includes(type as 3)) throw new NotEvaluable(`${at}: output type ${dataTypeName(type)} is not supported`);
  const [lo, hi] = INTEGER_RANGES[type]!;
  const slice = perAxis(node, x, scale, zeroPoint, at);
  const data = new Float64Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    const p = slice(i);
    const q = roundWith('HALF_EVEN', f32(f32(x.data[i]!) / scale.data[p]!)) + (zeroPoint ? zeroPoint.data[p]! : 0);
    data[i] = q < lo ? lo : q > hi ? hi : q;
  }
  return { type, dims: x.dims, data };
}

function dequantizeLinear(node: Node, x: Constant, scale: Constant, zeroPoint: Constant | null, at: string): Constant {
  checkScale(scale, at);
  if (isFloat(x.type) || x.type === DataType.BOOL || x.type === DataType.INT64 || x.type === DataType.UINT32) throw new NotEvaluable(`${at}: input is ${dataTypeName(x.type)}`);
  if (zeroPoint && zeroPoint.type !== x.type) throw new NotEvaluable(`${at}: zero point is ${dataTypeName(zeroPoint.type)}, input ${dataTypeName(x.type)}`);
  const slice = perAxis(node, x, scale, zeroPoint, at);
  const data = new Float64Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    const p = slice(i);
    const shifted = x.data[i]! - (zeroPoint ? zeroPoint.data[p]! : 0);
    if (x.type === DataType.INT32 && (shifted < -(2 ** 31) || shifted >= 2 ** 31)) throw new NotEvaluable(`${at}: ${x.data[i]} minus its zero point overflows int32`);
    data[i] = f32(f32(shifted) * scale.data[p]!);
  }
  return { type: DataType.FLOAT, dims: x.dims, data };
}

/** qonnx Quant: y = x / s + zp; clamp to [min_int, max_int]; round; (y - zp) * s; float32 numpy. */
function quant(node: Node, x: Constant, scale: Constant, zeroPoint: Constant, bitWidth: Constant, at: string): Constant {
  for (const [c, what] of [
    [x, 'input'],
    [scale, 'scale'],
    [zeroPoint, 'zero point'],
    [bitWidth, 'bit width'],
  ] as const) {
    if (c.type !== DataType.FLOAT) throw new NotEvaluable(`${at}: ${what} is ${dataTypeName(c.type)}, qonnx Quant computes in float32`);
  }
  if (bitWidth.data.length !== 1) throw new NotEvaluable(`${at}: bit width must be a scalar`);
  const bits = bitWidth.data[0]!;
  if (!Number.isInteger(bits) || bits < 2 || bits > 32) throw new NotEvaluable(`${at}: bit width ${bits} is outside 2 to 32`);
  const signed = intAttribute(node, 'signed', undefined, at) !== 0;
  const narrow = intAttribute(node, 'narrow', undefined, at) !== 0;
  const rounding = stringAttribute(node, 'rounding_mode', 'ROUND', at).toUpperCase();
  if (!isRoundingMode(rounding)) throw new NotEvaluable(`${at}: rounding mode ${rounding} is not supported`);
  const range = integerRange(bits, signed, narrow);
  // numpy compares the float32 quotient with min_int/max_int and substitutes them cast to float32
  const lo = f32(range.min);
  const hi = f32(range.max);
  const { dims, index } = broadcast([x, scale, zeroPoint], at);
  const data = new Float64Array(size(dims));
  for (let i = 0; i < data.length; i++) {
    const s = scale.data[index(1, i)]!;
    const zp = zeroPoint.data[index(2, i)]!;
    let y = f32(f32(x.data[index(0, i)]! / s) + zp);
    y = y > range.max ? hi : y < range.min ? lo : y;
    data[i] = f32(f32(roundWith(rounding, y) - zp) * s);
  }
  return { type: DataType.FLOAT, dims, data };
}
