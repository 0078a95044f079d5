import { InputError } from '../errors.js';
import { DataType, dataTypeName } from '../ir/data-type.js';
import type { Graph, Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { ReferenceBoundary, ReferenceCell, ReferenceGate, ReferenceQuantizer, ReferenceQuantizerName } from '../reference/types.js';
import { QUANTIZER_ORDER } from '../reference/from-export.js';
import { integerRange, ROUNDING_MODES } from '../reference/quantizer.js';

export const CELLS_KEY = 'qlstm.cells';

const GATES = ['input', 'forget', 'cell', 'output'] as const;
type GateName = (typeof GATES)[number];
const GATE_QUANTIZERS: Record<GateName, [ReferenceQuantizerName, ReferenceQuantizerName]> = {
  input: ['input_acc', 'input_sigmoid'],
  forget: ['forget_acc', 'forget_sigmoid'],
  cell: ['cell_acc', 'cell_tanh'],
  output: ['output_acc', 'output_sigmoid'],
};
const MIN_SCALE = 2 ** -60;
const MAX_SCALE = 2 ** 60;
const MAX_SIZE = 2 ** 20;

/** A cell of the converted model, as its metadata describes it, every field checked. */
export interface DescribedCell {
  cell: ReferenceCell;
  boundary: ReferenceBoundary;
  /** one LSB of the output quantizer (hidden states) and of the cell state quantizer */
  outputLsb: number;
  cellStateLsb: number;
}

export type CellsMetadata =
  | { kind: 'absent' }
  /** qlstm 0.1 wrote a bare array without the parameters */
  | { kind: 'version 1' }
  | { kind: 'version 2'; cells: DescribedCell[] };

/**
 * Reads and validates the `qlstm.cells` metadata (version 2, docs/design.md section 4): every
 * field's type and range, and every referenced initializer's presence, type, shape and
 * finiteness. A malformed entry is an InputError (exit 2) naming the key: nothing in it is
 * trusted before it passed these checks.
 */
export function readCellsMetadata(model: Model): CellsMetadata {
  const text = model.metadata(CELLS_KEY);
  if (text === undefined) return { kind: 'absent' };
  const fail = (key: string, problem: string): never => {
    throw new InputError(`metadata "${CELLS_KEY}": ${key} ${problem}`, { file: model.source });
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail('is', `not valid JSON (${(error as Error).message})`);
  }
  if (Array.isArray(json)) return { kind: 'version 1' };
  const root = object(json, 'the value', fail);
  if (root.version !== 2) fail('version', `is ${show(root.version)}; this qlstm reads version 2`);
  string(root.producer, 'producer', fail);
  if (!Array.isArray(root.cells) || root.cells.length === 0) fail('cells', 'must be a non-empty array');
  const initializers = initializersByName(model.graph, fail);
  const cells = (root.cells as unknown[]).map((c, i) => describedCell(c, `cells[${i}]`, initializers, fail));
  return { kind: 'version 2', cells };
}

type Fail = (key: string, problem: string) => never;
type Json = Record<string, unknown>;

function describedCell(raw: unknown, key: string, initializers: Map<string, Value>, fail: Fail): DescribedCell {
  const c = object(raw, key, fail);
  const name = string(c.name, `${key}.name`, fail);
  oneOf(c.flavour, ['qcdq', 'qcdq-int', 'qonnx'], `${key}.flavour`, fail);
  const I = size(c.inputSize, `${key}.inputSize`, fail);
  const H = size(c.hiddenSize, `${key}.hiddenSize`, fail);
  const reverse = oneOf(c.direction, ['forward', 'reverse'], `${key}.direction`, fail) === 'reverse';
  const batchFirst = boolean(c.batchFirst, `${key}.batchFirst`, fail);
  const cifg = boolean(c.cifg, `${key}.cifg`, fail);
  const bias = boolean(c.bias, `${key}.bias`, fail);
  const initialState = oneOf(c.initialState, ['zeros', 'input'], `${key}.initialState`, fail);
  oneOf(c.layout, ['fused', 'plain'], `${key}.layout`, fail);
  weightSummary(c.weights, `${key}.weights`, fail);

  const q = object(c.quantizers, `${key}.quantizers`, fail);
  for (const k of Object.keys(q)) if (!QUANTIZER_ORDER.includes(k as ReferenceQuantizerName)) fail(`${key}.quantizers.${k}`, 'is not a quantizer of the cell');
  const quantizers = Object.fromEntries(QUANTIZER_ORDER.map((n) => [n, quantizer(q[n], `${key}.quantizers.${n}`, fail)])) as Record<ReferenceQuantizerName, ReferenceQuantizer>;

  const v = object(c.values, `${key}.values`, fail);
  const boundary: ReferenceBoundary = {
    input: string(v.input, `${key}.values.input`, fail),
    initialHidden: nullableString(v.initialHidden, `${key}.values.initialHidden`, fail),
    initialCell: nullableString(v.initialCell, `${key}.values.initialCell`, fail),
    outputs: outputNames(v.outputs, `${key}.values.outputs`, fail),
  };
  const zeros = boundary.initialHidden === null && boundary.initialCell === null;
  if ((initialState === 'zeros') !== zeros) fail(`${key}.values`, `names initial states ${zeros ? 'null' : 'that are values'}, but initialState is "${initialState}"`);

  const p = object(c.parameters, `${key}.parameters`, fail);
  const expectedGates = GATES.filter((g) => !(cifg && g === 'forget'));
  for (const k of Object.keys(p)) if (!expectedGates.includes(k as GateName)) fail(`${key}.parameters.${k}`, cifg && k === 'forget' ? 'must be absent: the cell is CIFG' : 'is not a gate');
  const gate = (g: GateName): ReferenceGate => {
    const gk = `${key}.parameters.${g}`;
    const o = object(p[g], gk, fail);
    const b = o.bias;
    if (bias !== (b !== null)) fail(`${gk}.bias`, bias ? 'is null but the cell has a bias' : 'must be null: the cell has no bias');
    return {
      inputWeight: weightSlice(o.inputWeight, `${gk}.inputWeight`, H, I, initializers, fail),
      recurrentWeight: weightSlice(o.recurrentWeight, `${gk}.recurrentWeight`, H, H, initializers, fail),
      bias: b === null ? null : biasSlice(b, `${gk}.bias`, H, initializers, fail),
      acc: quantizers[GATE_QUANTIZERS[g][0]],
      activation: quantizers[GATE_QUANTIZERS[g][1]],
    };
  };
  const cell: ReferenceCell = {
    name,
    inputSize: I,
    hiddenSize: H,
    reverse,
    batchFirst,
    cifg,
    input: gate('input'),
    forget: cifg ? null : gate('forget'),
    cell: gate('cell'),
    output: gate('output'),
    cellState: quantizers.cell_state,
    hiddenStateTanh: quantizers.hidden_state_tanh,
    outputQuant: quantizers.output,
  };
  return { cell, boundary, outputLsb: quantizers.output.scale, cellStateLsb: quantizers.cell_state.scale };
}

function quantizer(raw: unknown, key: string, fail: Fail): ReferenceQuantizer {
  const o = object(raw, key, fail);
  const scale = o.scale;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < MIN_SCALE || scale > MAX_SCALE) {
    fail(`${key}.scale`, `is ${show(scale)}; expected a finite scale from 2^-60 to 2^60`);
  }
  if (Math.fround(scale as number) !== scale) fail(`${key}.scale`, `is ${show(scale)}, which is not a float32 value`);
  const bits = o.bits;
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 2 || bits > 24) fail(`${key}.bits`, `is ${show(bits)}; expected a whole number from 2 to 24`);
  const signed = boolean(o.signed, `${key}.signed`, fail);
  const narrow = boolean(o.narrow, `${key}.narrow`, fail);
  const { min, max } = integerRange(bits as number, signed, narrow);
  const zeroPoint = o.zeroPoint;
  if (typeof zeroPoint !== 'number' || !Number.isInteger(zeroPoint) || zeroPoint < min || zeroPoint > max) {
    fail(`${key}.zeroPoint`, `is ${show(zeroPoint)}; expected a whole number from ${min} to ${max}`);
  }
  const rounding = oneOf(o.rounding, ROUNDING_MODES, `${key}.rounding`, fail);
  return { scale: scale as number, zeroPoint: zeroPoint as number, min, max, rounding };
}

function weightSummary(raw: unknown, key: string, fail: Fail): void {
  const o = object(raw, key, fail);
  const kind = oneOf(o.kind, ['integer', 'float'], `${key}.kind`, fail);
  if (kind === 'float') return;
  const bits = o.bits;
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > 32) fail(`${key}.bits`, `is ${show(bits)}; expected a whole number from 1 to 32`);
  boolean(o.signed, `${key}.signed`, fail);
  boolean(o.narrow, `${key}.narrow`, fail);
  oneOf(o.granularity, ['per-tensor', 'per-channel'], `${key}.granularity`, fail);
}

/** Rows offset..offset+H of a [rows, cols] initializer, or its columns when transposed. */
function weightSlice(raw: unknown, key: string, H: number, cols: number, initializers: Map<string, Value>, fail: Fail): Float32Array {
  const { values, dims, transposed, offset } = slice(raw, key, initializers, fail);
  if (dims.length !== 2) fail(key, `names a tensor of shape [${dims.join(', ')}]; a weight is a 2-D tensor`);
  const [a, b] = dims as [number, number];
  const [rows, width] = transposed ? [b, a] : [a, b];
  if (width !== cols || offset + H > rows) {
    fail(key, `names a tensor of shape [${dims.join(', ')}]; ${H} ${transposed ? 'columns' : 'rows'} of ${cols} from ${offset} need ${transposed ? `[${cols}, >= ${offset + H}]` : `[>= ${offset + H}, ${cols}]`}`);
  }
  const out = new Float32Array(H * cols);
  for (let j = 0; j < H; j++) {
    for (let k = 0; k < cols; k++) out[j * cols + k] = transposed ? values[k * b + offset + j]! : values[(offset + j) * b + k]!;
  }
  return finite(out, key, fail);
}

function biasSlice(raw: unknown, key: string, H: number, initializers: Map<string, Value>, fail: Fail): Float32Array {
  const { values, dims, transposed, offset } = slice(raw, key, initializers, fail);
  if (transposed) fail(`${key}.transposed`, 'must be false for a bias');
  if (dims.length !== 1 || offset + H > dims[0]!) fail(key, `names a tensor of shape [${dims.join(', ')}]; ${H} elements from ${offset} need a 1-D tensor of at least ${offset + H}`);
  return finite(values.slice(offset, offset + H), key, fail);
}

function slice(raw: unknown, key: string, initializers: Map<string, Value>, fail: Fail) {
  const o = object(raw, key, fail);
  const name = string(o.tensor, `${key}.tensor`, fail);
  const transposed = boolean(o.transposed, `${key}.transposed`, fail);
  const offset = o.offset;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) fail(`${key}.offset`, `is ${show(offset)}; expected a whole number of 0 or more`);
  const value = initializers.get(name) ?? fail(`${key}.tensor`, `names "${name}", which is no initializer of the model`);
  const tensor = value.constant!;
  if (tensor.dataType !== DataType.FLOAT) fail(`${key}.tensor`, `names "${name}" of type ${dataTypeName(tensor.dataType)}; expected float`);
  let values: Float32Array;
  try {
    values = tensor.float32();
  } catch (error) {
    return fail(`${key}.tensor`, `names "${name}", which cannot be read: ${(error as Error).message}`);
  }
  return { values, dims: [...tensor.dims], transposed, offset: offset as number };
}

function finite(values: Float32Array, key: string, fail: Fail): Float32Array {
  const at = values.findIndex((x) => !Number.isFinite(x));
  if (at >= 0) fail(key, `holds ${values[at]} at element ${at} of the slice; weights and biases must be finite`);
  return values;
}

/** Initializers of the main graph and of every subgraph, by name; a name used twice is refused. */
function initializersByName(graph: Graph, fail: Fail, into = new Map<string, Value>()): Map<string, Value> {
  for (const value of graph.initializers) {
    const seen = into.get(value.name);
    if (seen && seen !== value) fail('', `cannot name initializers unambiguously: "${value.name}" is the name of two initializers`);
    into.set(value.name, value);
  }
  for (const node of graph.nodes) for (const sub of node.subgraphs()) initializersByName(sub, fail, into);
  return into;
}

function outputNames(raw: unknown, key: string, fail: Fail): [string, string, string] {
  if (!Array.isArray(raw) || raw.length !== 3) return fail(key, 'must list 3 value names (all hidden states, last hidden state, last cell state)');
  const names = raw.map((n, i) => string(n, `${key}[${i}]`, fail));
  if (new Set(names).size !== 3) fail(key, 'must name 3 different values');
  return names as [string, string, string];
}

function object(raw: unknown, key: string, fail: Fail): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(key, raw === undefined ? 'is missing' : `is ${show(raw)}; expected an object`);
  return raw as Json;
}

function string(raw: unknown, key: string, fail: Fail): string {
  if (typeof raw !== 'string' || raw === '') return fail(key, raw === undefined ? 'is missing' : `is ${show(raw)}; expected a non-empty string`);
  return raw;
}

function nullableString(raw: unknown, key: string, fail: Fail): string | null {
  return raw === null ? null : string(raw, key, fail);
}

function boolean(raw: unknown, key: string, fail: Fail): boolean {
  if (typeof raw !== 'boolean') return fail(key, raw === undefined ? 'is missing' : `is ${show(raw)}; expected true or false`);
  return raw;
}

function size(raw: unknown, key: string, fail: Fail): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > MAX_SIZE) return fail(key, `is ${show(raw)}; expected a whole number from 1 to ${MAX_SIZE}`);
  return raw;
}

function oneOf<T extends string>(raw: unknown, options: readonly T[], key: string, fail: Fail): T {
  if (!options.includes(raw as T)) return fail(key, `is ${show(raw)}; expected one of ${options.join(', ')}`);
  return raw as T;
}

function show(raw: unknown): string {
  if (raw === undefined) return 'missing';
  if (typeof raw === 'number') return String(raw);
  const text = JSON.stringify(raw);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
