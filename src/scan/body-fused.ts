import { attr } from '../ir/attribute.js';
import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import type { CellDescription, Gate } from '../recognize/description.js';
import type { Gates } from './cell-update.js';
import { gateActivation } from './gate.js';
import { stackedBias, stackedWeights } from './weights.js';

export function fusedOrder(cell: CellDescription): Gate[] {
  return cell.cifg ? ['input', 'cell', 'output'] : ['input', 'forget', 'cell', 'output'];
}

/** Names of the constants that hold the cell's parameters, for the model's metadata. */
export interface ParameterNames {
  inputWeights: string;
  recurrentWeights: string;
  bias: string | null;
  order: Gate[];
}

/**
 * The input projection of every time step at once, in the outer graph: x [.., I] times the
 * stacked, transposed input weights [I, gates x H], a float32 constant.
 */
export function inputProjection(outer: Tape, cell: CellDescription, x: Value): { projected: Value; weights: Value } {
  const weights = stackedWeights(outer, 'input_weights', fusedOrder(cell).map((g) => cell.inputWeights[g]), true);
  return { projected: outer.op('MatMul', [x, weights], [], 'input_projection'), weights };
}

/**
 * One step of the gates: one Gemm for h W_h, added to the step's precomputed x W_x (x W_x + h W_h,
 * then + b: Brevitas' order of additions), then one block per gate. The weights and bias are
 * constants of the body, so the body reads nothing from the outer graph.
 */
export function fusedGates(body: Tape, cell: CellDescription, projected: Value, h: Value): { gates: Gates; recurrentWeights: Value; bias: Value | null } {
  const order = fusedOrder(cell);
  const recurrentWeights = stackedWeights(body, 'recurrent_weights', order.map((g) => cell.recurrentWeights[g]));
  const recurrent = body.op('Gemm', [h, recurrentWeights], [attr.int('transB', 1)], 'recurrent_projection');
  let pre = body.op('Add', [projected, recurrent], [], 'sum');
  const bias = cell.biases ? stackedBias(body, 'bias', order.map((g) => cell.biases![g])) : null;
  if (bias) pre = body.op('Add', [pre, bias], [], 'add_bias');
  const sizes = body.constant('gate_sizes', Tensor.int64([order.length], order.map(() => cell.hiddenSize)));
  const parts = body.opMulti('Split', [pre, sizes], order.length, [attr.int('axis', 1)], 'split_gates');
  const values = Object.fromEntries(order.map((g, k) => [g, gateActivation(body, cell, g, parts[k]!)])) as Partial<Record<Gate, Value>>;
  const gates = { input: values.input!, cell: values.cell!, output: values.output!, ...(values.forget ? { forget: values.forget } : {}) };
  return { gates, recurrentWeights, bias };
}
