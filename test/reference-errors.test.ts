import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode, UnsupportedModelError } from '../src/errors.js';
import { DataType } from '../src/ir/data-type.js';
import { Node, Value, type Graph } from '../src/ir/graph.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/type-info.js';
import { readModel } from '../src/onnx/files.js';
import { referenceCellsOf } from '../src/reference/from-export.js';
import { corpusCase } from './helpers/corpus.js';

/** What the reference refuses to read, each with the node, input and role named. */
const FILE = corpusCase('calib_i10_h20').file('qcdq-int');
const QONNX = corpusCase('calib_i10_h20').file('qonnx');
const NODE = '/lstm/layers.0.0/export_handler/QuantLSTMCell';

function cellNode(model: Model): Node {
  return model.graph.nodes.find((n) => n.opType === 'QuantLSTMCell')!;
}

function replaceInput(model: Model, index: number, tensor: Tensor): void {
  cellNode(model).setInput(index, model.graph.addInitializer(`planted_${index}`, tensor));
}

function setString(model: Model, name: string, value: string): void {
  const a = cellNode(model).attribute(name)!;
  a.value = { kind: 'string', value: new TextEncoder().encode(value) };
}

function graphInput(graph: Graph, name: string): Value {
  const v = new Value(name);
  v.info = { type: tensorType(DataType.FLOAT, [20, 10]) };
  graph.inputs.push(v);
  return v;
}

const CASES: { name: string; file?: string; plant: (m: Model) => void; message: RegExp }[] = [
  { name: 'a weight that is a graph input', plant: (m) => cellNode(m).setInput(3, graphInput(m.graph, 'w')), message: /input 3 \(input gate input weight\): is not a constant the reference can evaluate: reads graph input "w"/ },
  {
    name: 'an operator the evaluator does not know in a weight chain',
    plant: (m) => {
      const out = new Value('transposed');
      m.graph.nodes.push(new Node({ opType: 'Transpose', name: 'planted', inputs: [cellNode(m).input(7)], outputs: [out] }));
      cellNode(m).setInput(7, out);
    },
    message: /input 7 \(input gate recurrent weight\): is not a constant the reference can evaluate: node "planted" \(Transpose\) is not an operator the reference evaluates/,
  },
  { name: 'a weight of the wrong shape', plant: (m) => replaceInput(m, 6, Tensor.float32([20, 9], new Array(180).fill(0))), message: /input 6 \(output gate input weight\): has shape \[20, 9\], expected \[20, 10\]/ },
  { name: 'a bias of the wrong size', plant: (m) => replaceInput(m, 13, Tensor.float32([19], new Array(19).fill(0))), message: /input 13 \(cell gate bias\): has shape \[19\], expected \[20\]/ },
  { name: 'a cell-state bit width of 25', plant: (m) => replaceInput(m, 20, Tensor.float32([], [25])), message: /input 20 \(cell_state bit width\): bit width is 25; the reference handles 2 to 24 bits/ },
  { name: 'a bit width of 1', plant: (m) => replaceInput(m, 47, Tensor.float32([], [1])), message: /input 47 \(hidden_state_tanh bit width\): bit width is 1/ },
  { name: 'a zero scale', plant: (m) => replaceInput(m, 15, Tensor.float32([], [0])), message: /input 15 \(output scale\): scale 0 is not a positive normal float32/ },
  { name: 'a NaN scale', plant: (m) => replaceInput(m, 36, Tensor.float32([], [NaN])), message: /input 36 \(forget_sigmoid scale\): scale NaN/ },
  { name: 'a scale that is not a scalar', plant: (m) => replaceInput(m, 21, Tensor.float32([2], [0.1, 0.2])), message: /input 21 \(input_acc scale\): has shape \[2\], expected a scalar/ },
  { name: 'a fractional zero point', plant: (m) => replaceInput(m, 16, Tensor.float32([], [0.5])), message: /input 16 \(output zero point\): zero point 0.5 is not an integer in \[-128, 127\]/ },
  { name: 'a zero point outside the range', plant: (m) => replaceInput(m, 34, Tensor.float32([], [-1])), message: /input 34 \(input_sigmoid zero point\): zero point -1 is not an integer in \[0, 255\]/ },
  { name: 'an unknown rounding mode', plant: (m) => setString(m, 'cell_state_rounding_mode', 'STOCHASTIC'), message: /rounding mode "STOCHASTIC" of quantizer cell_state is not one the reference knows/ },
  { name: 'a constant initial state that is not zero', plant: (m) => replaceInput(m, 2, Tensor.float32([1, 20], new Array(20).fill(0.5))), message: /input 2 \(initial cell state\): is a constant that is not all zeros/ },
  { name: 'a missing quantizer flag', plant: (m) => cellNode(m).attributes.splice(cellNode(m).attributes.findIndex((a) => a.name === 'output_signed'), 1), message: /has no attribute "output_signed"/ },
  { name: 'too few inputs', plant: (m) => cellNode(m).setInput(47, null), message: /input 47 \(hidden_state_tanh bit width\): is missing/ },
  {
    name: 'a qonnx Quant of 1 bit (bipolar) in a weight chain',
    file: QONNX,
    plant: (m) => {
      const quant = cellNode(m).input(3)!.producer!;
      quant.setInput(3, m.graph.addInitializer('one_bit', Tensor.float32([], [1])));
    },
    message: /input 3 \(input gate input weight\): .*bit width 1 is outside 2 to 32/,
  },
];

describe('referenceCellsOf refuses what it cannot read exactly', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const model = readModel(c.file ?? FILE);
      c.plant(model);
      assert.throws(
        () => referenceCellsOf(model),
        (error: unknown) => {
          assert.ok(error instanceof UnsupportedModelError, String(error));
          assert.equal(error.exitCode, ExitCode.unsupported);
          assert.match(error.message, c.message);
          assert.ok(error.message.startsWith(`${c.file ?? FILE}: node "${NODE}" (QuantLSTMCell)`), error.message);
          assert.ok(!error.message.includes('\n'));
          return true;
        },
      );
    });
  }

  it('reads the unchanged file', () => {
    const [{ cell, boundary }] = referenceCellsOf(readModel(FILE)) as [ReturnType<typeof referenceCellsOf>[number]];
    assert.deepEqual([cell.name, cell.inputSize, cell.hiddenSize, cell.cifg, cell.reverse, cell.batchFirst], [NODE, 10, 20, false, false, false]);
    assert.deepEqual([boundary.initialHidden, boundary.initialCell], [null, null]);
  });
});
