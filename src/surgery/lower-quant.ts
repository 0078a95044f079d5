import type { Tape } from '../ir/tape.js';
import type { QuantPlan } from '../recognize/quant-node.js';
import { applyQuantizer, prepareQuantizer } from '../scan/quantizer-ops.js';

/**
 * Writes a qonnx Quant node with the cell quantizers' exact rules: QuantizeLinear -> [Clip] ->
 * DequantizeLinear when that is its arithmetic (2 to 8 bits, round half to even, one scale,
 * zero point 0), else float32 Div / Add / round / Clip / Sub / Mul with the scale and zero point
 * in their own shapes (numpy's broadcasting, which is ONNX's). Its output value is kept, so
 * every reader stays connected.
 */
export function lowerQuantNode(plan: QuantPlan, tape: Tape): void {
  const { node } = plan;
  const x = node.input(0)!;
  const output = node.outputs[0]!;
  node.detach();
  applyQuantizer(tape, x, prepareQuantizer(tape, 'quant', plan, true), 'quant', output);
}
