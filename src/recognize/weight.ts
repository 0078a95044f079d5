import { UnsupportedModelError, type ErrorLocation } from '../errors.js';
import { DataType, dataTypeName } from '../ir/data-type.js';
import type { Node, Value } from '../ir/graph.js';
import { storageOf } from '../quant/range.js';
import { quantizeToInteger, roundHalfEven } from '../quant/rounding.js';
import { isQuantNode, planQuantLowering } from './quant-node.js';
import { constantOf } from './constants.js';
import type { QuantizedWeight } from './description.js';
import { checkScale } from './quantizer.js';

interface Chain {
  dequantize: Node;
  clip?: Node;
  quantize?: Node;
  /** the float (through QuantizeLinear) or integer initializer at the start of the chain */
  source: Value;
}

/**
 * Follows a weight input of the cell back through `DequantizeLinear <- [Clip] <-
 * [QuantizeLinear] <- initializer` and returns the integer weight it denotes.
 */
export function readQuantizedWeight(value: Value | null, at: ErrorLocation): QuantizedWeight & { fromFloat: boolean } {
  const producer = value?.producer;
  if (producer && isQuantNode(producer)) return readQuantNodeWeight(producer, at);
  const chain = findChain(value, at);
  const dq = chain.dequantize;
  const here = (node: Node, role: string): ErrorLocation => ({ file: at.file, node: node.name ?? node.opType, opType: node.opType, role });

  const sourceTensor = constantOf(chain.source)!;
  if (sourceTensor.dims.length !== 2) {
    throw new UnsupportedModelError(`weight "${chain.source.name}" has shape [${sourceTensor.dims.join(', ')}], expected a matrix`, at);
  }
  const [rows, cols] = sourceTensor.dims as [number, number];
  const storedType = chain.quantize ? quantizedType(chain.quantize, here(chain.quantize, 'zero point')) : sourceTensor.dataType;
  if (storedType !== DataType.INT8 && storedType !== DataType.UINT8) {
    throw new UnsupportedModelError(`weight integers are ${dataTypeName(storedType)}, expected int8 or uint8`, here(dq, 'input 0'));
  }
  const signed = storedType === DataType.INT8;
  const params = dequantizeParams(dq, rows, here);
  const storage = storageOf({ signed });
  let [min, max] = [storage.min, storage.max];
  if (chain.clip) {
    const bounds = clipBounds(chain.clip, here);
    min = Math.max(min, bounds.min);
    max = Math.min(max, bounds.max);
  }

  // The stored values are read (and checked against the shape) before anything is allocated.
  const stored = chain.quantize ? sourceTensor.float32(here(chain.quantize, 'input 0')) : sourceTensor.numbers(here(dq, 'input 0'));
  const integers = new Int16Array(stored.length);
  if (chain.quantize) {
    const q = dequantizeParams(chain.quantize, rows, here);
    if (!sameParameters(q, params)) {
      throw new UnsupportedModelError('QuantizeLinear and DequantizeLinear of this weight use different scales or zero points', here(chain.quantize, 'scale'));
    }
    for (let r = 0; r < rows; r++) {
      const p = params.scale.length === 1 ? 0 : r;
      for (let c = 0; c < cols; c++) {
        const w = stored[r * cols + c]!;
        if (Number.isNaN(w)) throw new UnsupportedModelError(`weight "${chain.source.name}" holds NaN`, at);
        integers[r * cols + c] = quantizeToInteger(w, params.scale[p]!, params.zeroPoint[p]!, storage.min, storage.max);
      }
    }
  } else {
    integers.set(stored);
  }
  for (let i = 0; i < integers.length; i++) integers[i] = Math.min(max, Math.max(min, integers[i]!));

  return {
    rows,
    cols,
    values: integers,
    scale: params.scale,
    zeroPoint: params.zeroPoint,
    signed,
    min,
    max,
    bitWidth: bitsFor(min, max, signed),
    sourceName: chain.source.name,
    fromFloat: chain.quantize !== undefined,
  };
}

/** A float weight through a qonnx Quant node: clamp(round(w / scale + zp), min, max). */
function readQuantNodeWeight(node: Node, at: ErrorLocation): QuantizedWeight & { fromFloat: boolean } {
  const plan = planQuantLowering(at.file ?? 'model', node);
  const source = node.input(0)!;
  const tensor = constantOf(source);
  if (!tensor || tensor.dims.length !== 2) {
    throw new UnsupportedModelError(`weight quantized by Quant node ${node.label()} is not a constant matrix`, at);
  }
  const [rows, cols] = tensor.dims as [number, number];
  if (plan.axis !== undefined && (plan.axis !== 0 || plan.scale.length !== rows)) {
    throw new UnsupportedModelError(`per-channel scale along axis ${plan.axis}; qlstm supports one scale per output row (axis 0)`, at);
  }
  const floats = tensor.float32(at);
  const values = new Int16Array(floats.length);
  for (let r = 0; r < rows; r++) {
    const p = plan.scale.length === 1 ? 0 : r;
    for (let c = 0; c < cols; c++) {
      const w = floats[r * cols + c]!;
      if (Number.isNaN(w)) throw new UnsupportedModelError(`weight "${source.name}" holds NaN`, at);
      const q = roundHalfEven(Math.fround(Math.fround(w / plan.scale[p]!) + plan.zeroPoint[p]!));
      values[r * cols + c] = Math.min(plan.max, Math.max(plan.min, q));
    }
  }
  return {
    rows,
    cols,
    values,
    scale: plan.scale,
    zeroPoint: plan.zeroPoint,
    signed: plan.signed,
    min: plan.min,
    max: plan.max,
    bitWidth: bitsFor(plan.min, plan.max, plan.signed),
    sourceName: source.name,
    fromFloat: true,
  };
}

function findChain(value: Value | null, at: ErrorLocation): Chain {
  const dq = value?.producer;
  if (!value || !dq || dq.opType !== 'DequantizeLinear' || dq.domain !== '') {
    const what = !value ? 'missing' : dq ? `produced by ${dq.opType} node ${dq.label()}` : 'not produced by any node';
    throw new UnsupportedModelError(`weight is ${what}, expected the output of a DequantizeLinear`, at);
  }
  let current = dq.input(0);
  const chain: Chain = { dequantize: dq, source: current! };
  if (current?.producer?.opType === 'Clip') {
    chain.clip = current.producer;
    current = chain.clip.input(0);
  }
  if (current?.producer?.opType === 'QuantizeLinear') {
    chain.quantize = current.producer;
    current = chain.quantize.input(0);
  }
  if (!current || !constantOf(current)) {
    throw new UnsupportedModelError(
      `weight chain starts at ${current ? `"${current.name}"` : 'nothing'}, expected a constant (float through QuantizeLinear, or integers)`,
      at,
    );
  }
  chain.source = current;
  return chain;
}

interface AffineParams {
  scale: Float32Array;
  zeroPoint: Int32Array;
}

function dequantizeParams(node: Node, rows: number, here: (node: Node, role: string) => ErrorLocation): AffineParams {
  const scaleTensor = constantOf(node.input(1));
  if (!scaleTensor) throw new UnsupportedModelError('is not a constant', here(node, 'scale'));
  const scale = scaleTensor.float32(here(node, 'scale'));
  for (const s of scale) checkScale(s, here(node, 'scale'));
  const zeroTensor = node.input(2) ? constantOf(node.input(2)) : undefined;
  if (node.input(2) && !zeroTensor) throw new UnsupportedModelError('is not a constant', here(node, 'zero point'));
  const zeroPoint = zeroTensor ? Int32Array.from(zeroTensor.numbers(here(node, 'zero point'))) : new Int32Array(scale.length);
  if (zeroPoint.length !== scale.length) {
    throw new UnsupportedModelError(`has ${zeroPoint.length} values for ${scale.length} scales`, here(node, 'zero point'));
  }
  if (scale.length !== 1) {
    const axisAttribute = node.attribute('axis')?.value;
    const axis = axisAttribute?.kind === 'int' ? Number(axisAttribute.value) : 1;
    if (scale.length !== rows || (axis !== 0 && axis !== -2)) {
      throw new UnsupportedModelError(
        `per-channel scale of ${scale.length} values along axis ${axis}; qlstm supports one scale per output row (axis 0, ${rows} values)`,
        here(node, 'scale'),
      );
    }
  }
  return { scale, zeroPoint };
}

function quantizedType(node: Node, at: ErrorLocation): number {
  const zero = node.input(2);
  if (!zero) return DataType.UINT8; // QuantizeLinear's default output type
  const tensor = constantOf(zero);
  if (!tensor) throw new UnsupportedModelError('is not a constant', at);
  return tensor.dataType;
}

function clipBounds(node: Node, here: (node: Node, role: string) => ErrorLocation): { min: number; max: number } {
  const bound = (index: number, role: string, fallback: number) => {
    const value = node.input(index);
    if (!value) return fallback;
    const tensor = constantOf(value);
    if (!tensor || tensor.size !== 1) throw new UnsupportedModelError('is not a constant scalar', here(node, role));
    return tensor.numbers(here(node, role))[0]!;
  };
  return { min: bound(1, 'min', -Infinity), max: bound(2, 'max', Infinity) };
}

function sameParameters(a: AffineParams, b: AffineParams): boolean {
  return a.scale.length === b.scale.length && a.scale.every((s, i) => s === b.scale[i] && a.zeroPoint[i] === b.zeroPoint[i]);
}

/** The narrowest bit width whose range holds [min, max]. */
function bitsFor(min: number, max: number, signed: boolean): number {
  for (let bits = 1; bits <= 8; bits++) {
    const low = signed ? -(2 ** (bits - 1)) : 0;
    const high = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    if (min >= low && max <= high) return bits;
  }
  return 8;
}
