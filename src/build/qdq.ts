import { attr } from '../ir/attribute.js';
import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import type { Quantizer } from '../recognize/description.js';
import { clipRange } from '../quant/range.js';

function integerTensor(signed: boolean, dims: number[], values: ArrayLike<number>): Tensor {
  return signed ? Tensor.int8(dims, Array.from(values)) : Tensor.uint8(dims, Array.from(values));
}

/** The constants one quantize-dequantize step reads; created once and shared by every use. */
export interface QdqOperands {
  scale: Value;
  zeroPoint: Value;
  clip?: { min: Value; max: Value };
  /** per-axis quantization along this axis, for a group of quantizers */
  axis?: number;
}

export function qdqOperands(tape: Tape, label: string, q: Quantizer): QdqOperands {
  const range = clipRange(q);
  return {
    scale: tape.constant(`${label}/scale`, Tensor.float32([], [q.scale])),
    zeroPoint: tape.constant(`${label}/zero_point`, integerTensor(q.signed, [], [q.zeroPoint])),
    ...(range
      ? {
          clip: {
            min: tape.constant(`${label}/clip_min`, integerTensor(q.signed, [], [range.min])),
            max: tape.constant(`${label}/clip_max`, integerTensor(q.signed, [], [range.max])),
          },
        }
      : {}),
  };
}

/**
 * Whether quantizers applied to consecutive blocks of one tensor can share one per-axis
 * QuantizeLinear / Clip / DequantizeLinear: same storage type and the same integer range.
 */
export function canShareQdq(quantizers: readonly Quantizer[]): boolean {
  const first = quantizers[0]!;
  return quantizers.every((q) => q.signed === first.signed && q.min === first.min && q.max === first.max);
}

/** Operands for quantizers applied to `width`-wide consecutive blocks along `axis`. */
export function groupedQdqOperands(tape: Tape, label: string, quantizers: readonly Quantizer[], width: number, axis: number): QdqOperands {
  const first = quantizers[0]!;
  const repeat = (pick: (q: Quantizer) => number) => quantizers.flatMap((q) => Array<number>(width).fill(pick(q)));
  const n = quantizers.length * width;
  const range = clipRange(first);
  return {
    scale: tape.constant(`${label}/scale`, Tensor.float32([n], repeat((q) => q.scale))),
    zeroPoint: tape.constant(`${label}/zero_point`, integerTensor(first.signed, [n], repeat((q) => q.zeroPoint))),
    axis,
    ...(range
      ? {
          clip: {
            min: tape.constant(`${label}/clip_min`, integerTensor(first.signed, [], [range.min])),
            max: tape.constant(`${label}/clip_max`, integerTensor(first.signed, [], [range.max])),
          },
        }
      : {}),
  };
}

/** v -> DequantizeLinear(Clip(QuantizeLinear(v))): Brevitas' quantize-dequantize. */
export function quantDequant(tape: Tape, v: Value, ops: QdqOperands, label: string): Value {
  const axis = ops.axis === undefined ? [] : [attr.int('axis', ops.axis)];
  let q = tape.op('QuantizeLinear', [v, ops.scale, ops.zeroPoint], axis, `${label}/QuantizeLinear`);
  if (ops.clip) q = tape.op('Clip', [q, ops.clip.min, ops.clip.max], [], `${label}/Clip`);
  return tape.op('DequantizeLinear', [q, ops.scale, ops.zeroPoint], axis, `${label}/DequantizeLinear`);
}
