import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers/corpus.js';

/**
 * mutations/mutations.json is the list `npm run mutate` plants (scripts/mutate.mjs). A mutation
 * whose text no longer matches the source would silently test nothing, so the list is checked
 * here, in every test run, as well as by the script.
 */
interface Mutation {
  id: string;
  layer: string;
  file: string;
  issue?: string;
  find: string;
  replace: string;
  tests: string[];
}

const { mutations } = JSON.parse(fs.readFileSync(path.join(ROOT, 'mutations', 'mutations.json'), 'utf8')) as { mutations: Mutation[] };

function occurrences(text: string, find: string): number {
  let count = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) count++;
  return count;
}

describe('the mutation list of npm run mutate', () => {
  it('has at least 32 mutations with unique ids', () => {
    assert.ok(mutations.length >= 32, `${mutations.length} mutations`);
    assert.equal(new Set(mutations.map((m) => m.id)).size, mutations.length);
  });

  it('every mutation matches its file exactly once (update mutations/mutations.json when the code moves)', () => {
    const stale = mutations
      .map((m) => ({ m, n: occurrences(fs.readFileSync(path.join(ROOT, m.file), 'utf8'), m.find) }))
      .filter(({ n }) => n !== 1)
      .map(({ m, n }) => `${m.id}: ${n} matches in ${m.file}`);
    assert.deepEqual(stale, []);
  });

  it('every mutation names test files that exist', () => {
    const missing = mutations.flatMap((m) => m.tests.map((t) => t.split('#')[0]!).filter((t) => !/^test\/[^/]+\.test\.ts$/.test(t) || !fs.existsSync(path.join(ROOT, t))).map((t) => `${m.id}: ${t}`));
    assert.deepEqual(missing, []);
  });

  it('covers every survivor issue #13 names, and every layer', () => {
    const issues = new Set(mutations.map((m) => m.issue).filter(Boolean));
    for (const survivor of [
      'narrow range of signed quantizers ignored',
      'the symlink-escape check removed',
      "the last cell state measured in the output quantizer's LSB",
      'a non-zero constant initial state treated as zeros',
      'node doc strings and value_info metadata dropped on round trip',
      'subgraphs unable to see the outer scope',
      'a toposort that changes output bytes',
      'weight narrow detection off by one',
      'the order of the bias add',
    ]) {
      assert.ok(issues.has(survivor), survivor);
    }
    const layers = new Set(mutations.map((m) => m.layer));
    for (const layer of ['onnx', 'recognize', 'quant', 'scan', 'surgery', 'verify', 'cli', 'metadata']) assert.ok(layers.has(layer), layer);
  });

  it('no source file is left mutated (each mutant carries a qlstm-mutant marker)', () => {
    const marked: string[] = [];
    const walk = (folder: string) => {
      for (const e of fs.readdirSync(folder, { withFileTypes: true })) {
        const p = path.join(folder, e.name);
        if (e.isDirectory()) walk(p);
        else if (fs.readFileSync(p, 'utf8').includes('qlstm-mutant:')) marked.push(path.relative(ROOT, p));
      }
    };
    walk(path.join(ROOT, 'src'));
    assert.deepEqual(marked, []);
  });
});
