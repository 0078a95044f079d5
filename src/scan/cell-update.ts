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
 * The cell-state and output quantizers take products of quantized values; written as QDQ,
 * onnxruntime would fuse them into QLinearMul / QLinearAdd, which round differently, so they
 * are always written in the float form (docs/design.md, section 2).
 */
export function cellUpdate(tape: Tape, cell: CellDescription, gates: Gates, cellPrev: Value): { hidden: Value; cellState: Value } {
  const q = cell.quantizers;
  const cellStateQuant = prepareQuantizer(tape, 'cell_state_quant', scalarSpec(q.cell_state), false);
  // CIFG: f = Q_input_sigmoid(1) - i, Q(1) evaluated here in Brevitas' float32 arithmetic.
  const forget =
    gates.forget ??
    tape.op('Sub', [tape.constant('cifg_one', Tensor.float32([], [fakeQuantize(1, q.input_sigmoid)])), gates.input], [], 'cifg_forget');

  const keep = applyQuantizer(tape, tape.op('Mul', [forget, cellPrev], [], 'forget_times_cell'), cellStateQuant, 'forget_times_cell_quant');
  const write = applyQuantizer(tape, tape.op('Mul', [gates.input, gates.cell], [], 'input_times_candidate'), cellStateQuant, 'input_times_candidate_quant');
  const cellState = applyQuantizer(tape, tape.op('Add', [keep, write], [], 'cell_sum'), cellStateQuant, 'cell_state_quant');

  const hiddenTanhQuant = prepareQuantizer(tape, 'hidden_state_tanh_quant', scalarSpec(q.hidden_state_tanh), true);
  const squashed = applyQuantizer(tape, tape.op('Tanh', [cellState], [], 'cell_state_tanh'), hiddenTanhQuant, 'hidden_state_tanh_quant');
  const outputQuant = prepareQuantizer(tape, 'output_quant', scalarSpec(q.output), false);
  const hidden = applyQuantizer(tape, tape.op('Mul', [gates.output, squashed], [], 'output_times_tanh'), outputQuant, 'output_quant');
  return { hidden, cellState };
}
