import { UsageError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { NdArray } from '../run/npy.js';
import { sameValue } from './elements.js';
import { CELLS_KEY } from './metadata.js';

const compact = (shape: readonly number[]) => `[${shape.join(',')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Each expected array must have its output's shape; when it has another output's shape the
 * goldens are most likely in the wrong order, and the message says which order to use.
 */
export function checkGoldenShapes(
  names: readonly string[],
  expected: Map<string, NdArray>,
  got: Record<string, NdArray>,
  labels: Map<string, string> | undefined,
  file: string,
): void {
  for (const name of names) {
    const want = expected.get(name)!;
    const have = got[name]!;
    if (sameShape(want.shape, have.shape)) continue;
    const label = labels?.get(name) ?? name;
    const fits = names.filter((other) => other !== name && sameShape(got[other]!.shape, want.shape));
    const guess = fits.length ? ` is it output ${fits.join(' or ')}'s?` : ` (${file} gives ${names.map((n) => `${n} ${compact(got[n]!.shape)}`).join(', ')})`;
    throw new UsageError(`expected ${label} has shape ${compact(want.shape)} but output ${name} is ${compact(have.shape)};${guess} give --expected in ${orderWords(names, got)}`);
  }
}

/**
 * Goldens of equal shapes given in the wrong order (h_n and c_n swapped, say): an output that
 * differs from its golden while another output equals it bit for bit.
 */
export function checkGoldenOrder(
  names: readonly string[],
  failing: readonly boolean[],
  expected: Map<string, NdArray>,
  got: Record<string, NdArray>,
  labels: Map<string, string> | undefined,
): void {
  names.forEach((name, i) => {
    if (!failing[i]) return;
    const want = expected.get(name)!;
    const match = names.find((other) => other !== name && sameShape(got[other]!.shape, want.shape) && equalArrays(got[other]!.data, want.data));
    if (match === undefined) return;
    throw new UsageError(`expected ${labels?.get(name) ?? name} matches output ${match}, not output ${name}; give --expected in ${orderWords(names, got)}`);
  });
}

function orderWords(names: readonly string[], got: Record<string, NdArray>): string {
  const all = Object.keys(got);
  const graphOrder = names.length === all.length || !names.some((n, i) => all[i] !== n);
  return `${graphOrder ? 'graph-output order' : 'the order of --outputs'}: ${names.join(' ')}`;
}

function equalArrays(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameValue(a[i]!, b[i]!)) return false;
  return true;
}

/**
 * A float output (no quantizer computes it) cannot be expected to match PyTorch bit for bit:
 * comparing it without --tolerance-abs is a mistake, named with the error actually seen.
 */
export function floatOutputMistake(name: string, maxError: number): never {
  const bound = maxError > 0 && Number.isFinite(maxError) ? 10 ** (Math.ceil(Math.log10(maxError)) + 1) : 1e-6;
  throw new UsageError(
    `output ${name} is a float output (no quantizer computes it) and differs from its expected values by up to ${maxError.toPrecision(3)}: float results need a tolerance; give --tolerance-abs ${name}=${bound.toExponential(0)} (or the bound you accept)`,
  );
}

/** A Brevitas export: it still has the cells onnxruntime cannot run. */
export function hasCells(model: Model): boolean {
  return model.graph.nodes.some((n) => n.opType === 'QuantLSTMCell');
}

/**
 * Reference mode takes the Brevitas export first: a first model that is qlstm's conversion
 * (qlstm metadata, no QuantLSTMCell) and a second with cells were given the other way round.
 */
export function checkNotSwapped(original: Model, converted: Model): void {
  if (!hasCells(original) && original.metadata(CELLS_KEY) !== undefined && hasCells(converted)) {
    throw new UsageError(
      `ORIGINAL and CONVERTED are swapped: ${original.source} is qlstm's conversion (qlstm.cells metadata, no QuantLSTMCell) and ${converted.source} has QuantLSTMCell nodes; give the Brevitas export first: qlstm verify ${converted.source} ${original.source}`,
    );
  }
}
