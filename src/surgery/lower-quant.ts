import { attr } from '../ir/attribute.js';
import type { Node, Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import { clipRange } from '../quant/range.js';
import { inputRank, type QuantPlan } from '../recognize/quant-node.js';

/**
 * Writes QuantizeLinear -> [Clip] -> DequantizeLinear in place of the Quant node; its output
 * value is kept, so every reader stays connected. A non-zero zero point is added before
 * rounding, as qonnx does: x / scale + zp, then QuantizeLinear with scale 1.
 */
export function lowerQuantNode(plan: QuantPlan, tape: Tape): void {
  const { node } = plan;
  const x = node.input(0)!;
  const output = node.outputs[0]!;
  node.detach();
  const n = plan.scale.length;
  const dims = plan.axis === undefined ? [] : [n];
  const axisAttr = plan.axis === undefined ? [] : [attr.int('axis', plan.axis)];
  const ints = (values: ArrayLike<number>, shape: number[]) => (plan.signed ? Tensor.int8(shape, values) : Tensor.uint8(shape, values));
  const scale = tape.constant('scale', Tensor.float32(dims, plan.scale));
  const zeroPoint = tape.constant('zero_point', ints(plan.zeroPoint, dims));
  const shifted = plan.zeroPoint.some((z) => z !== 0);

  let quantized: Value;
  if (shifted) {
    const divided = tape.op('Div', [x, plan.axis === undefined ? scale : tape.constant('scale_broadcast', broadcastable(plan, node))], [], 'Div');
    const added = tape.op('Add', [divided, tape.constant('zero_point_float', Tensor.float32(broadcastDims(plan, node), plan.zeroPoint))], [], 'AddZeroPoint');
    quantized = tape.op('QuantizeLinear', [added, tape.constant('one', Tensor.float32([], [1])), tape.constant('zero', ints([0], []))], [], 'QuantizeLinear');
  } else {
    quantized = tape.op('QuantizeLinear', [x, scale, zeroPoint], axisAttr, 'QuantizeLinear');
  }
  const range = clipRange(plan);
  if (range) {
    quantized = tape.op('Clip', [quantized, tape.constant('clip_min', ints([range.min], [])), tape.constant('clip_max', ints([range.max], []))], [], 'Clip');
  }
  tape.opInto('DequantizeLinear', [quantized, scale, zeroPoint], [output], axisAttr, 'DequantizeLinear');
}

function broadcastDims(plan: QuantPlan, node: Node): number[] {
  if (plan.axis === undefined) return [];
  const rank = inputRank(node.input(0)) ?? plan.axis + 1;
  return Array.from({ length: rank - plan.axis }, (_, i) => (i === 0 ? plan.scale.length : 1));
}

function broadcastable(plan: QuantPlan, node: Node): Tensor {
  return Tensor.float32(broadcastDims(plan, node), plan.scale);
}
