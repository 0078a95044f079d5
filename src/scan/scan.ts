import { attr } from '../ir/attribute.js';
import { DataType } from '../ir/data-type.js';
import { Graph, Value } from '../ir/graph.js';
import { toposort } from '../ir/cleanup.js';
import type { NameAuthority } from '../ir/names.js';
import { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType } from '../ir/type-info.js';
import type { CellDescription, Gate, InitialState } from '../recognize/description.js';
import { plainGates } from './body-plain.js';
import { fusedGates, fusedOrder, inputProjection } from './body-fused.js';
import { cellUpdate, type Gates } from './cell-update.js';

export type Layout = 'fused' | 'plain';
export const LAYOUTS: readonly Layout[] = ['fused', 'plain'];

export interface ScanOptions {
  layout: Layout;
  /** keep the export's traced batch for zero initial states instead of sizing them from the input */
  staticShapes: boolean;
}

/** Where a gate's parameters live in the converted model (docs/design.md, section 4). */
export interface TensorSlice {
  tensor: string;
  transposed: boolean;
  offset: number;
}
export type CellParameters = Partial<Record<Gate, { inputWeight: TensorSlice; recurrentWeight: TensorSlice; bias: TensorSlice | null }>>;

/**
 * Builds the Scan that computes a cell, writing into `outer`. The Scan's outputs are the
 * cell's own output values, so everything downstream stays connected as it was. Its body
 * reads nothing from the outer graph: weights, biases and quantizer parameters are constants
 * of the body. The cell node must already be detached.
 */
export function buildCellScan(cell: CellDescription, outer: Tape, names: NameAuthority, options: ScanOptions): CellParameters {
  const H = cell.hiddenSize;
  const timeAxis = cell.batchFirst ? 1 : 0;
  const batchAxis = cell.batchFirst ? 0 : 1;
  const stepPrefix = `${outer.prefix}/step`;

  const body = new Graph();
  body.name = names.fresh(stepPrefix);
  const bodyTape = new Tape(names, stepPrefix);
  const stateType = () => tensorType(DataType.FLOAT, [undefined, H]);
  const hPrev = typed(new Value(names.fresh(`${stepPrefix}/hidden_in`)), stateType());
  const cPrev = typed(new Value(names.fresh(`${stepPrefix}/cell_in`)), stateType());

  let scanInput: Value;
  let stepInput: Value;
  let gates: Gates;
  let parameters: CellParameters;
  if (options.layout === 'plain') {
    scanInput = cell.input;
    stepInput = typed(new Value(names.fresh(`${stepPrefix}/x`)), tensorType(DataType.FLOAT, [undefined, cell.inputSize]));
    const plain = plainGates(bodyTape, cell, stepInput, hPrev);
    gates = plain.gates;
    const slice = (v: Value | null) => (v ? { tensor: v.name, transposed: false, offset: 0 } : null);
    parameters = Object.fromEntries(
      Object.entries(plain.parameters).map(([g, p]) => [g, { inputWeight: slice(p.inputWeight)!, recurrentWeight: slice(p.recurrentWeight)!, bias: slice(p.bias) }]),
    );
  } else {
    const order = fusedOrder(cell);
    const projection = inputProjection(outer, names, cell, cell.input);
    scanInput = projection.projected;
    stepInput = typed(new Value(names.fresh(`${stepPrefix}/projected_x`)), tensorType(DataType.FLOAT, [undefined, order.length * H]));
    const fused = fusedGates(bodyTape, cell, stepInput, hPrev);
    gates = fused.gates;
    parameters = Object.fromEntries(
      order.map((g, k) => [
        g,
        {
          inputWeight: { tensor: projection.weights.name, transposed: false, offset: k * H },
          recurrentWeight: { tensor: fused.recurrentWeights.name, transposed: false, offset: k * H },
          bias: fused.bias ? { tensor: fused.bias.name, transposed: false, offset: k * H } : null,
        },
      ]),
    );
  }
  const { hidden, cellState } = cellUpdate(bodyTape, cell, gates, cPrev);
  // A value listed twice among a body's outputs gives wrong results in onnxruntime: one Identity.
  const hiddenOut = bodyTape.op('Identity', [hidden], [], 'hidden_out');
  bodyTape.commitTo(body);
  body.inputs = [hPrev, cPrev, stepInput];
  body.outputs = [typed(hidden, stateType()), typed(cellState, stateType()), typed(hiddenOut, stateType())];
  toposort(body);

  let zeros: Value | undefined;
  const initial = (state: InitialState): Value => {
    if (state.kind === 'value' || options.staticShapes) return state.value;
    zeros ??= batchZeros(outer, cell.input, batchAxis, H);
    return zeros;
  };
  const axes = [attr.ints('scan_input_axes', [timeAxis]), attr.ints('scan_output_axes', [timeAxis])];
  const directions = cell.reverse ? [attr.ints('scan_input_directions', [1]), attr.ints('scan_output_directions', [1])] : [];
  const [sequence, lastHidden, lastCell] = cell.outputs;
  outer.opInto(
    'Scan',
    [initial(cell.initialHidden), initial(cell.initialCell), scanInput],
    [lastHidden, lastCell, sequence],
    [attr.graph('body', body), attr.int('num_scan_inputs', 1), ...axes, ...directions],
    'Scan',
  );
  return parameters;
}

function typed(value: Value, type: ReturnType<typeof tensorType>): Value {
  value.info = { ...value.info, type };
  return value;
}

/** Zeros of shape [batch, H], the batch taken from `input` at run time. */
function batchZeros(tape: Tape, input: Value, batchAxis: number, H: number): Value {
  const t = tape.scoped('initial_state');
  const shape = t.op('Shape', [input], [], 'input_shape');
  const batch = t.op('Gather', [shape, t.constant('batch_axis', Tensor.int64([1], [batchAxis]))], [attr.int('axis', 0)], 'batch_size');
  const stateShape = t.op('Concat', [batch, t.constant('hidden_size', Tensor.int64([1], [H]))], [attr.int('axis', 0)], 'state_shape');
  return t.op('ConstantOfShape', [stateShape], [attr.tensor('value', Tensor.float32([1], [0]))], 'zeros');
}
