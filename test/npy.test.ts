import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { formatNpy, parseNpy } from '../src/run/npy.js';
import { CORPUS } from './helpers/corpus.js';

describe('.npy files', () => {
  it('reads every corpus array and writes it back byte for byte', () => {
    for (const file of fs.readdirSync(CORPUS).filter((f) => f.endsWith('.npy'))) {
      const bytes = fs.readFileSync(path.join(CORPUS, file));
      const array = parseNpy(bytes, file);
      assert.equal(array.data.length, array.shape.reduce((a, b) => a * b, 1), file);
      assert.deepEqual(Buffer.from(formatNpy(array)), bytes, file);
    }
  });

  it('reads 1-D and scalar shapes and other element types', () => {
    const header = (descr: string, shape: string, pad = 0) => {
      let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
      h += ' '.repeat((64 - ((10 + h.length + 1 + pad) % 64)) % 64) + '\n';
      const out = Buffer.alloc(10 + h.length);
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(out);
      out.writeUInt16LE(h.length, 8);
      out.write(h, 10, 'latin1');
      return out;
    };
    const int8 = Buffer.concat([header('|i1', '(3,)'), Buffer.from([1, 255, 127])]);
    assert.deepEqual(Array.from(parseNpy(int8, 'i8').data), [1, -1, 127]);
    const scalar = Buffer.concat([header('<f4', '()'), Buffer.from(new Float32Array([2.5]).buffer)]);
    assert.deepEqual(parseNpy(scalar, 's'), { shape: [], data: Float32Array.from([2.5]) });
  });

  it('refuses malformed files before allocating', () => {
    const good = formatNpy({ shape: [2, 3], data: new Float32Array(6) });
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /magic/],
      ['text', Buffer.from('x,y\n1,2\n'), /magic/],
      ['truncated data', good.subarray(0, good.length - 4), /holds 20 bytes of data, shape \(2, 3\) of '<f4' needs 24/],
      ['fortran', Buffer.from(Buffer.from(good).toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1'), /Fortran/],
      ['huge shape', Buffer.from(Buffer.from(good).toString('latin1').replace("'shape': (2, 3)", "'shape': (9999999, 99999)"), 'latin1'), /too large/],
      ['complex', Buffer.from(Buffer.from(good).toString('latin1').replace("'<f4'", "'<c8'"), 'latin1'), /element type '<c8'/],
    ];
    for (const [what, bytes, message] of cases) {
      assert.throws(() => parseNpy(bytes, `${what}.npy`), (e: unknown) => e instanceof InputError && message.test(e.message), what);
    }
  });
});
