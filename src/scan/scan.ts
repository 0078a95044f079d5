import { attr } from '../ir/attribute.js';
import { DataType } from '../ir/data-type.js';
import { Graph, Value } from '../ir/graph.js';
import { toposort } from '../ir/cleanup.js';
import type { NameAuthority } from '../ir/names.js';
import { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType } from '../ir/type-info.js';
import { GATES, type CellDescription, type InitialState } from '../recognize/description.js';
import { plainGates, type PlainWeights } from './body-plain.js';
import { fusedGates, fusedWeights } from './body-fused.js';
import { cellUpdate, type Gates } from './cell-update.js';
import { dequantizedWeights } from './weights.js';

export type Layout = 'fused' | 'plain';
export const LAYOUTS: readonly Layout[] = ['fused', 'plain'];

/**
 * Builds the Scan that computes a cell, writing into `outer`. The Scan's outputs are the
 * cell's own output values, so everything downstream stays connected as it was.
 * The cell node must already be detached.
 */
export function buildCellScan(cell: CellDescription, outer: Tape, names: NameAuthority, layout: Layout): void {
  const H = cell.hiddenSize;
  const timeAxis = cell.batchFirst ? 1 : 0;
  const batchAxis = cell.batchFirst ? 0 : 1;

  const body = new Graph();
  body.name = names.fresh(`${outer.prefix}/step`);
  const bodyTape = new Tape(names, `${outer.prefix}/step`);
  const stateType = () => tensorType(DataType.FLOAT, [undefined, H]);
  const hPrev = typed(new Value(names.fresh(`${outer.prefix}/step/hidden_in`)), stateType());
  const cPrev = typed(new Value(names.fresh(`${outer.prefix}/step/cell_in`)), stateType());

  let scanInput: Value;
  let stepInput: Value;
  let gates: Gates;
  if (layout === 'plain') {
    const weights = Object.fromEntries(
      GATES.map((g) => [
        g,
        {
          input: dequantizedWeights(outer, `${g}_input_weight`, [cell.inputWeights[g]]),
          recurrent: dequantizedWeights(outer, `${g}_recurrent_weight`, [cell.recurrentWeights[g]]),
        },
      ]),
    ) as PlainWeights;
    scanInput = cell.input;
    stepInput = typed(new Value(names.fresh(`${outer.prefix}/step/x`)), tensorType(DataType.FLOAT, [undefined, cell.inputSize]));
    gates = plainGates(bodyTape, cell, weights, stepInput, hPrev);
  } else {
    const weights = fusedWeights(outer, cell);
    scanInput = wholeSequenceProjection(outer, names, cell.input, weights.inputTransposed, cell.inputSize, weights.width);
    stepInput = typed(new Value(names.fresh(`${outer.prefix}/step/projected_x`)), tensorType(DataType.FLOAT, [undefined, weights.width]));
    gates = fusedGates(bodyTape, cell, weights, stepInput, hPrev);
  }
  const { hidden, cellState } = cellUpdate(bodyTape, cell, gates, cPrev);
  const hiddenOut = bodyTape.op('Identity', [hidden], [], 'hidden_out');
  bodyTape.commitTo(body);
  body.inputs = [hPrev, cPrev, stepInput];
  body.outputs = [typed(hidden, stateType()), typed(cellState, stateType()), typed(hiddenOut, stateType())];
  toposort(body);

  let zeros: Value | undefined;
  const initial = (state: InitialState): Value => {
    if (state.kind === 'value') return state.value;
    zeros ??= batchZeros(outer, cell.input, batchAxis, H);
    return zeros;
  };
  const axes = [attr.ints('scan_input_axes', [timeAxis]), attr.ints('scan_output_axes', [timeAxis])];
  const directions = cell.reverse
    ? [attr.ints('scan_input_directions', [1]), attr.ints('scan_output_directions', [1])]
    : [];
  const [sequence, lastHidden, lastCell] = cell.outputs;
  outer.opInto(
    'Scan',
    [initial(cell.initialHidden), initial(cell.initialCell), scanInput],
    [lastHidden, lastCell, sequence],
    [attr.graph('body', body), attr.int('num_scan_inputs', 1), ...axes, ...directions],
    'Scan',
  );
}

function typed(value: Value, type: ReturnType<typeof tensorType>): Value {
  value.info = { ...value.info, type };
  return value;
}

/**
 * x W for every time step at once, as one MatMul. It runs inside a single-iteration Scan so
 * that onnxruntime's QDQ fusions cannot see the DequantizeLinear operands and swap the
 * float MatMul for an integer kernel (MatMulIntegerToFloat, MatMulNBits) that rounds
 * differently from Brevitas.
 */
function wholeSequenceProjection(tape: Tape, names: NameAuthority, input: Value, weight: Value, inputSize: number, width: number): Value {
  const t = tape.scoped('input_projection');
  const body = new Graph();
  body.name = names.fresh(`${t.prefix}/body`);
  const bodyTape = new Tape(names, `${t.prefix}/body`);
  const sequence = typed(new Value(names.fresh(`${t.prefix}/body/sequence`)), tensorType(DataType.FLOAT, [undefined, undefined, inputSize]));
  const projected = bodyTape.op('MatMul', [sequence, weight], [], 'MatMul');
  bodyTape.commitTo(body);
  body.inputs = [sequence];
  body.outputs = [typed(projected, tensorType(DataType.FLOAT, [undefined, undefined, width]))];

  const axis0 = t.constant('axis_0', Tensor.int64([1], [0]));
  const wrapped = t.op('Unsqueeze', [input, axis0], [], 'as_one_step');
  const [stacked] = t.opMulti('Scan', [wrapped], 1, [attr.graph('body', body), attr.int('num_scan_inputs', 1)], 'Scan');
  return t.op('Squeeze', [stacked!, axis0], [], 'projection');
}

/** Zeros of shape [batch, H], the batch taken from `input` at run time. */
function batchZeros(tape: Tape, input: Value, batchAxis: number, H: number): Value {
  const t = tape.scoped('initial_state');
  const shape = t.op('Shape', [input], [], 'input_shape');
  const batch = t.op('Gather', [shape, t.constant('batch_axis', Tensor.int64([1], [batchAxis]))], [attr.int('axis', 0)], 'batch_size');
  const stateShape = t.op('Concat', [batch, t.constant('hidden_size', Tensor.int64([1], [H]))], [attr.int('axis', 0)], 'state_shape');
  return t.op('ConstantOfShape', [stateShape], [attr.tensor('value', Tensor.float32([1], [0]))], 'zeros');
}
