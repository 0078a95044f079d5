import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNpy, type NdArray } from '../../src/run/npy.js';
import { openSession, type OptimizationLevel } from '../../src/run/session.js';

/** The repository root, from dist/test/helpers. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CORPUS = path.join(ROOT, 'fixtures', 'brevitas-corpus');

export type Flavour = 'qcdq' | 'qcdq-int' | 'qonnx';
export const ALL_FLAVOURS: readonly Flavour[] = ['qcdq', 'qcdq-int', 'qonnx'];

interface CaseMeta {
  case: string;
  wrapper: string;
  config: Record<string, unknown>;
  seq: number;
  batch: number;
  inputs: { file: string; shape: number[] }[];
  outputs: { file: string; shape: number[] }[];
  /** the file of each flavour, or the exporter's message where Brevitas refused it */
  exports: Partial<Record<Flavour, string>>;
  output_scale: number;
  cell_state_scale: number;
  input_names: string[];
  output_names: string[];
  names_by_flavour: Record<string, { input_names: string[]; output_names: string[] }>;
}

export interface CorpusCase {
  name: string;
  meta: CaseMeta;
  /** float head: compare with an absolute tolerance, not in LSB */
  floatOutputs: boolean;
  /** the flavours Brevitas exported for this case */
  flavours: Flavour[];
  /** at-scale cases (large goldens): tests that run every case may run these less often */
  atScale: boolean;
  file(flavour: Flavour): string;
  inputs(): NdArray[];
  outputs(): NdArray[];
  /** one LSB of output k (hidden states and last hidden state: output scale; last cell state: cell state scale) */
  lsb(k: number): number;
}

export function corpusCases(): CorpusCase[] {
  return fs
    .readdirSync(CORPUS)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const meta = JSON.parse(fs.readFileSync(path.join(CORPUS, f), 'utf8')) as CaseMeta;
      const load = (file: string) => parseNpy(fs.readFileSync(path.join(CORPUS, file)), file);
      return {
        name: meta.case,
        meta,
        floatOutputs: meta.wrapper === 'classifier',
        flavours: ALL_FLAVOURS.filter((f) => meta.exports[f]?.endsWith('.onnx')),
        atScale: meta.case.startsWith('scale_'),
        file: (flavour: Flavour) => {
          const file = meta.exports[flavour];
          if (!file?.endsWith('.onnx')) throw new Error(`corpus case ${meta.case} has no ${flavour} export`);
          return path.join(CORPUS, file);
        },
        inputs: () => meta.inputs.map((i) => load(i.file)),
        outputs: () => meta.outputs.map((o) => load(o.file)),
        lsb: (k: number) => (k === 2 ? meta.cell_state_scale : meta.output_scale),
      };
    });
}

export function corpusCase(name: string): CorpusCase {
  const found = corpusCases().find((c) => c.name === name);
  if (!found) throw new Error(`no corpus case ${name}`);
  return found;
}

/**
 * Runs a model with inputs in graph-input order; returns outputs in graph-output order. The
 * session runs twice and the two runs must agree bit for bit (onnxruntime 1.18 computed some
 * Scan models wrongly from the second run of a session on).
 */
export async function runModel(bytes: Uint8Array, level: OptimizationLevel, inputs: NdArray[]): Promise<NdArray[]> {
  const session = await openSession(bytes, { level });
  try {
    const feeds = Object.fromEntries(session.inputNames.map((n, i) => [n, inputs[i]!]));
    const first = await session.run(feeds);
    const second = await session.run(feeds);
    for (const name of session.outputNames) {
      const a = first[name]!.data;
      const b = second[name]!.data;
      const at = a.findIndex((v, i) => !Object.is(v, b[i]));
      if (a.length !== b.length || at >= 0) throw new Error(`output ${name} at ${level}: the second run of the session differs at element ${at}`);
    }
    return session.outputNames.map((n) => first[n]!);
  } finally {
    await session.release();
  }
}

/**
 * How far `got` is from `want`: the number of unequal elements and the largest difference
 * divided by `unit`. Written here, apart from src/verify, so the tests do not trust the
 * comparison they are testing.
 */
export function difference(got: NdArray, want: NdArray, unit = 1): { unequal: number; max: number; first: number } {
  if (got.shape.join(',') !== want.shape.join(',')) {
    throw new Error(`shape [${got.shape}] differs from expected [${want.shape}]`);
  }
  let unequal = 0;
  let max = 0;
  let first = -1;
  for (let i = 0; i < want.data.length; i++) {
    if (got.data[i] !== want.data[i]) {
      unequal++;
      if (first < 0) first = i;
      max = Math.max(max, Math.abs(got.data[i]! - want.data[i]!) / unit);
    }
  }
  return { unequal, max, first };
}

export function describeDifference(d: { unequal: number; max: number; first: number }, unit: string): string {
  return `${d.unequal} element(s) differ, max ${d.max} ${unit}, first at flat index ${d.first}`;
}
