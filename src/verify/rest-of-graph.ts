import { realInputs } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { NameAuthority } from '../ir/names.js';
import { exportModel } from '../onnx/export.js';
import type { ReferenceBoundary } from '../reference/types.js';
import type { NdArray } from '../run/npy.js';
import { cutAt } from './cut.js';
import { absError, elementReport, sameValue } from './elements.js';
import { cellInputNames, cloneModel } from './model-io.js';
import { isQuant, lowerQuantNodes } from './quant-lowering.js';
import type { OutputReport, Tolerance } from './report.js';

/** ORIGINAL with its cells cut out and its Quant nodes lowered, ready to run; or why not. */
export function restOfGraph(original: Model, boundaries: readonly ReferenceBoundary[]): { bytes: Uint8Array; inputs: string[]; cellInputs: string[] } | string {
  const model = cloneModel(original);
  const cellInputs = [...new Set(boundaries.flatMap(cellInputNames))];
  const cut = boundaries.flatMap((b) => b.outputs);
  const problem = cutAt(model, cut, cellInputs);
  if (problem) return problem;
  const lowered = lowerQuantNodes(model, new NameAuthority(model));
  if (lowered) return lowered;
  const foreign = model.graph.nodes.find((n) => n.domain !== '' && n.domain !== 'ai.onnx' && !isQuant(n));
  if (foreign) return `node ${foreign.label()} (${foreign.domain}::${foreign.opType}) is no standard ONNX operator`;
  const used = new Set(model.graph.nodes.map((n) => n.domain));
  model.opsetImports = model.opsetImports.filter((o) => ['', 'ai.onnx'].includes(o.domain ?? '') || used.has(o.domain ?? ''));
  return { bytes: exportModel(model), inputs: realInputs(model.graph).map((v) => v.name), cellInputs };
}


/** A whole array against another: equal elements, or within the absolute tolerance. */
export function compareWhole(name: string, kind: OutputReport['kind'], got: NdArray, expected: NdArray, tolerance: Tolerance, strict: boolean): OutputReport {
  const sameShape = got.shape.length === expected.shape.length && got.shape.every((d, i) => d === expected.shape[i]);
  const elements = expected.data.length;
  let exact = 0;
  let within = 0;
  let maxAbs = 0;
  let first: OutputReport['firstMismatch'] = null;
  let firstFailing: OutputReport['firstMismatch'] = null;
  let failing = 0;
  for (let e = 0; sameShape && e < elements; e++) {
    const g = got.data[e]!;
    const x = expected.data[e]!;
    if (sameValue(g, x)) {
      exact++;
      continue;
    }
    const abs = absError(g, x);
    maxAbs = Math.max(maxAbs, abs);
    first ??= elementReport(e, expected.shape, null, g, x, null);
    if (!strict && abs <= tolerance.abs) within++;
    else {
      failing++;
      firstFailing ??= elementReport(e, expected.shape, null, g, x, null);
    }
  }
  if (!sameShape) failing = Math.max(1, elements);
  return {
    name,
    kind,
    shape: got.shape,
    expectedShape: expected.shape,
    elements,
    exact,
    percentExact: elements ? (100 * exact) / elements : 100,
    lsb: null,
    tolerance,
    analysis: kind === 'cell input' ? 'bit equality with the original\'s value' : 'against the original with its cells cut out, fed the converted cells\' outputs',
    differing: sameShape ? elements - exact : elements,
    withinTolerance: within,
    ties: { count: 0, samples: [] },
    unexplained: { count: failing, first: firstFailing ?? (sameShape ? null : elementReport(null, expected.shape, null, NaN, null, null, { reason: `shape [${got.shape.join(', ')}] differs from the original's [${expected.shape.join(', ')}]` })) },
    maxErrorLsb: null,
    maxErrorAbs: maxAbs,
    firstMismatch: first,
    maxErrorPerStep: null,
    passed: failing === 0,
  };
}

