import { attr } from '../ir/attribute.js';
import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import { GATES, GATE_QUANTIZERS, type CellDescription, type Gate } from '../recognize/description.js';
import type { Gates } from './cell-update.js';
import { ACTIVATION } from './activations.js';
import { qdqOperands, quantDequant } from './qdq.js';

/** Dequantized weights (in the outer graph) of the plain layout: one pair per gate. */
export type PlainWeights = Record<Gate, { input: Value; recurrent: Value }>;

/**
 * One readable block per gate:
 *   gate = Q_act(act(Q_acc(Gemm(x, W_x) + Gemm(h, W_h) + b)))
 */
export function plainGates(tape: Tape, cell: CellDescription, weights: PlainWeights, x: Value, h: Value): Gates {
  const transB = [attr.int('transB', 1)];
  const gate = (g: Gate): Value => {
    const t = tape.scoped(`${g}_gate`);
    const fromInput = t.op('Gemm', [x, weights[g].input], transB, 'input_projection');
    const fromHidden = t.op('Gemm', [h, weights[g].recurrent], transB, 'recurrent_projection');
    let sum = t.op('Add', [fromInput, fromHidden], [], 'sum');
    if (cell.biases) sum = t.op('Add', [sum, t.constant('bias', Tensor.float32([cell.hiddenSize], cell.biases[g]))], [], 'add_bias');
    const acc = quantDequant(t, sum, qdqOperands(t, 'acc_quant', cell.quantizers[GATE_QUANTIZERS[g].acc]), 'acc_quant');
    const activated = t.op(ACTIVATION[g], [acc], [], ACTIVATION[g].toLowerCase());
    return quantDequant(t, activated, qdqOperands(t, 'activation_quant', cell.quantizers[GATE_QUANTIZERS[g].activation]), 'activation_quant');
  };
  const [input, forget, cellGate, output] = GATES.map((g) => (g === 'forget' && cell.cifg ? undefined : gate(g)));
  return { input: input!, cell: cellGate!, output: output!, ...(forget ? { forget } : {}) };
}
