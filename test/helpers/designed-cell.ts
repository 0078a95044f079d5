/**
 * A QuantLSTMCell export written by hand in the IR, for tests whose expected outputs are worked
 * out on paper: every weight, bias, initial state and quantizer is chosen by the test. The node
 * has Brevitas' 48 inputs and attributes (onnx.brevitas domain, QCDQ flavour with float weights).
 */
import type { Attribute } from '../../src/ir/attribute.js';
import { attr } from '../../src/ir/attribute.js';
import { DataType } from '../../src/ir/data-type.js';
import { Graph, Node, Value } from '../../src/ir/graph.js';
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { tensorType } from '../../src/ir/type-info.js';

export const QUANTIZERS = [
  'output', 'cell_state', 'input_acc', 'forget_acc', 'cell_acc', 'output_acc',
  'input_sigmoid', 'forget_sigmoid', 'cell_tanh', 'output_sigmoid', 'hidden_state_tanh',
] as const;
export type QuantizerName = (typeof QUANTIZERS)[number];
export const GATES = ['input', 'forget', 'cell', 'output'] as const;
export type Gate = (typeof GATES)[number];

export interface DesignedQuantizer {
  scale: number;
  bits: number;
  signed: boolean;
  narrow?: boolean;
  zeroPoint?: number;
  rounding?: string;
}

export interface DesignedCell {
  inputSize: number;
  hiddenSize: number;
  steps: number;
  batch: number;
  /** per gate: W_x [H, I] and W_h [H, H] row-major, b [H] (or no bias at all) */
  inputWeights: Record<Gate, number[]>;
  recurrentWeights: Record<Gate, number[]>;
  biases: Record<Gate, number[]> | null;
  quantizers: Record<QuantizerName, DesignedQuantizer>;
  /** graph inputs `h0` / `c0` [B, H], or constants with these values */
  initialState: { kind: 'inputs' } | { kind: 'constants'; hidden: number[]; cell: number[] };
}

const string = (name: string, value: string): Attribute => ({ name, value: { kind: 'string', value: new TextEncoder().encode(value) }, declaredType: 3 });

/** The export: graph inputs x [T, B, I] (then h0, c0 when the states are inputs), outputs all hidden [T, B, H], last hidden [B, H], last cell [B, H]. */
export function designedExport(d: DesignedCell): Model {
  const graph = new Graph();
  graph.name = 'designed';
  const model = new Model(graph, 'designed.onnx');
  model.irVersion = 8n;
  model.opsetImports = [{ domain: '', version: 14n }, { domain: 'onnx.brevitas', version: 1n }];
  const { inputSize: I, hiddenSize: H, steps: T, batch: B } = d;
  const input = (name: string, shape: number[]) => {
    const v = new Value(name);
    v.info = { type: tensorType(DataType.FLOAT, shape) };
    graph.inputs.push(v);
    return v;
  };
  const constant = (name: string, dims: number[], values: number[]) => graph.addInitializer(name, Tensor.float32(dims, values));

  const x = input('x', [T, B, I]);
  const [h0, c0] =
    d.initialState.kind === 'inputs'
      ? [input('h0', [B, H]), input('c0', [B, H])]
      : [constant('h0', [B, H], d.initialState.hidden), constant('c0', [B, H], d.initialState.cell)];
  const inputs: (Value | null)[] = [x, h0, c0];
  for (const g of GATES) inputs.push(constant(`W_x_${g}`, [H, I], d.inputWeights[g]));
  for (const g of GATES) inputs.push(constant(`W_h_${g}`, [H, H], d.recurrentWeights[g]));
  for (const g of GATES) inputs.push(d.biases ? constant(`b_${g}`, [H], d.biases[g]) : constant(`b_${g}`, [], [0]));
  const attributes: Attribute[] = [attr.int('batch_first', 0), attr.int('cifg', 0), attr.int('reverse_input', 0)];
  for (const name of QUANTIZERS) {
    const q = d.quantizers[name];
    inputs.push(constant(`${name}_scale`, [], [q.scale]), constant(`${name}_zero_point`, [], [q.zeroPoint ?? 0]), constant(`${name}_bit_width`, [], [q.bits]));
    attributes.push(
      attr.int(`${name}_signed`, q.signed ? 1 : 0),
      attr.int(name === 'output_sigmoid' ? 'output_sigmoid_narrow_range' : `${name}_narrow`, q.narrow ? 1 : 0),
      string(`${name}_rounding_mode`, q.rounding ?? 'ROUND'),
    );
  }
  const outputs = ['all_hidden', 'last_hidden', 'last_cell'].map((name, k) => {
    const v = new Value(name);
    v.info = { type: tensorType(DataType.FLOAT, k === 0 ? [T, B, H] : [B, H]) };
    return v;
  });
  graph.nodes.push(new Node({ opType: 'QuantLSTMCell', domain: 'onnx.brevitas', name: 'cell', inputs, outputs, attributes }));
  graph.outputs = outputs;
  return model;
}

/** The same quantizer for each gate's accumulator, each sigmoid, etc.: a compact way to write a design. */
export function quantizersOf(parts: { acc: DesignedQuantizer; sigmoid: DesignedQuantizer; tanh: DesignedQuantizer; cellState: DesignedQuantizer; hiddenTanh: DesignedQuantizer; output: DesignedQuantizer }): Record<QuantizerName, DesignedQuantizer> {
  return {
    output: parts.output,
    cell_state: parts.cellState,
    input_acc: parts.acc,
    forget_acc: parts.acc,
    cell_acc: parts.acc,
    output_acc: parts.acc,
    input_sigmoid: parts.sigmoid,
    forget_sigmoid: parts.sigmoid,
    cell_tanh: parts.tanh,
    output_sigmoid: parts.sigmoid,
    hidden_state_tanh: parts.hiddenTanh,
  };
}

/** The same value for each of the four gates. */
export function sameForEachGate<T>(value: T): Record<Gate, T> {
  return { input: value, forget: value, cell: value, output: value };
}
