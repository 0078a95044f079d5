import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import type { CellDescription, Quantizer } from '../recognize/description.js';
import { quantizeToInteger } from '../quant/rounding.js';
import { qdqOperands, quantDequant, type QdqOperands } from './qdq.js';

/** The quantized gate activations of one step. */
export interface Gates {
  input: Value;
  /** absent for CIFG cells, where the forget gate is derived from the input gate */
  forget?: Value;
  cell: Value;
  output: Value;
}

/** Q(1.0) for a quantizer, computed exactly as QuantizeLinear + DequantizeLinear would. */
export function quantizedOne(q: Quantizer): number {
  const integer = quantizeToInteger(1, q.scale, q.zeroPoint, q.min, q.max);
  return Math.fround((integer - q.zeroPoint) * q.scale);
}

/**
 * The state update after the gates, in Brevitas' order:
 *   c' = Q_cs(Q_cs(f * c) + Q_cs(i * g)),  h' = Q_out(o * Q_hst(tanh(c')))
 */
export function cellUpdate(tape: Tape, cell: CellDescription, gates: Gates, cellPrev: Value): { hidden: Value; cellState: Value } {
  const q = cell.quantizers;
  const cellStateOps: QdqOperands = qdqOperands(tape, 'cell_state_quant', q.cell_state);
  const forget =
    gates.forget ??
    tape.op('Sub', [tape.constant('cifg_one', Tensor.float32([], [quantizedOne(q.input_sigmoid)])), gates.input], [], 'cifg_forget');

  const keep = quantDequant(tape, tape.op('Mul', [forget, cellPrev], [], 'forget_times_cell'), cellStateOps, 'forget_times_cell_quant');
  const write = quantDequant(tape, tape.op('Mul', [gates.input, gates.cell], [], 'input_times_candidate'), cellStateOps, 'input_times_candidate_quant');
  const cellState = quantDequant(tape, tape.op('Add', [keep, write], [], 'cell_sum'), cellStateOps, 'cell_state_quant');

  const squashed = quantDequant(tape, tape.op('Tanh', [cellState], [], 'cell_state_tanh'), qdqOperands(tape, 'hidden_state_tanh_quant', q.hidden_state_tanh), 'hidden_state_tanh_quant');
  const hidden = quantDequant(tape, tape.op('Mul', [gates.output, squashed], [], 'output_times_tanh'), qdqOperands(tape, 'output_quant', q.output), 'output_quant');
  return { hidden, cellState };
}
