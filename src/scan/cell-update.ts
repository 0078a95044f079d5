import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import { fakeQuantize } from '../quant/fake-quantize.js';
import type { CellDescription } from '../recognize/description.js';
import { applyQuantizer, prepareQuantizer, scalarSpec } from './quantizer-ops.js';

/** The quantized gate activations of one step. */
export interface Gates {
  input: Value;
  /** absent for CIFG cells, where the forget gate is derived from the input gate */
  forget?: Value;
  cell: Value;
  output: Value;
}

/**
 * The state update after the gates, in Brevitas' order:
 *   c' = Q_cs(Q_cs(f * c) + Q_cs(i * g)),  h' = Q_out(o * Q_hst(tanh(c')))
 * onnxruntime fuses DequantizeLinear, DequantizeLinear -> Mul/Add -> QuantizeLinear into
 * QLinearMul / QLinearAdd, which round differently (docs/design.md, section 2). So a quantizer
 * whose operation reads two dequantized values is written in the float form: i * g and
 * o * tanh(c). f * c reads the previous cell state, a Scan state input, and the sum reads the
 * float form of i * g: neither matches, so those two may be QDQ where the rules allow it.
 */
export function cellUpdate(tape: Tape, cell: CellDescription, gates: Gates, cellPrev: Value): { hidden: Value; cellState: Value } {
  const q = cell.quantizers;
  const cellStateQuant = prepareQuantizer(tape, 'cell_state_quant', scalarSpec(q.cell_state), true);
  const cellStateQuantOfTwoCodes =
    cellStateQuant.form === 'float' ? cellStateQuant : prepareQuantizer(tape, 'cell_state_quant_float', scalarSpec(q.cell_state), false);
  // CIFG: f = Q_input_sigmoid(1) - i, Q(1) evaluated here in Brevitas' float32 arithmetic.
  const forget =
    gates.forget ??
    tape.op('Sub', [tape.constant('cifg_one', Tensor.float32([], [fakeQuantize(1, q.input_sigmoid)])), gates.input], [], 'cifg_forget');

  const keep = applyQuantizer(tape, tape.op('Mul', [forget, cellPrev], [], 'forget_times_cell'), cellStateQuant, 'forget_times_cell_quant');
  const write = applyQuantizer(tape, tape.op('Mul', [gates.input, gates.cell], [], 'input_times_candidate'), cellStateQuantOfTwoCodes, 'input_times_candidate_quant');
  const cellState = applyQuantizer(tape, tape.op('Add', [keep, write], [], 'cell_sum'), cellStateQuant, 'cell_state_quant');

  const hiddenTanhQuant = prepareQuantizer(tape, 'hidden_state_tanh_quant', scalarSpec(q.hidden_state_tanh), true);
  const squashed = applyQuantizer(tape, tape.op('Tanh', [cellState], [], 'cell_state_tanh'), hiddenTanhQuant, 'hidden_state_tanh_quant');
  const outputQuant = prepareQuantizer(tape, 'output_quant', scalarSpec(q.output), false);
  const hidden = applyQuantizer(tape, tape.op('Mul', [gates.output, squashed], [], 'output_times_tanh'), outputQuant, 'output_quant');
  return { hidden, cellState };
}
