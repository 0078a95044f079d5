import type { Model } from '../ir/model.js';
import { exportModel } from '../onnx/export.js';
import type { NdArray } from '../run/npy.js';
import { cutAt } from './cut.js';
import { openSession } from '../run/session.js';
import { cloneModel } from './model-io.js';
import { repeatRuns } from './runs.js';

/** Which cell output element each element of a graph output is a copy of. */
export interface ElementMap {
  /** index of the cell, or -1 where the element is computed from cell outputs (or from nothing of them) */
  cell: Int32Array;
  /** 0: all hidden states, 1: last hidden state, 2: last cell state */
  which: Uint8Array;
  /** flat index into that cell output, in the layout the model gives it */
  position: Int32Array;
}

/** Codes up to 2^23 stay exact in float32, also after negation. */
const CODES_PER_PASS = 2 ** 23;

/**
 * Finds, for each of `outputs`, which of the cells' output elements each element copies, by
 * running the graph after the cells on index-coded cell outputs: element k of the cell
 * outputs is fed as k + 1 in one run and as -(k + 1) in another, so a graph output element
 * that reads back as a code and its negation is that element, moved but not computed on.
 * Anything computed (a classifier head, say) reads back as something else and stays -1.
 * `cellOutputs[c]` are the names of cell c's outputs and `values` their arrays from a run
 * of the model. Returns the reason when the graph cannot be cut at the cells.
 */
export async function mapOutputsToCells(
  model: Model,
  cellOutputs: readonly (readonly [string, string, string])[],
  values: Record<string, NdArray>,
  feeds: Record<string, NdArray>,
  outputs: readonly string[],
): Promise<Map<string, ElementMap> | string> {
  const tail = cloneModel(model);
  const cut = cellOutputs.flat();
  const problem = cutAt(tail, cut);
  if (problem) return problem;
  tail.graph.outputs = tail.graph.outputs.filter((v) => outputs.includes(v.name));
  const bytes = exportModel(tail);
  const tailInputs = new Set(tail.graph.inputs.map((v) => v.name));

  const segments = cut.map((name, i) => ({ name, cell: Math.floor(i / 3), which: i % 3, size: values[name]!.data.length, start: 0 }));
  let total = 0;
  for (const s of segments) {
    s.start = total;
    total += s.size;
  }
  const maps = new Map<string, ElementMap>();
  const found = new Map<string, Float64Array>(); // code found per output element (0: none yet, -1: computed)
  for (const name of outputs) found.set(name, new Float64Array(0));
  const source = `${model.source} (graph after the cells)`;
  const session = await openSession(bytes, { level: 'disabled', source });
  try {
    for (let from = 0; from < total; from += CODES_PER_PASS) {
      const to = Math.min(total, from + CODES_PER_PASS);
      const runs: Record<string, NdArray>[] = [];
      for (const sign of [1, -1]) {
        const coded: Record<string, NdArray> = {};
        for (const s of segments) {
          const data = new Float32Array(s.size);
          for (let i = Math.max(from, s.start); i < Math.min(to, s.start + s.size); i++) data[i - s.start] = sign * (i - from + 1);
          coded[s.name] = { shape: values[s.name]!.shape, data };
        }
        const tailFeeds = Object.fromEntries(Object.entries({ ...feeds, ...coded }).filter(([n]) => tailInputs.has(n)));
        const run = await repeatRuns(session, tailFeeds, source);
        if (run.disagreements.length) return 'onnxruntime gave different results on two runs of the graph after the cells';
        runs.push(run.outputs);
      }
      for (const name of outputs) {
        const [plus, minus] = [runs[0]![name]!, runs[1]![name]!];
        let codes = found.get(name)!;
        if (codes.length === 0) found.set(name, (codes = new Float64Array(plus.data.length)));
        for (let e = 0; e < codes.length; e++) {
          const a = plus.data[e]!;
          const b = minus.data[e]!;
          if (a === 0 && b === 0) continue; // not a code of this pass (or a computed zero)
          const isCode = Number.isInteger(a) && a >= 1 && a <= to - from && b === -a;
          codes[e] = isCode && codes[e] === 0 ? from + a : -1;
        }
      }
    }
  } finally {
    await session.release();
  }
  for (const name of outputs) {
    const codes = found.get(name)!;
    const map: ElementMap = { cell: new Int32Array(codes.length).fill(-1), which: new Uint8Array(codes.length), position: new Int32Array(codes.length) };
    for (let e = 0; e < codes.length; e++) {
      const code = codes[e]!;
      if (code <= 0) continue;
      const k = code - 1;
      const s = segments.find((x) => k >= x.start && k < x.start + x.size)!;
      map.cell[e] = s.cell;
      map.which[e] = s.which;
      map.position[e] = k - s.start;
    }
    maps.set(name, map);
  }
  return maps;
}
