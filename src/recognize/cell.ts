import { UnsupportedModelError, type ErrorLocation } from '../errors.js';
import type { Node, Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { refuseDuplicateAttributes } from './attributes.js';
import { constantOf } from './constants.js';
import {
  GATES,
  QUANTIZER_NAMES,
  type CellDescription,
  type CellWeight,
  type Flavour,
  type Gate,
  type InitialState,
  type Quantizer,
  type QuantizerName,
  type WeightStack,
} from './description.js';
import { isQuantNode } from './quant-node.js';
import { SHAPE_PRESERVING } from './sequence-axes.js';
import { intFlag, readQuantizerInputs, readRounding } from './quantizer.js';
import { readCellBias, readCellWeight } from './weight.js';

export const CELL_OP = 'QuantLSTMCell';
export const CELL_DOMAINS = ['onnx.brevitas', 'qonnx.custom_op.general'] as const;
export const CELL_INPUT_COUNT = 48;
const QUANTIZER_FIRST_INPUT = 15;

export function isCellNode(node: Node): boolean {
  return node.opType === CELL_OP && (CELL_DOMAINS as readonly string[]).includes(node.domain);
}

/** What each of the 48 inputs is, for messages. */
export function cellInputRole(index: number): string {
  if (index === 0) return 'input sequence';
  if (index === 1) return 'initial hidden state';
  if (index === 2) return 'initial cell state';
  if (index < 7) return `input weight of the ${GATES[index - 3]} gate`;
  if (index < 11) return `recurrent weight of the ${GATES[index - 7]} gate`;
  if (index < 15) return `bias of the ${GATES[index - 11]} gate`;
  const q = index - QUANTIZER_FIRST_INPUT;
  return `${QUANTIZER_NAMES[Math.floor(q / 3)]} ${['scale', 'zero point', 'bit width'][q % 3]}`;
}

/**
 * Reads one QuantLSTMCell and everything feeding it. Throws UnsupportedModelError naming the
 * node and input at fault when anything is not as an exact conversion needs it.
 */
export function recognizeCell(model: Model, node: Node, index: number): CellDescription {
  const base: ErrorLocation = { file: model.source, node: node.name ?? `#${index}`, opType: node.opType };
  const at = (input: number): ErrorLocation => ({ ...base, input, role: cellInputRole(input) });
  const fail = (detail: string, where: ErrorLocation = base): never => {
    throw new UnsupportedModelError(detail, where);
  };

  if (node.inputs.length !== CELL_INPUT_COUNT) fail(`has ${node.inputs.length} inputs, expected ${CELL_INPUT_COUNT}`);
  if (node.outputs.length !== 3) fail(`has ${node.outputs.length} outputs, expected 3`);
  refuseDuplicateAttributes(node, base);
  const cellInput = node.input(0) ?? fail('is missing', at(0));

  const cifg = intFlag(node, 'cifg', base, false);
  const order: Gate[] = cifg ? ['input', 'cell', 'output', 'forget'] : [...GATES];
  const input = readWeightStack(node, 3, order, undefined, at);
  const hiddenSize = input.stack.rows;
  const recurrent = readWeightStack(node, 7, order, hiddenSize, at);

  return {
    node,
    index,
    flavour: flavourOf(node, cellInput),
    inputSize: input.stack.cols,
    hiddenSize,
    batchFirst: intFlag(node, 'batch_first', base, false),
    reverse: intFlag(node, 'reverse_input', base, false),
    cifg,
    input: cellInput,
    initialHidden: initialState(node.input(1), hiddenSize, at(1)),
    initialCell: initialState(node.input(2), hiddenSize, at(2)),
    inputWeights: input.gates,
    recurrentWeights: recurrent.gates,
    inputStack: input.stack,
    recurrentStack: recurrent.stack,
    biases: readBiases(node, hiddenSize, at),
    quantizers: readQuantizers(node, base, at),
    outputs: node.outputs as [Value, Value, Value],
  };
}

/**
 * The four gates' weights of one kind (inputs first..first+3, in GATES order), evaluated one at
 * a time into a single stacked buffer in `order`. Every gate must have the input gate's shape;
 * recurrent weights must be square in the hidden size.
 */
function readWeightStack(node: Node, first: number, order: Gate[], hiddenSize: number | undefined, at: (input: number) => ErrorLocation): { stack: WeightStack; gates: Record<Gate, CellWeight> } {
  const inputOf = (gate: Gate) => first + GATES.indexOf(gate);
  let stack: WeightStack | undefined;
  const gates: Partial<Record<Gate, CellWeight>> = {};
  for (const [k, gate] of order.entries()) {
    const w = readCellWeight(node.input(inputOf(gate)), at(inputOf(gate)));
    if (!stack) {
      if (hiddenSize !== undefined && (w.rows !== hiddenSize || w.cols !== hiddenSize)) {
        throw new UnsupportedModelError(`has shape [${w.rows}, ${w.cols}], expected [${hiddenSize}, ${hiddenSize}] (hidden size ${hiddenSize})`, at(inputOf(gate)));
      }
      stack = { order, rows: w.rows, cols: w.cols, values: new Float32Array(order.length * w.rows * w.cols) };
    } else if (w.rows !== stack.rows || w.cols !== stack.cols) {
      const expected = hiddenSize === undefined ? `[${stack.rows}, ${stack.cols}] like the ${order[0]} gate's` : `[${hiddenSize}, ${hiddenSize}] (hidden size ${hiddenSize})`;
      throw new UnsupportedModelError(`has shape [${w.rows}, ${w.cols}], expected ${expected}`, at(inputOf(gate)));
    }
    const size = stack.rows * stack.cols;
    const view = stack.values.subarray(k * size, (k + 1) * size);
    view.set(w.values);
    gates[gate] = { ...w, values: view };
  }
  return { stack: stack!, gates: gates as Record<Gate, CellWeight> };
}

/** qonnx when Quant nodes feed the cell, else QCDQ with float or with integer weight initializers. */
function flavourOf(node: Node, input: Value): Flavour {
  if (node.domain === 'qonnx.custom_op.general' || (input.producer && isQuantNode(input.producer))) return 'qonnx';
  let producer = node.input(3)?.producer;
  while (producer && producer.opType !== 'QuantizeLinear' && producer.input(0)?.producer) producer = producer.input(0)!.producer!;
  if (producer?.opType === 'QuantizeLinear') return 'qcdq';
  return node.input(3)?.producer?.opType === 'DequantizeLinear' ? 'qcdq-int' : 'qcdq';
}

function initialState(value: Value | null, hiddenSize: number, at: ErrorLocation): InitialState {
  if (!value) throw new UnsupportedModelError('is missing', at);
  const tensor = constantOf(value);
  if (!tensor) {
    const declared = declaredShape(value);
    if (declared && (declared.length !== 2 || (declared[1] !== undefined && declared[1] !== hiddenSize))) {
      throw new UnsupportedModelError(`has shape [${declared.map((d) => d ?? '?').join(', ')}], expected [batch, ${hiddenSize}]`, at);
    }
    return { kind: 'value', value };
  }
  const shape = tensor.dims;
  if (shape.length !== 2 || shape[1] !== hiddenSize) {
    throw new UnsupportedModelError(`has shape [${shape.join(', ')}], expected [batch, ${hiddenSize}]`, at);
  }
  const zeros = tensor.float32(at).every((x) => x === 0);
  return { kind: zeros ? 'zeros' : 'value', value };
}

/** Ops through which a value keeps its input's shape. */

/** The shape a value is declared with, or that the value it copies is declared with, if any. */
function declaredShape(start: Value): (number | undefined)[] | undefined {
  let value: Value | null = start;
  for (let depth = 0; value && depth < 16; depth++) {
    const type = value.info.type;
    if (type?.kind === 'tensor' && type.shape) return type.shape.map((d) => d.value);
    const producer: Value['producer'] = value.producer;
    if (!producer || !SHAPE_PRESERVING.has(producer.opType)) return undefined;
    value = producer.input(0);
  }
  return undefined;
}

function readBiases(node: Node, hiddenSize: number, at: (input: number) => ErrorLocation): Record<Gate, Float32Array> | null {
  const biases = GATES.map((_, g) => readCellBias(node.input(11 + g), hiddenSize, at(11 + g)));
  if (biases.every((b) => b === null)) return null;
  const missing = biases.indexOf(null);
  if (missing >= 0) throw new UnsupportedModelError('is absent while other gates have a bias', at(11 + missing));
  return Object.fromEntries(GATES.map((gate, g) => [gate, biases[g]!])) as Record<Gate, Float32Array>;
}

function readQuantizers(node: Node, base: ErrorLocation, at: (input: number) => ErrorLocation): Record<QuantizerName, Quantizer> {
  const entries = QUANTIZER_NAMES.map((name, k) => {
    const narrowName = name === 'output_sigmoid' ? 'output_sigmoid_narrow_range' : `${name}_narrow`;
    const flags = {
      signed: intFlag(node, `${name}_signed`, base, undefined),
      narrow: intFlag(node, narrowName, base, undefined),
      rounding: readRounding(node, `${name}_rounding_mode`, base, undefined),
    };
    const first = QUANTIZER_FIRST_INPUT + 3 * k;
    if ([0, 1, 2].every((part) => !node.input(first + part))) {
      throw new UnsupportedModelError(
        `has no ${name} quantizer: a partially quantized cell (Brevitas exports one when a quantizer is set to None); qlstm converts cells whose 11 activation quantizers are all present`,
        at(first),
      );
    }
    return [name, readQuantizerInputs(node, first, flags, (input) => at(input))] as const;
  });
  return Object.fromEntries(entries) as Record<QuantizerName, Quantizer>;
}

/** Every QuantLSTMCell of the model's main graph, recognised, in graph order. */
export function recognizeCells(model: Model): CellDescription[] {
  return model.graph.nodes.filter(isCellNode).map((node, i) => recognizeCell(model, node, i));
}
