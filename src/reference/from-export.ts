/**
 * Reads each QuantLSTMCell of a Brevitas export into a ReferenceCell, with the reference's own
 * table of the node's 48 inputs (written from the corpus README) and its own constant
 * evaluator. Nothing here is shared with src/recognize.
 */
import { UnsupportedModelError } from '../errors.js';
import type { Attribute } from '../ir/attribute.js';
import { DataType } from '../ir/data-type.js';
import type { Node, Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { ConstantEvaluator, NotEvaluable, type Constant } from './evaluate.js';
import { f32 } from './float32.js';
import { integerRange, isRoundingMode } from './quantizer.js';
import type { ReferenceBoundary, ReferenceCell, ReferenceGate, ReferenceQuantizer, ReferenceQuantizerName } from './types.js';

export const CELL_DOMAINS: readonly string[] = ['onnx.brevitas', 'qonnx.custom_op.general'];

const GATE_NAMES = ['input', 'forget', 'cell', 'output'] as const;
type GateName = (typeof GATE_NAMES)[number];

/** The 11 quantizers in the order their (scale, zero point, bit width) triples follow input 14. */
export const QUANTIZER_ORDER: readonly ReferenceQuantizerName[] = [
  'output',
  'cell_state',
  'input_acc',
  'forget_acc',
  'cell_acc',
  'output_acc',
  'input_sigmoid',
  'forget_sigmoid',
  'cell_tanh',
  'output_sigmoid',
  'hidden_state_tanh',
];

const INPUTS = {
  sequence: 0,
  initialHidden: 1,
  initialCell: 2,
  inputWeight: 3, // + gate index (input, forget, cell, output)
  recurrentWeight: 7,
  bias: 11,
  quantizers: 15, // + 3 * quantizer index + (0 scale, 1 zero point, 2 bit width)
  count: 48,
} as const;

const GATE_QUANTIZERS: Record<GateName, { acc: ReferenceQuantizerName; activation: ReferenceQuantizerName }> = {
  input: { acc: 'input_acc', activation: 'input_sigmoid' },
  forget: { acc: 'forget_acc', activation: 'forget_sigmoid' },
  cell: { acc: 'cell_acc', activation: 'cell_tanh' },
  output: { acc: 'output_acc', activation: 'output_sigmoid' },
};

/** Bit widths of cell quantizers: float32 holds every code up to 24 bits. */
export const MAX_CELL_BITS = 24;
export const MIN_CELL_BITS = 2;

export function isCellNode(node: Node): boolean {
  return node.opType === 'QuantLSTMCell' && CELL_DOMAINS.includes(node.domain);
}

export function inputRole(index: number): string {
  if (index === INPUTS.sequence) return 'input sequence';
  if (index === INPUTS.initialHidden) return 'initial hidden state';
  if (index === INPUTS.initialCell) return 'initial cell state';
  if (index < INPUTS.recurrentWeight) return `${GATE_NAMES[index - INPUTS.inputWeight]} gate input weight`;
  if (index < INPUTS.bias) return `${GATE_NAMES[index - INPUTS.recurrentWeight]} gate recurrent weight`;
  if (index < INPUTS.quantizers) return `${GATE_NAMES[index - INPUTS.bias]} gate bias`;
  const q = QUANTIZER_ORDER[Math.floor((index - INPUTS.quantizers) / 3)];
  return `${q} ${['scale', 'zero point', 'bit width'][(index - INPUTS.quantizers) % 3]}`;
}

export function referenceCellsOf(model: Model): { cell: ReferenceCell; boundary: ReferenceBoundary }[] {
  const evaluator = new ConstantEvaluator(model);
  return model.graph.nodes.filter(isCellNode).map((node, k) => new CellReader(model, node, k, evaluator).read());
}

class CellReader {
  private readonly name: string;

  constructor(
    private readonly model: Model,
    private readonly node: Node,
    index: number,
    private readonly evaluator: ConstantEvaluator,
  ) {
    this.name = node.name || `QuantLSTMCell ${index}`;
  }

  private fail(detail: string, input?: number): never {
    throw new UnsupportedModelError(detail, {
      file: this.model.source,
      node: this.name,
      opType: this.node.opType,
      ...(input === undefined ? {} : { input, role: inputRole(input) }),
    });
  }

  private constant(index: number): Constant {
    const value = this.node.input(index);
    if (!value) this.fail('is missing', index);
    try {
      return this.evaluator.evaluate(value);
    } catch (error) {
      if (error instanceof NotEvaluable) this.fail(`is not a constant the reference can evaluate: ${error.message}`, index);
      throw error;
    }
  }

  private isPresent(index: number): boolean {
    return this.node.input(index) !== null;
  }

  read(): { cell: ReferenceCell; boundary: ReferenceBoundary } {
    const node = this.node;
    if (node.inputs.length !== INPUTS.count) this.fail(`has ${node.inputs.length} inputs; a QuantLSTMCell has ${INPUTS.count}`);
    if (node.outputs.length !== 3) this.fail(`has ${node.outputs.length} outputs; a QuantLSTMCell has 3`);
    const cifg = this.flag('cifg');
    const inputWeight = this.floatMatrix(INPUTS.inputWeight);
    const [H, I] = inputWeight.dims as [number, number];
    const gate = (g: number): ReferenceGate => {
      const name = GATE_NAMES[g]!;
      const iw = this.floatMatrix(INPUTS.inputWeight + g, [H, I]);
      const rw = this.floatMatrix(INPUTS.recurrentWeight + g, [H, H]);
      const bias = this.isPresent(INPUTS.bias + g) ? this.bias(INPUTS.bias + g, H) : null;
      return {
        inputWeight: Float32Array.from(iw.data),
        recurrentWeight: Float32Array.from(rw.data),
        bias,
        acc: this.quantizer(GATE_QUANTIZERS[name].acc),
        activation: this.quantizer(GATE_QUANTIZERS[name].activation),
      };
    };
    const cell: ReferenceCell = {
      name: this.name,
      inputSize: I,
      hiddenSize: H,
      reverse: this.flag('reverse_input'),
      batchFirst: this.flag('batch_first'),
      cifg,
      input: gate(0),
      forget: cifg ? null : gate(1),
      cell: gate(2),
      output: gate(3),
      cellState: this.quantizer('cell_state'),
      hiddenStateTanh: this.quantizer('hidden_state_tanh'),
      outputQuant: this.quantizer('output'),
    };
    const sequence = node.input(INPUTS.sequence);
    if (!sequence) this.fail('is missing', INPUTS.sequence);
    const boundary: ReferenceBoundary = {
      input: sequence.name,
      initialHidden: this.state(INPUTS.initialHidden, H),
      initialCell: this.state(INPUTS.initialCell, H),
      outputs: node.outputs.map((v: Value) => v.name) as [string, string, string],
    };
    return { cell, boundary };
  }

  private attribute(name: string): Attribute | undefined {
    return this.node.attribute(name);
  }

  private flag(name: string, required = false): boolean {
    const a = this.attribute(name);
    if (!a) {
      if (required) this.fail(`has no attribute "${name}"`);
      return false;
    }
    if (a.value.kind !== 'int' || (a.value.value !== 0n && a.value.value !== 1n)) this.fail(`attribute "${name}" must be 0 or 1`);
    return a.value.value === 1n;
  }

  private floatMatrix(index: number, expected?: [number, number]): Constant {
    const c = this.constant(index);
    if (c.type !== DataType.FLOAT) this.fail('must be float32', index);
    if (c.dims.length !== 2 || (expected && (c.dims[0] !== expected[0] || c.dims[1] !== expected[1]))) {
      this.fail(`has shape [${c.dims.join(', ')}], expected ${expected ? `[${expected.join(', ')}]` : 'a matrix [hidden, input]'}`, index);
    }
    if (c.data.some((v) => !Number.isFinite(v))) this.fail('holds a value that is not finite', index);
    if (c.data.length === 0) this.fail('is empty', index);
    return c;
  }

  /**
   * A bias [H]; a scalar is broadcast, as PyTorch adds it (Brevitas exports bias=False as the
   * float 0 it adds, which is no bias at all).
   */
  private bias(index: number, H: number): Float32Array | null {
    const c = this.constant(index);
    if (c.type !== DataType.FLOAT) this.fail('must be float32', index);
    const scalar = c.data.length === 1 && c.dims.length <= 1;
    if (!scalar && (c.data.length !== H || c.dims.length !== 1)) this.fail(`has shape [${c.dims.join(', ')}], expected [${H}]`, index);
    if (c.data.some((v) => !Number.isFinite(v))) this.fail('holds a value that is not finite', index);
    if (scalar && c.data[0] === 0) return null;
    return scalar ? new Float32Array(H).fill(c.data[0]!) : Float32Array.from(c.data);
  }

  private scalar(index: number): number {
    const c = this.constant(index);
    if (c.data.length !== 1) this.fail(`has shape [${c.dims.join(', ')}], expected a scalar`, index);
    return c.data[0]!;
  }

  private quantizer(name: ReferenceQuantizerName): ReferenceQuantizer {
    const base = INPUTS.quantizers + 3 * QUANTIZER_ORDER.indexOf(name);
    const scale = this.scalar(base);
    if (!(scale > 0) || !Number.isFinite(scale) || scale < 2 ** -126 || f32(scale) !== scale) {
      this.fail(`scale ${scale} is not a positive normal float32`, base);
    }
    const zeroPoint = this.scalar(base + 1);
    const bits = this.scalar(base + 2);
    if (!Number.isInteger(bits) || bits < MIN_CELL_BITS || bits > MAX_CELL_BITS) {
      this.fail(`bit width is ${bits}; the reference handles ${MIN_CELL_BITS} to ${MAX_CELL_BITS} bits`, base + 2);
    }
    const signed = this.flag(`${name}_signed`, true);
    const narrowName = name === 'output_sigmoid' && !this.attribute('output_sigmoid_narrow') ? 'output_sigmoid_narrow_range' : `${name}_narrow`;
    const narrow = this.flag(narrowName, true);
    const { min, max } = integerRange(bits, signed, narrow);
    if (!Number.isInteger(zeroPoint) || zeroPoint < min || zeroPoint > max) {
      this.fail(`zero point ${zeroPoint} is not an integer in [${min}, ${max}]`, base + 1);
    }
    const roundingAttribute = this.attribute(`${name}_rounding_mode`);
    let rounding = 'ROUND';
    if (roundingAttribute) {
      if (roundingAttribute.value.kind !== 'string') this.fail(`attribute "${name}_rounding_mode" must be a string`);
      rounding = new TextDecoder().decode(roundingAttribute.value.value).toUpperCase();
    }
    if (!isRoundingMode(rounding)) this.fail(`rounding mode "${rounding}" of quantizer ${name} is not one the reference knows`);
    return { scale, zeroPoint, min, max, rounding };
  }

  /** A state input: null when it is a constant of zeros (the export's traced zeros), else its name. */
  private state(index: number, H: number): string | null {
    const value = this.node.input(index);
    if (!value) this.fail('is missing', index);
    let c: Constant;
    try {
      c = this.evaluator.evaluate(value);
    } catch (error) {
      if (error instanceof NotEvaluable) return value.name;
      throw error;
    }
    if (c.dims[c.dims.length - 1] !== H) this.fail(`has shape [${c.dims.join(', ')}], expected [batch, ${H}]`, index);
    if (c.data.some((v) => v !== 0)) this.fail('is a constant that is not all zeros; the reference takes constant states only as the traced zeros', index);
    return null;
  }
}
