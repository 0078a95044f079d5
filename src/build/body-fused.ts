import { attr } from '../ir/attribute.js';
import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import { GATE_QUANTIZERS, type CellDescription, type Gate } from '../recognize/description.js';
import type { Gates } from './cell-update.js';
import { ACTIVATION } from './gate-quantizers.js';
import { canShareQdq, groupedQdqOperands, qdqOperands, quantDequant } from './qdq.js';
import { canStack, dequantizedWeights } from './weights.js';

/** The fused layout's weights: all gates stacked, sigmoid gates first, the candidate last. */
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
  return cell.cifg ? ['input', 'output', 'cell'] : ['input', 'forget', 'output', 'cell'];
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
 * All gates at once: one Gemm for the recurrent products, added to the precomputed input
 * projection of this step (x W_x + h W_h, then + b: Brevitas' order of additions), then
 * per-axis quantizers over the stacked gates wherever they share a storage type and range.
 */
export function fusedGates(tape: Tape, cell: CellDescription, weights: FusedWeights, projected: Value, h: Value): Gates {
  const H = cell.hiddenSize;
  const q = cell.quantizers;
  const order = weights.order;
  const split = (v: Value, sizes: number[], label: string): Value[] =>
    tape.opMulti('Split', [v, tape.constant(`${label}/sizes`, Tensor.int64([sizes.length], sizes))], sizes.length, [attr.int('axis', 1)], label);

  const recurrent = tape.op('Gemm', [h, weights.recurrent], [attr.int('transB', 1)], 'recurrent_projection');
  let pre = tape.op('Add', [projected, recurrent], [], 'sum');
  if (cell.biases) {
    const bias = new Float32Array(weights.width);
    order.forEach((g, k) => bias.set(cell.biases![g], k * H));
    pre = tape.op('Add', [pre, tape.constant('bias', Tensor.float32([weights.width], bias))], [], 'add_bias');
  }

  const sigmoidGates = order.slice(0, -1);
  const accQuantizers = order.map((g) => q[GATE_QUANTIZERS[g].acc]);
  const sigmoidQuantizers = sigmoidGates.map((g) => q[GATE_QUANTIZERS[g].activation]);
  const result: Partial<Record<Gate, Value>> = {};

  if (canShareQdq(accQuantizers) && canShareQdq(sigmoidQuantizers)) {
    const acc = quantDequant(tape, pre, groupedQdqOperands(tape, 'acc_quant', accQuantizers, H, 1), 'acc_quant');
    const [sigmoidPart, candidatePart] = split(acc, [sigmoidGates.length * H, H], 'split_activations');
    const sigmoid = tape.op('Sigmoid', [sigmoidPart!], [], 'sigmoid');
    const sigmoidQ = quantDequant(tape, sigmoid, groupedQdqOperands(tape, 'sigmoid_quant', sigmoidQuantizers, H, 1), 'sigmoid_quant');
    split(sigmoidQ, sigmoidGates.map(() => H), 'split_gates').forEach((v, k) => (result[sigmoidGates[k]!] = v));
    const tanh = tape.op('Tanh', [candidatePart!], [], 'tanh');
    result.cell = quantDequant(tape, tanh, qdqOperands(tape, 'cell_tanh_quant', q.cell_tanh), 'cell_tanh_quant');
  } else {
    // Quantizers of different types or ranges: one block per gate after the shared products.
    split(pre, order.map(() => H), 'split_gates').forEach((v, k) => {
      const g = order[k]!;
      const acc = quantDequant(tape, v, qdqOperands(tape, `${g}_acc_quant`, q[GATE_QUANTIZERS[g].acc]), `${g}_acc_quant`);
      const activated = tape.op(ACTIVATION[g], [acc], [], `${g}_${ACTIVATION[g].toLowerCase()}`);
      result[g] = quantDequant(tape, activated, qdqOperands(tape, `${g}_activation_quant`, q[GATE_QUANTIZERS[g].activation]), `${g}_activation_quant`);
    });
  }
  return { input: result.input!, cell: result.cell!, output: result.output!, ...(result.forget ? { forget: result.forget } : {}) };
}
