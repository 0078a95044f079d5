import { UnsupportedModelError, type ErrorLocation } from '../errors.js';
import type { Node, Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { constantOf } from './constants.js';
import { checkBitWidth, checkRounding, checkScale, checkZeroPoint } from './quantizer.js';
import { integerRange } from '../quant/range.js';

export const QUANT_DOMAIN = 'qonnx.custom_op.general';

export function isQuantNode(node: Node): boolean {
  return node.opType === 'Quant' && node.domain === QUANT_DOMAIN;
}

/**
 * A qonnx Quant node, checked: y = (clamp(round_half_even(x / scale + zp), min, max) - zp) * scale
 * with constant per-tensor or per-axis scale and zero point and a constant bit width.
 */
export interface QuantPlan {
  node: Node;
  scale: Float32Array;
  zeroPoint: Int32Array;
  /** the axis of a per-axis scale, or undefined for per-tensor */
  axis?: number;
  signed: boolean;
  min: number;
  max: number;
}

/** Checks that a Quant node can be lowered exactly, and says precisely why not otherwise. */
export function planQuantLowering(file: string, node: Node): QuantPlan {
  const base: ErrorLocation = { file, node: node.name ?? 'Quant', opType: 'Quant' };
  const at = (input: number, role: string): ErrorLocation => ({ ...base, input, role });
  const constant = (input: number, role: string): Tensor => {
    const value = node.input(input);
    const tensor = constantOf(value);
    if (!tensor) {
      const what = !value ? 'missing' : value.producer ? `computed by node ${value.producer.label()}` : `graph input "${value.name}"`;
      throw new UnsupportedModelError(`is ${what}, expected a constant`, at(input, role));
    }
    return tensor;
  };
  if (node.inputs.length !== 4 || node.outputs.length !== 1) {
    throw new UnsupportedModelError(`has ${node.inputs.length} inputs and ${node.outputs.length} outputs, expected 4 and 1`, base);
  }
  const signed = intAttribute(node, 'signed', 1, base) === 1;
  const narrow = intAttribute(node, 'narrow', 0, base) === 1;
  const rounding = node.attribute('rounding_mode')?.value;
  checkRounding(rounding?.kind === 'string' ? new TextDecoder().decode(rounding.value) : 'ROUND', { ...base, role: 'attribute rounding_mode' });

  const bitsTensor = constant(3, 'bit width');
  if (bitsTensor.size !== 1) throw new UnsupportedModelError('expected a single bit width', at(3, 'bit width'));
  const bits = checkBitWidth(bitsTensor.numbers(at(3, 'bit width'))[0]!, at(3, 'bit width'));

  const scaleTensor = constant(1, 'scale');
  const scale = scaleTensor.float32(at(1, 'scale'));
  for (const s of scale) checkScale(s, at(1, 'scale'));
  const zeroTensor = constant(2, 'zero point');
  const zeros = zeroTensor.numbers(at(2, 'zero point'));
  for (const z of zeros) checkZeroPoint(z, zeroTensor.dataType, signed, at(2, 'zero point'));
  if (zeros.length !== 1 && zeros.length !== scale.length) {
    throw new UnsupportedModelError(`has ${zeros.length} values for ${scale.length} scales`, at(2, 'zero point'));
  }
  const axis = scale.length === 1 ? undefined : perAxis(scaleTensor, node.input(0), at(1, 'scale'));
  const zeroPoint = zeros.length === 1 ? Int32Array.from({ length: scale.length }, () => zeros[0]!) : Int32Array.from(zeros);
  return { node, scale, zeroPoint, ...(axis === undefined ? {} : { axis }), signed, ...integerRange(bits, signed, narrow) };
}

function intAttribute(node: Node, name: string, fallback: number, at: ErrorLocation): number {
  const a = node.attribute(name)?.value;
  if (!a) return fallback;
  if (a.kind !== 'int' || (a.value !== 0n && a.value !== 1n)) throw new UnsupportedModelError(`attribute "${name}" must be 0 or 1`, at);
  return Number(a.value);
}

/** The axis along which a broadcast scale such as [20, 1] varies, in the input's rank. */
function perAxis(scale: Tensor, input: Value | null, at: ErrorLocation): number {
  const varying = scale.dims.map((d, i) => [d, i] as const).filter(([d]) => d !== 1);
  const rank = inputRank(input) ?? scale.dims.length;
  if (varying.length !== 1 || scale.dims.length > rank) {
    throw new UnsupportedModelError(`shape [${scale.dims.join(', ')}] is neither one value nor one value per channel of a single axis`, at);
  }
  return rank - scale.dims.length + varying[0]![1];
}

export function inputRank(value: Value | null): number | undefined {
  const tensor = constantOf(value);
  if (tensor) return tensor.dims.length;
  const type = value?.info.type;
  return type?.kind === 'tensor' ? type.shape?.length : undefined;
}
