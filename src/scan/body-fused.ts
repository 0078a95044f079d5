import { attr } from '../ir/attribute.js';
import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import { GATE_QUANTIZERS, type CellDescription, type Gate } from '../recognize/description.js';
import type { Gates } from './cell-update.js';
import { ACTIVATION } from './activations.js';
import { qdqOperands, quantDequant } from './qdq.js';
import { canStack, dequantizedWeights } from './weights.js';

/** The fused layout's weights: all gates stacked, in `order`. */
export interface FusedWeights {
  order: Gate[];
  /** columns of the stacked projection: gates x hidden size */
  width: number;
  /** [input, gates x hidden], for one MatMul over all time steps before the Scan */
  inputTransposed: Value;
  /** [gates x hidden, hidden], for one Gemm per step */
  recurrent: Value;
}

export function fusedOrder(cell: CellDescription): Gate[] {
  return cell.cifg ? ['input', 'cell', 'output'] : ['input', 'forget', 'cell', 'output'];
}

/** Whether the cell's weights can be stacked for the fused layout. */
export function canFuse(cell: CellDescription): boolean {
  const order = fusedOrder(cell);
  return canStack(order.map((g) => cell.inputWeights[g])) && canStack(order.map((g) => cell.recurrentWeights[g]));
}

export function fusedWeights(outer: Tape, cell: CellDescription): FusedWeights {
  const order = fusedOrder(cell);
  return {
    order,
    width: order.length * cell.hiddenSize,
    inputTransposed: dequantizedWeights(outer, 'input_weights', order.map((g) => cell.inputWeights[g]), true),
    recurrent: dequantizedWeights(outer, 'recurrent_weights', order.map((g) => cell.recurrentWeights[g])),
  };
}

/**
 * The gates' matrix products at once: one Gemm for h W_h, added to this step's precomputed
 * x W_x (x W_x + h W_h, then + b: Brevitas' order of additions), then one block per gate
 * with per-tensor quantizers. Per-tensor QuantizeLinear / DequantizeLinear run on
 * onnxruntime's vectorised kernels, and keep the DequantizeLinear -> Sigmoid / Mul ->
 * QuantizeLinear patterns that onnxruntime turns into its (exact) int8 kernels; per-axis
 * quantizers over the stacked gates measured several times slower.
 */
export function fusedGates(tape: Tape, cell: CellDescription, weights: FusedWeights, projected: Value, h: Value): Gates {
  const H = cell.hiddenSize;
  const q = cell.quantizers;
  const order = weights.order;
  const recurrent = tape.op('Gemm', [h, weights.recurrent], [attr.int('transB', 1)], 'recurrent_projection');
  let pre = tape.op('Add', [projected, recurrent], [], 'sum');
  if (cell.biases) {
    const bias = new Float32Array(weights.width);
    order.forEach((g, k) => bias.set(cell.biases![g], k * H));
    pre = tape.op('Add', [pre, tape.constant('bias', Tensor.float32([weights.width], bias))], [], 'add_bias');
  }
  const sizes = tape.constant('gate_sizes', Tensor.int64([order.length], order.map(() => H)));
  const parts = tape.opMulti('Split', [pre, sizes], order.length, [attr.int('axis', 1)], 'split_gates');
  const gate = (k: number): Value => {
    const g = order[k]!;
    const t = tape.scoped(`${g}_gate`);
    const acc = quantDequant(t, parts[k]!, qdqOperands(t, 'acc_quant', q[GATE_QUANTIZERS[g].acc]), 'acc_quant');
    const activated = t.op(ACTIVATION[g], [acc], [], ACTIVATION[g].toLowerCase());
    return quantDequant(t, activated, qdqOperands(t, 'activation_quant', q[GATE_QUANTIZERS[g].activation]), 'activation_quant');
  };
  const values = Object.fromEntries(order.map((g, k) => [g, gate(k)])) as Partial<Record<Gate, Value>>;
  return { input: values.input!, cell: values.cell!, output: values.output!, ...(values.forget ? { forget: values.forget } : {}) };
}
