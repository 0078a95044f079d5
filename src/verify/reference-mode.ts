import { InputError, UnsupportedModelError, UsageError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { exportModel } from '../onnx/export.js';
import { isCellNode, recognizeCells } from '../recognize/cell.js';
import type { CellDescription } from '../recognize/description.js';
import { referenceCellsOf } from '../reference/from-export.js';
import { runReferenceCell, type ReferenceResult } from '../reference/run.js';
import type { ReferenceCell } from '../reference/types.js';
import type { NdArray } from '../run/npy.js';
import { exposeValues } from './probe.js';
import { openSession, type OptimizationLevel } from '../run/session.js';
import { compareOutput, type OutputReport, type Tolerance } from './compare.js';
import { levelReport, type VerifyReport } from './report.js';

export interface ReferenceCheck {
  original: Model;
  /** the original's cells, when the caller has recognised them already */
  cells?: CellDescription[];
  converted: Model;
  inputs: Map<string, NdArray>;
  tolerance: Tolerance;
  levels: readonly OptimizationLevel[];
}

/**
 * Runs the converted model and checks each converted cell against the reference cell built
 * from the original export's parameters, fed with the very inputs the converted cell saw.
 */
export async function verifyAgainstReference(check: ReferenceCheck): Promise<VerifyReport> {
  const cells = check.cells ?? recognizeCells(check.original);
  if (cells.length === 0) throw new UnsupportedModelError('has no QuantLSTMCell node to check against', { file: check.original.source });
  if (check.converted.graph.nodes.some(isCellNode)) {
    throw new UsageError('still has QuantLSTMCell nodes; give the converted model second', { file: check.converted.source });
  }
  const missing = exposeValues(check.converted, cells.flatMap(boundaryNames));
  if (missing.length) {
    throw new InputError(`has no value named ${missing.slice(0, 3).map((n) => `"${n}"`).join(', ')} that the original's cells read or write: is it a conversion of ${check.original.source}?`, {
      file: check.converted.source,
    });
  }
  const bytes = exportModel(check.converted);
  const references = cells.map(() => new ReferenceCache());
  const referenceCells = new Map(referenceCellsOf(check.original).map((r) => [r.boundary.outputs[0], r.cell]));
  const levels = [];
  for (const level of check.levels) {
    const session = await openSession(bytes, { level, source: check.converted.source });
    try {
      const feeds = Object.fromEntries(session.inputNames.map((n) => [n, inputFor(check.inputs, n, check.converted.source)]));
      const got = await session.run(feeds);
      const outputs = cells.flatMap((cell, k) => compareCell(cell, referenceCells.get(cell.outputs[0].name)!, got, references[k]!, check.tolerance));
      levels.push(levelReport(level, outputs));
    } finally {
      await session.release();
    }
  }
  return {
    mode: 'reference',
    model: check.converted.source,
    original: check.original.source,
    tolerance: check.tolerance,
    levels,
    passed: levels.every((l) => l.passed),
  };
}

function inputFor(inputs: Map<string, NdArray>, name: string, file: string): NdArray {
  const array = inputs.get(name);
  if (!array) throw new InputError(`needs input "${name}", which the original does not have`, { file });
  return array;
}

function boundaryNames(cell: CellDescription): string[] {
  const states = [cell.initialHidden, cell.initialCell].filter((s) => s.kind === 'value').map((s) => s.value.name);
  return [cell.input.name, ...states, ...cell.outputs.map((v) => v.name)];
}

/** The reference result for the last inputs seen, reused while the inputs do not change. */
class ReferenceCache {
  private key: Float32Array[] = [];
  private result?: ReferenceResult;

  get(inputs: Float32Array[], compute: () => ReferenceResult): ReferenceResult {
    const same = this.result && inputs.length === this.key.length && inputs.every((a, i) => equalArrays(a, this.key[i]!));
    if (!same) {
      this.result = compute();
      this.key = inputs;
    }
    return this.result!;
  }
}

function equalArrays(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

function compareCell(cell: CellDescription, referenceCell: ReferenceCell, got: Record<string, NdArray>, cache: ReferenceCache, tolerance: Tolerance): OutputReport[] {
  const x = got[cell.input.name]!;
  if (x.shape.length !== 3) throw new InputError(`cell input "${cell.input.name}" has shape [${x.shape.join(', ')}], expected 3 axes`);
  const [steps, batch] = cell.batchFirst ? [x.shape[1]!, x.shape[0]!] : [x.shape[0]!, x.shape[1]!];
  const H = cell.hiddenSize;
  const state = (s: CellDescription['initialHidden']) => (s.kind === 'value' ? got[s.value.name]!.data : new Float32Array(batch * H));
  const h0 = state(cell.initialHidden);
  const c0 = state(cell.initialCell);
  const timeFirst = cell.batchFirst ? swapLeadingAxes(x.data, batch, steps, cell.inputSize) : x.data;
  const reference = cache.get([x.data, h0, c0], () => runReferenceCell(referenceCell, timeFirst, steps, batch, h0, c0));

  const name = cell.node.name ?? `cell ${cell.index}`;
  const outputScale = cell.quantizers.output.scale;
  const sequence = cell.batchFirst ? swapLeadingAxes(reference.hiddenStates, steps, batch, H) : reference.hiddenStates;
  const sequenceShape = cell.batchFirst ? [batch, steps, H] : [steps, batch, H];
  const [ys, hn, cn] = cell.outputs.map((v) => got[v.name]!);
  return [
    compareOutput(`${name}: hidden states`, ys!, { shape: sequenceShape, data: sequence }, { lsb: outputScale, axes: cell.batchFirst ? ['batch', 'time', 'unit'] : ['time', 'batch', 'unit'] }, tolerance),
    compareOutput(`${name}: last hidden state`, hn!, { shape: [batch, H], data: reference.lastHidden }, { lsb: outputScale, axes: ['batch', 'unit'] }, tolerance),
    compareOutput(`${name}: last cell state`, cn!, { shape: [batch, H], data: reference.lastCell }, { lsb: cell.quantizers.cell_state.scale, axes: ['batch', 'unit'] }, tolerance),
  ];
}

/** [A, B, F] -> [B, A, F] */
function swapLeadingAxes(data: Float32Array, a: number, b: number, features: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) out.set(data.subarray((i * b + j) * features, (i * b + j + 1) * features), (j * a + i) * features);
  }
  return out;
}
