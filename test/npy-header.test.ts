import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { parseNpy } from '../src/run/npy.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, ROOT } from './helpers/corpus.js';

/**
 * The oracle is numpy itself: fixtures/hostile/npy-headers.py ran numpy's header reader
 * on each header and recorded what it made of it. qlstm must read a header as numpy does,
 * or refuse it with an InputError (exit 2); it must never read it differently.
 */
interface HeaderCase {
  name: string;
  version: [number, number];
  header: string;
  numpy: { shape: (number | string)[]; fortran_order: boolean; descr: string } | { error: string };
}
const { cases } = JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures', 'hostile', 'npy-headers.json'), 'utf8')) as { cases: HeaderCase[] };

/** Headers numpy writes or could plausibly meet in practice: qlstm must read these, not merely refuse them. */
const MUST_READ = new Set([
  'standard',
  'standard, no trailing comma',
  'keys in another order',
  'double quotes',
  'tabs and newlines between tokens',
  'leading spaces',
  'leading newline',
  'carriage returns',
  'one-element shape',
  'scalar shape',
  'trailing comma in shape',
  'zero-size shape',
  'int8',
  'float64',
  'duplicate shape: numpy takes the last',
  'duplicate descr: numpy takes the last',
  'duplicate fortran_order: numpy takes the last',
  'a form feed',
  'a lone carriage return',
  'a leading tab',
  'a leading form feed',
  'trailing spaces and newline (numpy pads so)',
]);

const ITEM_SIZE: Record<string, number> = { '<f4': 4, '<f8': 8, '|i1': 1 };

function npyFile(c: HeaderCase): Uint8Array {
  const header = Buffer.from(c.header, c.version[0] === 3 ? 'utf8' : 'latin1');
  const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, c.version[0], c.version[1]]);
  const length = Buffer.alloc(c.version[0] === 1 ? 2 : 4);
  if (c.version[0] === 1) length.writeUInt16LE(header.length);
  else length.writeUInt32LE(header.length);
  let dataLength = 24;
  if (!('error' in c.numpy)) {
    const count = c.numpy.shape.reduce<number>((a, b) => a * Number(b), 1);
    dataLength = Number.isSafeInteger(count) && count >= 0 && count < 1e6 ? count * (ITEM_SIZE[c.numpy.descr] ?? 4) : 0;
  }
  return Buffer.concat([prefix, length, header, Buffer.alloc(dataLength)]);
}

describe('.npy headers are read as numpy reads them, or refused', () => {
  for (const c of cases) {
    it(`${c.name} (version ${c.version.join('.')})`, () => {
      const file = `${c.name}.npy`;
      let result: ReturnType<typeof parseNpy> | InputError;
      try {
        result = parseNpy(npyFile(c), file);
      } catch (error) {
        assert.ok(error instanceof InputError, `a clean refusal, not ${String(error)}`);
        assert.equal(error.exitCode, 2);
        assert.match(error.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a readable \\.npy array: [^\\n]+$`));
        result = error;
      }
      if ('error' in c.numpy) {
        assert.ok(result instanceof InputError, `numpy refuses this header (${c.numpy.error}); qlstm read it`);
        return;
      }
      if (result instanceof InputError) {
        assert.ok(!MUST_READ.has(c.name), `numpy reads this header and so must qlstm: ${result.message}`);
        return;
      }
      assert.equal(c.numpy.fortran_order, false, 'qlstm read a Fortran-ordered array as C-ordered');
      assert.deepEqual(result.shape, c.numpy.shape.map(Number), 'shape');
      assert.equal(result.data.length, result.shape.reduce((a, b) => a * b, 1));
    });
  }

  it('covers both outcomes', () => {
    assert.ok(cases.filter((c) => 'error' in c.numpy).length >= 15);
    assert.equal(new Set(cases.map((c) => c.name).filter((n) => MUST_READ.has(n))).size, MUST_READ.size, 'every must-read case exists');
  });

  it('names the problem in one line', () => {
    const header = cases.find((c) => c.name === 'duplicate fortran_order, last True')!;
    assert.throws(() => parseNpy(npyFile(header), 'x.npy'), {
      message: 'x.npy: not a readable .npy array: Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray',
    });
    const notDict = cases.find((c) => c.name === 'a list holding the dict')!;
    assert.throws(() => parseNpy(npyFile(notDict), 'x.npy'), {
      message: 'x.npy: not a readable .npy array: the header is not the Python dict numpy writes: expected "{" at character 0 ("[")',
    });
    const extra = cases.find((c) => c.name === 'an extra key')!;
    assert.throws(() => parseNpy(npyFile(extra), 'x.npy'), {
      message: 'x.npy: not a readable .npy array: the header is not the Python dict numpy writes: expected a string, True, False or a tuple at character 67 ("1")',
    });
    const missing = cases.find((c) => c.name === 'a missing key')!;
    assert.throws(() => parseNpy(npyFile(missing), 'x.npy'), {
      message: 'x.npy: not a readable .npy array: the header has keys "descr", "shape"; numpy expects exactly "descr", "fortran_order" and "shape"',
    });
  });

  it('refuses format versions numpy does not read', () => {
    const standard = npyFile(cases.find((c) => c.name === 'standard')!);
    for (const [major, minor] of [[1, 1], [0, 0], [4, 0]] as const) {
      const bytes = Uint8Array.from(standard);
      bytes[6] = major;
      bytes[7] = minor;
      assert.throws(() => parseNpy(bytes, 'v.npy'), { message: `v.npy: not a readable .npy array: format version ${major}.${minor} is not 1.0, 2.0 or 3.0` });
    }
  });
});

describe('through the CLI', () => {
  const dir = temporaryDir('npy');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('qlstm verify refuses a Fortran-ordered array hidden behind a duplicate key: exit 2, one line, nothing written', async () => {
    const seed = corpusCase('seed_i10_h20');
    const input = path.join(dir, 'input.npy');
    // The seed's input shape, C order claimed first and Fortran order last (numpy keeps the last).
    const shape = seed.meta.inputs[0]!.shape;
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), 'fortran_order': True}`;
    const c: HeaderCase = { name: 'cli', version: [1, 0], header, numpy: { shape, fortran_order: true, descr: '<f4' } };
    fs.writeFileSync(input, npyFile(c));
    const before = fs.readdirSync(dir).sort();
    const outputs = seed.meta.outputs.map((o) => path.join(ROOT, 'fixtures', 'brevitas-corpus', o.file));
    const r = await qlstm('verify', seed.file('qcdq'), '--inputs', input, '--expected', ...outputs);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `qlstm: ${input}: not a readable .npy array: Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray\n`);
    assert.deepEqual(fs.readdirSync(dir).sort(), before);
  });
});
