import { UsageError } from '../errors.js';
import type { Tolerance } from './report.js';

/** Tolerances for all outputs, with overrides per output name. */
export interface ToleranceSpec {
  all: Tolerance;
  perOutput: Map<string, Partial<Tolerance>>;
}

export const NO_TOLERANCE: ToleranceSpec = { all: { lsb: 0, abs: 0 }, perOutput: new Map() };

/**
 * One `X` or `NAME=X` item (the value follows the last '=', so names may contain one); null
 * when X is not a number of 0 or more or NAME is empty.
 */
export function parseToleranceItem(item: string): { name: string | null; value: number } | null {
  const at = item.lastIndexOf('=');
  const name = at >= 0 ? item.slice(0, at) : null;
  const text = at >= 0 ? item.slice(at + 1) : item;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || name === '') return null;
  return { name, value };
}

/**
 * Reads `--tolerance-lsb` / `--tolerance-abs` values: `X` applies to every output, `NAME=X`
 * to the output NAME (output names may contain '=': the value follows the last one).
 */
export function parseTolerances(lsb: readonly string[], abs: readonly string[]): ToleranceSpec {
  const spec: ToleranceSpec = { all: { lsb: 0, abs: 0 }, perOutput: new Map() };
  const read = (items: readonly string[], key: keyof Tolerance, flag: string) => {
    for (const item of items) {
      const parsed = parseToleranceItem(item);
      if (!parsed) throw new UsageError(`${flag} ${item}: expected a number of 0 or more, or NAME=NUMBER (e.g. ${flag} 1e-6 or ${flag} logits=1e-6)`);
      const { name, value } = parsed;
      if (name === null) spec.all[key] = value;
      else spec.perOutput.set(name, { ...spec.perOutput.get(name), [key]: value });
    }
  };
  read(lsb, 'lsb', '--tolerance-lsb');
  read(abs, 'abs', '--tolerance-abs');
  return spec;
}

export function toleranceFor(spec: ToleranceSpec, output: string): Tolerance {
  return { ...spec.all, ...spec.perOutput.get(output) };
}

/** Whether any tolerance was given at all (for --strict, which refuses them). */
export function anyTolerance(spec: ToleranceSpec): boolean {
  return spec.all.lsb > 0 || spec.all.abs > 0 || [...spec.perOutput.values()].some((t) => (t.lsb ?? 0) > 0 || (t.abs ?? 0) > 0);
}

/** Whether the user gave an absolute tolerance for this output (float outputs need one). */
export function hasAbsTolerance(spec: ToleranceSpec, output: string): boolean {
  return spec.perOutput.get(output)?.abs !== undefined || spec.all.abs > 0;
}

/** Names given per output that are not among `known`: a typo must not pass silently. */
export function checkToleranceNames(spec: ToleranceSpec, known: readonly string[], file: string): void {
  for (const name of spec.perOutput.keys()) {
    if (!known.includes(name)) {
      throw new UsageError(`a tolerance names output "${name}", which ${file} does not have; its outputs are ${known.join(', ')}`);
    }
  }
}

export function toleranceJson(spec: ToleranceSpec): Tolerance & { perOutput: Record<string, Partial<Tolerance>> } {
  return { ...spec.all, perOutput: Object.fromEntries([...spec.perOutput].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}
