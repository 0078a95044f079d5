import { attr } from '../ir/attribute.js';
import { DataType } from '../ir/data-type.js';
import { Graph, Value } from '../ir/graph.js';
import type { NameAuthority } from '../ir/names.js';
import { Tape } from '../ir/tape.js';
import { toposort } from '../ir/cleanup.js';
import { tensorType } from '../ir/type-info.js';
import { Tensor } from '../ir/tensor.js';
import type { CellDescription, Gate } from '../recognize/description.js';
import type { Gates } from './cell-update.js';
import { gateActivation } from './gate.js';
import { stackedBias, stackedWeights } from './weights.js';

/** The gates a fused body computes, in the order the recognizer stacked their weights (CIFG: no forget gate). */
export function fusedOrder(cell: CellDescription): Gate[] {
  return cell.inputStack.order.slice(0, cell.cifg ? 3 : 4);
}

/**
 * The input projection of every time step at once: x [.., I] times the stacked input weights
 * [gates x H, I] (Gemm, transB), a float32 constant, computed on x flattened to [steps x batch, I].
 * It runs inside a one-iteration Scan whose body takes x as a state: onnxruntime's fusions then
 * cannot see x's producer. Written in the outer graph, a float-form quantizer's final
 * `Mul(code, scale)` before it is fused into a MatMul's alpha (FusedMatMul), which computes
 * (code W) scale instead of (code scale) W.
 */
export function inputProjection(outer: Tape, names: NameAuthority, cell: CellDescription, x: Value): { projected: Value; weights: Value } {
  const t = outer.scoped('input_projection');
  const b = new Tape(names, `${t.prefix}/body`);
  const body = new Graph();
  body.name = names.fresh(`${t.prefix}/body`);
  const sequence = new Value(names.fresh(`${t.prefix}/body/sequence`));
  sequence.info = { type: tensorType(DataType.FLOAT, [undefined, undefined, cell.inputSize]) };
  const once = new Value(names.fresh(`${t.prefix}/body/once`));
  once.info = { type: tensorType(DataType.FLOAT, []) };
  const width = fusedOrder(cell).length * cell.hiddenSize;
  const weights = stackedWeights(b, 'input_weights', cell.inputStack, fusedOrder(cell).length);
  const rows = b.op('Reshape', [sequence, b.constant('rows_shape', Tensor.int64([2], [-1, cell.inputSize]))], [], 'as_rows');
  const product = b.op('Gemm', [rows, weights], [attr.int('transB', 1)], 'Gemm');
  const leading = b.op('Slice', [b.op('Shape', [sequence], [], 'shape'), b.constant('zero', Tensor.int64([1], [0])), b.constant('minus_one', Tensor.int64([1], [-1]))], [], 'leading_axes');
  const shape = b.op('Concat', [leading, b.constant('width', Tensor.int64([1], [width]))], [attr.int('axis', 0)], 'projected_shape');
  const projectedSequence = b.op('Reshape', [product, shape], [], 'as_sequence');
  const passed = b.op('Identity', [sequence], [], 'sequence_out');
  // Typed body outputs: onnx's shape inference would add value_info of the same names, which
  // qonnx's subgraph transforms then refuse as duplicates.
  passed.info = { type: tensorType(DataType.FLOAT, [undefined, undefined, cell.inputSize]) };
  projectedSequence.info = { type: tensorType(DataType.FLOAT, [undefined, undefined, width]) };
  b.commitTo(body);
  body.inputs = [sequence, once];
  body.outputs = [passed, projectedSequence];
  toposort(body);

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
  const recurrentWeights = stackedWeights(body, 'recurrent_weights', cell.recurrentStack, order.length);
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
