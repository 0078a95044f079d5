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

/** v -> DequantizeLinear(Clip(QuantizeLinear(v))): Brevitas' quantize-dequantize. */
export function quantDequant(tape: Tape, v: Value, ops: QdqOperands, label: string): Value {
  let q = tape.op('QuantizeLinear', [v, ops.scale, ops.zeroPoint], [], `${label}/QuantizeLinear`);
  if (ops.clip) q = tape.op('Clip', [q, ops.clip.min, ops.clip.max], [], `${label}/Clip`);
  return tape.op('DequantizeLinear', [q, ops.scale, ops.zeroPoint], [], `${label}/DequantizeLinear`);
}
