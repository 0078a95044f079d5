import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { GATE_QUANTIZERS, type CellDescription, type Gate } from '../recognize/description.js';
import { ACTIVATION } from './activations.js';
import { applyQuantizer, prepareQuantizer, scalarSpec } from './quantizer-ops.js';

/** gate = Q_act(act(Q_acc(pre-activation))), in the tape's `<gate>_gate` scope. */
export function gateActivation(tape: Tape, cell: CellDescription, gate: Gate, preActivation: Value): Value {
  const t = tape.scoped(`${gate}_gate`);
  const { acc, activation } = GATE_QUANTIZERS[gate];
  const accumulated = applyQuantizer(t, preActivation, prepareQuantizer(t, 'acc_quant', scalarSpec(cell.quantizers[acc]), true), 'acc_quant');
  const activated = t.op(ACTIVATION[gate], [accumulated], [], ACTIVATION[gate].toLowerCase());
  return applyQuantizer(t, activated, prepareQuantizer(t, 'activation_quant', scalarSpec(cell.quantizers[activation]), true), 'activation_quant');
}
