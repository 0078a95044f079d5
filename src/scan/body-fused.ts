import { attr } from '../ir/attribute.js';
import { DataType } from '../ir/data-type.js';
import { Graph, Value } from '../ir/graph.js';
import type { NameAuthority } from '../ir/names.js';
import { Tape } from '../ir/tape.js';
import { tensorType } from '../ir/type-info.js';
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
 * The input projection of every time step at once: x [.., I] times the stacked, transposed input
 * weights [I, gates x H], a float32 constant. It runs inside a one-iteration Scan whose body
 * takes x as a state: onnxruntime's fusions then cannot see x's producer. Written in the outer
 * graph, a float-form quantizer's final `Mul(code, scale)` before it is fused into
 * `FusedMatMul(alpha = scale)`, which computes (code W) scale instead of (code scale) W.
 */
export function inputProjection(outer: Tape, names: NameAuthority, cell: CellDescription, x: Value): { projected: Value; weights: Value } {
  const t = outer.scoped('input_projection');
  const bodyTape = new Tape(names, `${t.prefix}/body`);
  const body = new Graph();
  body.name = names.fresh(`${t.prefix}/body`);
  const sequence = new Value(names.fresh(`${t.prefix}/body/sequence`));
  sequence.info = { type: tensorType(DataType.FLOAT, [undefined, undefined, cell.inputSize]) };
  const once = new Value(names.fresh(`${t.prefix}/body/once`));
  once.info = { type: tensorType(DataType.FLOAT, []) };
  const weights = stackedWeights(bodyTape, 'input_weights', fusedOrder(cell).map((g) => cell.inputWeights[g]), true);
  const product = bodyTape.op('MatMul', [sequence, weights], [], 'MatMul');
  const passed = bodyTape.op('Identity', [sequence], [], 'sequence_out');
  bodyTape.commitTo(body);
  body.inputs = [sequence, once];
  body.outputs = [passed, product];

  const oneStep = t.constant('one_step', Tensor.float32([1], [0]));
  const [, stacked] = t.opMulti('Scan', [x, oneStep], 2, [attr.graph('body', body), attr.int('num_scan_inputs', 1)], 'Scan');
  const projected = t.op('Squeeze', [stacked!, t.constant('axis_0', Tensor.int64([1], [0]))], [], 'projection');
  return { projected, weights };
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
