import type { CellSummary } from './cell-summary.js';
import { InputError } from './errors.js';
import { GATES, QUANTIZER_NAMES } from './recognize/description.js';
import { ROUNDING_MODES } from './quant/rounding.js';
import { MAX_SCALE, MIN_SCALE } from './recognize/quantizer.js';
import type { CellParameters } from './scan/scan.js';

/** Model metadata key under which a converted model records its cells (docs/design.md, section 4). */
export const CELLS_METADATA_KEY = 'qlstm.cells';
const METADATA_VERSION = 2;

/** One converted cell as recorded in the model: its summary, its boundary values and its constants. */
export interface RecordedCell extends CellSummary {
  layout: 'fused' | 'plain';
  values: { input: string; initialHidden: string | null; initialCell: string | null; outputs: [string, string, string] };
  parameters: CellParameters;
}

export interface CellsMetadata {
  version: number;
  producer: string;
  cells: RecordedCell[];
}

/** The entry as written: a cell's output names appear once, under `values`. */
export function formatCellsMetadata(metadata: CellsMetadata): string {
  return JSON.stringify({ ...metadata, cells: metadata.cells.map(({ outputs: _outputs, ...rest }) => rest) });
}

/**
 * Reads and checks a `qlstm.cells` entry field by field. Nothing in it is trusted: a malformed
 * entry (wrong type, non-finite or out-of-range scale, unknown rounding mode, missing key) is an
 * InputError naming the key, so a model cannot steer a verdict through its own metadata.
 */
export function parseCellsMetadata(text: string, file: string): CellsMetadata {
  const fail = (key: string, problem: string): never => {
    throw new InputError(`metadata "${CELLS_METADATA_KEY}": ${key} ${problem}`, { file });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('', 'is not JSON');
  }
  const root = object(parsed, 'the entry', fail);
  if (root.version !== METADATA_VERSION) fail('version', `is ${JSON.stringify(root.version)}, expected ${METADATA_VERSION}`);
  const producer = string(root.producer, 'producer', fail);
  if (!Array.isArray(root.cells) || root.cells.length === 0) fail('cells', 'is not a non-empty list');
  const cells = (root.cells as unknown[]).map((c, k) => readCell(c, `cells[${k}]`, fail));
  return { version: METADATA_VERSION, producer, cells };
}

type Fail = (key: string, problem: string) => never;

function readCell(raw: unknown, key: string, fail: Fail): RecordedCell {
  const c = object(raw, key, fail);
  const positive = (v: unknown, k: string) => {
    const n = integer(v, `${key}.${k}`, fail);
    return n >= 1 && n <= 2 ** 20 ? n : fail(`${key}.${k}`, `is ${n}, expected 1 to 2^20`);
  };
  const inputSize = positive(c.inputSize, 'inputSize');
  const hiddenSize = positive(c.hiddenSize, 'hiddenSize');
  const cifg = boolean(c.cifg, `${key}.cifg`, fail);
  const quantizers = object(c.quantizers, `${key}.quantizers`, fail);
  const values = object(c.values, `${key}.values`, fail);
  const outputs = values.outputs;
  if (!Array.isArray(outputs) || outputs.length !== 3) fail(`${key}.values.outputs`, 'is not a list of 3 names');
  const parameters = object(c.parameters, `${key}.parameters`, fail);
  const gates = GATES.filter((g) => !(g === 'forget' && cifg));
  const outputNames = (outputs as unknown[]).map((o, i) => string(o, `${key}.values.outputs[${i}]`, fail)) as [string, string, string];
  return {
    name: string(c.name, `${key}.name`, fail),
    flavour: oneOf(c.flavour, ['qcdq', 'qcdq-int', 'qonnx'] as const, `${key}.flavour`, fail),
    inputSize,
    hiddenSize,
    direction: oneOf(c.direction, ['forward', 'reverse'] as const, `${key}.direction`, fail),
    batchFirst: boolean(c.batchFirst, `${key}.batchFirst`, fail),
    cifg,
    bias: boolean(c.bias, `${key}.bias`, fail),
    initialState: oneOf(c.initialState, ['zeros', 'input'] as const, `${key}.initialState`, fail),
    layout: oneOf(c.layout, ['fused', 'plain'] as const, `${key}.layout`, fail),
    weights: readWeights(c.weights, `${key}.weights`, fail),
    quantizers: Object.fromEntries(QUANTIZER_NAMES.map((n) => [n, readQuantizer(quantizers[n], `${key}.quantizers.${n}`, fail)])) as CellSummary['quantizers'],
    values: {
      input: string(values.input, `${key}.values.input`, fail),
      initialHidden: nullableString(values.initialHidden, `${key}.values.initialHidden`, fail),
      initialCell: nullableString(values.initialCell, `${key}.values.initialCell`, fail),
      outputs: outputNames,
    },
    outputs: outputNames,
    parameters: Object.fromEntries(
      gates.map((g) => {
        const p = object(parameters[g], `${key}.parameters.${g}`, fail);
        const at = `${key}.parameters.${g}`;
        return [g, { inputWeight: slice(p.inputWeight, `${at}.inputWeight`, fail), recurrentWeight: slice(p.recurrentWeight, `${at}.recurrentWeight`, fail), bias: p.bias === null ? null : slice(p.bias, `${at}.bias`, fail) }];
      }),
    ),
  };
}

function readWeights(raw: unknown, key: string, fail: Fail): CellSummary['weights'] {
  const w = object(raw, key, fail);
  const kind = oneOf(w.kind, ['integer', 'float'] as const, `${key}.kind`, fail);
  if (kind === 'float') return { kind };
  const bits = integer(w.bits, `${key}.bits`, fail);
  if (bits < 2 || bits > 32) fail(`${key}.bits`, `is ${bits}, expected 2 to 32`);
  return {
    kind,
    bits,
    signed: boolean(w.signed, `${key}.signed`, fail),
    narrow: boolean(w.narrow, `${key}.narrow`, fail),
    granularity: oneOf(w.granularity, ['per-tensor', 'per-channel'] as const, `${key}.granularity`, fail),
  };
}

function readQuantizer(raw: unknown, key: string, fail: Fail): CellSummary['quantizers']['output'] {
  const q = object(raw, key, fail);
  const scale = q.scale;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < MIN_SCALE || scale > MAX_SCALE) {
    fail(`${key}.scale`, `is ${JSON.stringify(scale)}, expected a number in [2^-60, 2^60]`);
  }
  const zeroPoint = integer(q.zeroPoint, `${key}.zeroPoint`, fail);
  if (Math.abs(zeroPoint) > 2 ** 24) fail(`${key}.zeroPoint`, `is ${zeroPoint}, expected magnitude at most 2^24`);
  const bits = integer(q.bits, `${key}.bits`, fail);
  if (bits < 2 || bits > 24) fail(`${key}.bits`, `is ${bits}, expected 2 to 24`);
  return {
    scale: scale as number,
    zeroPoint,
    bits,
    signed: boolean(q.signed, `${key}.signed`, fail),
    narrow: boolean(q.narrow, `${key}.narrow`, fail),
    rounding: oneOf(q.rounding, ROUNDING_MODES, `${key}.rounding`, fail),
  };
}

function slice(raw: unknown, key: string, fail: Fail) {
  const s = object(raw, key, fail);
  const offset = integer(s.offset, `${key}.offset`, fail);
  if (offset < 0) fail(`${key}.offset`, `is ${offset}, expected 0 or more`);
  return { tensor: string(s.tensor, `${key}.tensor`, fail), transposed: boolean(s.transposed, `${key}.transposed`, fail), offset };
}

function object(v: unknown, key: string, fail: Fail): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(key, 'is not an object');
}
function string(v: unknown, key: string, fail: Fail): string {
  return typeof v === 'string' && v.length > 0 && v.length <= 4096 ? v : fail(key, 'is not a name');
}
function nullableString(v: unknown, key: string, fail: Fail): string | null {
  return v === null ? null : string(v, key, fail);
}
function boolean(v: unknown, key: string, fail: Fail): boolean {
  return typeof v === 'boolean' ? v : fail(key, 'is not true or false');
}
function integer(v: unknown, key: string, fail: Fail): number {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : fail(key, `is ${JSON.stringify(v)}, expected an integer`);
}
function oneOf<T extends string>(v: unknown, options: readonly T[], key: string, fail: Fail): T {
  return typeof v === 'string' && (options as readonly string[]).includes(v) ? (v as T) : fail(key, `is ${JSON.stringify(v)}, expected one of ${options.join(', ')}`);
}
