/**
 * Runs the parts of a Brevitas export that are not cells with onnxruntime, so the reference can
 * be fed what each cell reads. Test code only: the probe model is the export with its cells
 * removed (their outputs become graph inputs), qonnx `Quant` nodes rewritten as the standard
 * operators of qonnx's formula (x / s + zp, clip to the integer range, round, - zp, * s, each
 * a float32 onnxruntime kernel), and the requested values as outputs, each cast to float.
 */
import { attr } from '../../src/ir/attribute.js';
import { DataType } from '../../src/ir/data-type.js';
import { Node, Value } from '../../src/ir/graph.js';
import type { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { tensorType } from '../../src/ir/type-info.js';
import { exportModel } from '../../src/onnx/export.js';
import { readModel } from '../../src/onnx/files.js';
import { referenceCellsOf } from '../../src/reference/from-export.js';
import { runReferenceCell, type ReferenceResult } from '../../src/reference/run.js';
import type { ReferenceBoundary, ReferenceCell } from '../../src/reference/types.js';
import type { NdArray } from '../../src/run/npy.js';
import { openSession, type OptimizationLevel } from '../../src/run/session.js';
import type { CorpusCase, Flavour } from './corpus.js';

const CELL_DOMAINS = new Set(['onnx.brevitas', 'qonnx.custom_op.general']);
const isCell = (n: Node) => n.opType === 'QuantLSTMCell' && CELL_DOMAINS.has(n.domain);
const isQuant = (n: Node) => n.opType === 'Quant' && CELL_DOMAINS.has(n.domain);

function valuesByName(model: Model): Map<string, Value> {
  const map = new Map<string, Value>();
  const g = model.graph;
  for (const v of [...g.inputs, ...g.initializers]) map.set(v.name, v);
  for (const n of g.nodes) for (const v of [...n.inputs, ...n.outputs]) if (v) map.set(v.name, v);
  return map;
}

function constantNumber(value: Value | null, what: string): number {
  const t = value?.constant;
  if (!t || t.size !== 1) throw new Error(`${what} is not a constant scalar`);
  return t.numbers()[0]!;
}

/** qonnx Quant -> Div, Add, Clip, Round|Floor|Ceil, Sub, Mul (qonnx clips before it rounds). */
function lowerQuantNodes(model: Model): void {
  const g = model.graph;
  let count = 0;
  const constant = (v: number) => g.addInitializer(`probe_const_${count++}`, Tensor.float32([], [v]));
  for (const node of g.nodes.filter(isQuant)) {
    const [x, s, zp, bw] = node.inputs;
    const bits = constantNumber(bw ?? null, 'Quant bit width');
    const flag = (name: string) => {
      const a = node.attribute(name);
      return a?.value.kind === 'int' ? Number(a.value.value) : 0;
    };
    const signed = flag('signed') === 1;
    const narrow = flag('narrow') === 1;
    // qonnx's min_int / max_int
    const min = signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0;
    const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 - (narrow ? 1 : 0);
    const roundingAttribute = node.attribute('rounding_mode');
    const rounding = roundingAttribute?.value.kind === 'string' ? new TextDecoder().decode(roundingAttribute.value.value) : 'ROUND';
    const roundOp = { ROUND: 'Round', FLOOR: 'Floor', CEIL: 'Ceil' }[rounding];
    if (!roundOp) throw new Error(`probe: rounding ${rounding} not lowered`);
    const step = (opType: string, inputs: (Value | null)[]) => {
      const out = new Value(`probe_${count++}`);
      g.nodes.push(new Node({ opType, name: out.name, inputs, outputs: [out] }));
      return out;
    };
    const scaled = step('Add', [step('Div', [x!, s!]), zp!]);
    const rounded = step(roundOp, [step('Clip', [scaled, constant(min), constant(max)])]);
    const original = node.outputs[0]!;
    const result = new Value(original.name);
    g.nodes.push(new Node({ opType: 'Mul', name: `probe_${count++}`, inputs: [step('Sub', [rounded, zp!]), s!], outputs: [result] }));
    original.replaceUsesWith(result);
    g.outputs = g.outputs.map((v) => (v === original ? result : v));
    g.removeNode(node);
  }
}

/**
 * The export as onnxruntime can run it, computing `wanted` (each cast to float, output names
 * `probe:NAME`). Cell outputs are graph inputs; only what the wanted values need is kept.
 */
export function probeModel(file: string, wanted: string[]): { bytes: Uint8Array; inputs: string[] } {
  const model = readModel(file);
  const g = model.graph;
  lowerQuantNodes(model);
  const byName = valuesByName(model);
  const cellOutputs = new Set<Value>();
  for (const node of g.nodes.filter(isCell)) {
    for (const v of node.outputs) {
      cellOutputs.add(v);
      v.producer = null;
      v.info = { type: tensorType(DataType.FLOAT) };
    }
    node.inputs.forEach((_, i) => node.setInput(i, null));
    g.nodes.splice(g.nodes.indexOf(node), 1);
  }
  g.outputs = wanted.map((name) => {
    const value = byName.get(name);
    if (!value) throw new Error(`probe: no value "${name}"`);
    const out = new Value(`probe:${name}`);
    out.info = { type: tensorType(DataType.FLOAT) };
    g.nodes.push(new Node({ opType: 'Cast', name: out.name, inputs: [value], outputs: [out], attributes: [attr.int('to', DataType.FLOAT)] }));
    return out;
  });
  // keep only what the outputs need
  const needed = new Set<Node>();
  const reads = new Set<Value>();
  const visit = (v: Value | null) => {
    if (!v || reads.has(v)) return;
    reads.add(v);
    if (v.producer && !needed.has(v.producer)) {
      needed.add(v.producer);
      v.producer.inputs.forEach(visit);
    }
  };
  g.outputs.forEach(visit);
  g.nodes = g.nodes.filter((n) => needed.has(n));
  g.inputs = [...g.inputs.filter((v) => !v.constant && reads.has(v)), ...[...cellOutputs].filter((v) => reads.has(v))];
  g.valueInfo = [];
  // the exports were traced with fixed sizes; the probe takes any
  for (const v of g.inputs) v.info = { type: tensorType(DataType.FLOAT) };
  model.opsetImports = model.opsetImports.filter((o) => !CELL_DOMAINS.has(o.domain ?? ''));
  return { bytes: exportModel(model), inputs: g.inputs.map((v) => v.name) };
}

/** Runs a probe once per level (twice each) and checks the runs agree; returns the values by name. */
export async function runProbe(file: string, wanted: string[], feeds: Map<string, NdArray>, levels: readonly OptimizationLevel[] = ['disabled']): Promise<Map<string, NdArray>> {
  const { bytes, inputs } = probeModel(file, wanted);
  let result: Map<string, NdArray> | undefined;
  for (const level of levels) {
    const session = await openSession(bytes, { level });
    try {
      for (let run = 0; run < 2; run++) {
        const got = await session.run(Object.fromEntries(inputs.map((n) => [n, feeds.get(n)!])));
        const values = new Map(wanted.map((n) => [n, got[`probe:${n}`]!]));
        if (!result) result = values;
        else for (const [n, v] of values) if (!sameArray(v, result.get(n)!)) throw new Error(`probe: "${n}" differs between runs or levels (${level})`);
      }
    } finally {
      await session.release();
    }
  }
  return result!;
}

/** Equal element by element (NaN equal to NaN; -0 equal to 0, as every consumer here treats them). */
function sameArray(a: NdArray, b: NdArray): boolean {
  return a.shape.join() === b.shape.join() && a.data.every((v, i) => Object.is(v + 0, b.data[i]! + 0));
}

/** [A, B, F] -> [B, A, F] */
export function swapLeading(data: Float32Array, a: number, b: number, f: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(data.subarray((i * b + j) * f, (i * b + j + 1) * f), (j * a + i) * f);
  return out;
}

export interface CellRun {
  cell: ReferenceCell;
  boundary: ReferenceBoundary;
  steps: number;
  batch: number;
  /** [T, B, I] time-first */
  x: Float32Array;
  h0: Float32Array;
  c0: Float32Array;
  /** the free-running reference from these inputs */
  free: ReferenceResult;
}

/**
 * Every cell of a corpus file, each fed what the export computes for it: onnxruntime for the
 * nodes between cells, the free-running reference for the cells before it.
 */
export async function runCells(file: string, graphInputs: Map<string, NdArray>): Promise<{ model: Model; runs: CellRun[] }> {
  const model = readModel(file);
  const known = new Map(graphInputs);
  const runs: CellRun[] = [];
  for (const { cell, boundary } of referenceCellsOf(model)) {
    const wanted = [boundary.input, boundary.initialHidden, boundary.initialCell].filter((n): n is string => n !== null);
    const got = await runProbe(file, wanted, known);
    const x = got.get(boundary.input)!;
    const [steps, batch] = cell.batchFirst ? [x.shape[1]!, x.shape[0]!] : [x.shape[0]!, x.shape[1]!];
    const timeFirst = cell.batchFirst ? swapLeading(x.data, batch, steps, cell.inputSize) : x.data;
    const state = (name: string | null) => (name ? Float32Array.from(got.get(name)!.data) : new Float32Array(batch * cell.hiddenSize));
    const h0 = state(boundary.initialHidden);
    const c0 = state(boundary.initialCell);
    const free = runReferenceCell(cell, timeFirst, steps, batch, h0, c0);
    const H = cell.hiddenSize;
    known.set(boundary.outputs[0], { shape: cell.batchFirst ? [batch, steps, H] : [steps, batch, H], data: cell.batchFirst ? swapLeading(free.hiddenStates, steps, batch, H) : free.hiddenStates });
    known.set(boundary.outputs[1], { shape: [batch, H], data: free.lastHidden });
    known.set(boundary.outputs[2], { shape: [batch, H], data: free.lastCell });
    runs.push({ cell, boundary, steps, batch, x: timeFirst, h0, c0, free });
  }
  return { model, runs };
}

/**
 * Which cell output each slice of a graph output is: the output itself, or a Concat of cell
 * outputs (directly or through Unsqueeze) along the last axis (hidden sequences of both
 * directions) or the first (h_n, c_n of all layers).
 */
export function slicesOf(model: Model, outputName: string): string[] | null {
  const value = model.graph.outputs.find((v) => v.name === outputName);
  const producer = value?.producer;
  if (!producer) return null;
  if (isCell(producer)) return [value.name];
  const through = (v: Value | null) => (v?.producer?.opType === 'Unsqueeze' ? v.producer.input(0) : v);
  if (producer.opType === 'Unsqueeze') {
    const inner = through(value);
    return inner?.producer && isCell(inner.producer) ? [inner.name] : null;
  }
  if (producer.opType === 'Concat') {
    const parts = producer.inputs.map(through);
    if (parts.every((p) => p?.producer && isCell(p.producer))) return parts.map((p) => p!.name);
  }
  return null;
}

export function flavourOutputNames(c: CorpusCase, flavour: Flavour): string[] {
  return c.meta.names_by_flavour[flavour]?.output_names ?? c.meta.output_names;
}

export function flavourInputNames(c: CorpusCase, flavour: Flavour): string[] {
  return c.meta.names_by_flavour[flavour]?.input_names ?? c.meta.input_names;
}
