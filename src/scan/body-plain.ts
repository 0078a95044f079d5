import { attr } from '../ir/attribute.js';
import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { GATES, type CellDescription, type Gate } from '../recognize/description.js';
import type { Gates } from './cell-update.js';
import { gateActivation } from './gate.js';
import { gateWeights, stackedBias } from './weights.js';

/** The per-gate constants of the plain layout, for the model's metadata. */
export type PlainParameters = Partial<Record<Gate, { inputWeight: Value; recurrentWeight: Value; bias: Value | null }>>;

/**
 * One readable block per gate, weights as constants of the body:
 *   gate = Q_act(act(Q_acc(Gemm(x, W_x) + Gemm(h, W_h) + b)))
 */
export function plainGates(body: Tape, cell: CellDescription, x: Value, h: Value): { gates: Gates; parameters: PlainParameters } {
  const transB = [attr.int('transB', 1)];
  const parameters: PlainParameters = {};
  const gate = (g: Gate): Value => {
    const t = body.scoped(`${g}_gate`);
    const inputWeight = gateWeights(t, 'input_weight', cell.inputWeights[g]);
    const recurrentWeight = gateWeights(t, 'recurrent_weight', cell.recurrentWeights[g]);
    const fromInput = t.op('Gemm', [x, inputWeight], transB, 'input_projection');
    const fromHidden = t.op('Gemm', [h, recurrentWeight], transB, 'recurrent_projection');
    let sum = t.op('Add', [fromInput, fromHidden], [], 'sum');
    const bias = cell.biases ? stackedBias(t, 'bias', [cell.biases[g]]) : null;
    if (bias) sum = t.op('Add', [sum, bias], [], 'add_bias');
    parameters[g] = { inputWeight, recurrentWeight, bias };
    return gateActivation(body, cell, g, sum);
  };
  const [input, forget, cellGate, output] = GATES.map((g) => (g === 'forget' && cell.cifg ? undefined : gate(g)));
  return { gates: { input: input!, cell: cellGate!, output: output!, ...(forget ? { forget } : {}) }, parameters };
}
