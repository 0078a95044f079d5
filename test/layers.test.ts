import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers/corpus.js';

/**
 * The layers of src/, lowest first. A module may import from its own layer or a lower one,
 * never from a higher one: ONNX I/O and the graph model at the bottom, the CLI at the top.
 * src/reference is the independent oracle: it may import only the graph model, ONNX I/O and
 * the errors, never the code it checks (recognize, scan, surgery, quant).
 */
const LAYERS: string[][] = [
  ['errors', 'version', 'util'],
  ['ir'],
  ['onnx'],
  ['quant'],
  ['recognize'],
  ['scan'],
  ['surgery'],
  ['cell-summary', 'describe', 'metadata', 'convert'],
  ['run'],
  ['reference'],
  ['verify'],
  ['cli'],
  ['index'],
];
const REFERENCE_MAY_IMPORT = new Set(['reference', 'errors', 'version', 'util', 'ir', 'onnx']);

const SRC = path.join(ROOT, 'src');

function layerOf(file: string): string {
  const relative = path.relative(SRC, file).split(path.sep);
  return relative.length > 1 ? relative[0]! : relative[0]!.replace(/\.ts$/, '');
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import of every source file: [importer layer, imported layer, where]. */
function imports(): [string, string, string][] {
  return sources(SRC).flatMap((file) =>
    [...fs.readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*from\s+'(\.{1,2}\/[^']+)'/g)].map((m): [string, string, string] => {
      const target = path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts'));
      return [layerOf(file), layerOf(target), `${path.relative(ROOT, file)} imports ${m[1]}`];
    }),
  );
}

describe('the layers of src/ import one way', () => {
  const rank = new Map(LAYERS.flatMap((names, k) => names.map((n) => [n, k] as const)));
  const all = imports();

  it('every folder and top-level file is in a layer', () => {
    const unknown = [...new Set(all.flatMap(([a, b]) => [a, b]))].filter((l) => !rank.has(l));
    assert.deepEqual(unknown, []);
    assert.ok(all.length > 100, `found ${all.length} imports: the pattern still matches the code`);
  });

  it('no module imports from a layer above its own', () => {
    const upward = all.filter(([a, b]) => rank.get(b)! > rank.get(a)!).map(([, , where]) => where);
    assert.deepEqual(upward, []);
  });

  it('the reference shares no code with what it checks', () => {
    const forbidden = all.filter(([a, b]) => a === 'reference' && !REFERENCE_MAY_IMPORT.has(b)).map(([, , where]) => where);
    assert.deepEqual(forbidden, []);
  });
});
