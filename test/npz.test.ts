import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { realInputs } from '../src/ir/graph.js';
import { readModel } from '../src/onnx/files.js';
import { formatNpy } from '../src/run/npy.js';
import { crc32 } from '../src/run/npz.js';
import { loadArrays } from '../src/verify/arrays.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, ROOT } from './helpers/corpus.js';

const dir = temporaryDir('npz');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const NUMPY = path.join(ROOT, 'fixtures', 'hostile', 'npz');

/**
 * A zip writer for malformed archives, written here apart from src/run/npz.ts (CRCs from
 * node:zlib): each entry's fields can be set to lie.
 */
interface EntrySpec {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** data descriptor after the data (flag bit 3), local sizes and CRC zero */
  descriptor?: boolean;
  flags?: number;
  method?: number;
  central?: { size?: number; compressedSize?: number; crc?: number; name?: string; offset?: number };
  local?: { size?: number; compressedSize?: number; crc?: number; name?: string };
}

function makeZip(entries: EntrySpec[], end: { count?: number } = {}): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate ? zlib.deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = zlib.crc32(e.data);
    const flags = (e.flags ?? 0) | (e.descriptor ? 8 : 0);
    const method = e.method ?? (e.deflate ? 8 : 0);
    const localName = Buffer.from(e.local?.name ?? e.name, 'latin1');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(e.local?.crc ?? (e.descriptor ? 0 : crc), 14);
    local.writeUInt32LE(e.local?.compressedSize ?? (e.descriptor ? 0 : body.length), 18);
    local.writeUInt32LE(e.local?.size ?? (e.descriptor ? 0 : e.data.length), 22);
    local.writeUInt16LE(localName.length, 26);
    const descriptor = Buffer.alloc(e.descriptor ? 16 : 0);
    if (e.descriptor) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(body.length, 8);
      descriptor.writeUInt32LE(e.data.length, 12);
    }
    const name = Buffer.from(e.central?.name ?? e.name, 'latin1');
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(flags, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(e.central?.crc ?? crc, 16);
    c.writeUInt32LE(e.central?.compressedSize ?? body.length, 20);
    c.writeUInt32LE(e.central?.size ?? e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(e.central?.offset ?? offset, 42);
    central.push(c, name);
    parts.push(local, localName, body, descriptor);
    offset += local.length + localName.length + body.length + descriptor.length;
  }
  const directory = Buffer.concat(central);
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  record.writeUInt16LE(end.count ?? entries.length, 8);
  record.writeUInt16LE(end.count ?? entries.length, 10);
  record.writeUInt32LE(directory.length, 12);
  record.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, record]);
}

const x = formatNpy({ shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) });
const y = formatNpy({ shape: [3], data: Float32Array.from([1, -1, 127]) });

let files = 0;
function write(bytes: Uint8Array): string {
  const file = path.join(dir, `archive-${files++}.npz`);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('.npz archives numpy writes', () => {
  for (const name of ['savez.npz', 'savez_compressed.npz']) {
    it(`${name} (zip64 local headers), by name`, () => {
      const arrays = loadArrays([path.join(NUMPY, name)], ['x', 'y'], 'graph inputs');
      assert.deepEqual(arrays.get('x'), { shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) });
      assert.deepEqual(arrays.get('y'), { shape: [3], data: Float32Array.from([1, -1, 127]) });
    });
  }

  it('positional.npz, in order (arr_0, arr_1)', () => {
    const arrays = loadArrays([path.join(NUMPY, 'positional.npz')], ['first', 'second'], 'graph inputs');
    assert.deepEqual(arrays.get('first')!.shape, [2, 3]);
    assert.deepEqual(Array.from(arrays.get('second')!.data), [1, -1, 127]);
  });

  it('entries with a data descriptor (streamed zips)', () => {
    const file = write(makeZip([{ name: 'x.npy', data: x, deflate: true, descriptor: true }, { name: 'y.npy', data: y, descriptor: true }]));
    const arrays = loadArrays([file], ['x', 'y'], 'graph inputs');
    assert.deepEqual(arrays.get('x')!.shape, [2, 3]);
  });

  it('does not inflate entries it does not need (a bomb and a damaged entry beside the arrays)', () => {
    const bomb = new Uint8Array(50_000_000);
    const file = write(makeZip([
      { name: 'x.npy', data: x },
      { name: 'bomb.npy', data: bomb, deflate: true, central: { size: 1000 }, local: { size: 1000 } },
      { name: 'damaged.npy', data: y, central: { crc: 1 }, local: { crc: 1 } },
      { name: 'y.npy', data: y, deflate: true },
    ]));
    const arrays = loadArrays([file], ['x', 'y'], 'graph inputs');
    assert.deepEqual(Array.from(arrays.get('y')!.data), [1, -1, 127]);
  });

  it('computes CRC-32 as zlib does', () => {
    for (const data of [new Uint8Array(0), x, y, Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff)]) {
      assert.equal(crc32(data), zlib.crc32(data));
    }
  });
});

/** Each case: the archive, and the one line qlstm must refuse it with (after "FILE: "). */
const refused: [string, () => string, string][] = [
  ['a damaged entry (numpy refuses it: Bad CRC-32)', () => path.join(NUMPY, 'bad-crc.npz'),
    `not a readable .npz archive: entry "x.npy" has CRC-32 0x${crcOfDamagedX()}, not the 0x${crcOf(readStored('savez.npz', 'x.npy'))} it declares (the archive is damaged)`],
  ['a zip bomb: an entry that inflates past the size it declares', () => write(makeZip([
    { name: 'x.npy', data: new Uint8Array(100_000_000), deflate: true, central: { size: x.length }, local: { size: x.length } },
    { name: 'y.npy', data: y },
  ])), `not a readable .npz archive: entry "x.npy" inflates to more than the ${x.length} bytes it declares`],
  ['entries declaring more than 2 GiB in all (refused before inflating)', () => write(makeZip([
    { name: 'x.npy', data: x, deflate: true, central: { size: 3_000_000_000 }, local: { size: 3_000_000_000 } },
    { name: 'y.npy', data: y },
  ])), `its arrays would take ${3_000_000_000 + y.length} bytes, more than the 2147483648 qlstm reads`],
  ['an entry inflating to less than it declares', () => write(makeZip([
    { name: 'x.npy', data: x, deflate: true, central: { size: x.length + 1 }, local: { size: x.length + 1 } },
    { name: 'y.npy', data: y },
  ])), `not a readable .npz archive: entry "x.npy" inflates to ${x.length} bytes, not the ${x.length + 1} it declares`],
  ['a local header that disagrees with the central directory', () => write(makeZip([{ name: 'x.npy', data: x, deflate: true, local: { size: 10 } }, { name: 'y.npy', data: y }])),
    'not a readable .npz archive: entry "x.npy": its local header disagrees with the central directory about its size or CRC'],
  ['a local header naming another entry', () => write(makeZip([{ name: 'x.npy', data: x, local: { name: 'z.npy' } }, { name: 'y.npy', data: y }])),
    'not a readable .npz archive: entry "x.npy": its local header names another entry'],
  ['a name given twice', () => write(makeZip([{ name: 'x.npy', data: x }, { name: 'x.npy', data: y }, { name: 'y.npy', data: y }])),
    'not a readable .npz archive: entry "x.npy" appears twice'],
  ['overlapping entries', () => {
    const inner = makeZip([{ name: 'y.npy', data: y }]);
    const innerLocal = inner.subarray(0, 30 + 'y.npy'.length + y.length);
    return write(makeZip([{ name: 'x.npy', data: Buffer.concat([Buffer.from(innerLocal), x]) }, { name: 'y.npy', data: y, central: { offset: 30 + 'x.npy'.length } }]));
  }, 'not a readable .npz archive: entries "x.npy" and "y.npy" overlap'],
  ['an encrypted entry', () => write(makeZip([{ name: 'x.npy', data: x, flags: 1 }, { name: 'y.npy', data: y }])),
    'not a readable .npz archive: entry "x.npy" is encrypted'],
  ['another compression method (bzip2)', () => write(makeZip([{ name: 'x.npy', data: x, method: 12 }, { name: 'y.npy', data: y }])),
    'not a readable .npz archive: entry "x.npy" uses compression method 12; only stored and deflated entries are read'],
  ['a stored entry whose sizes differ', () => write(makeZip([{ name: 'x.npy', data: x, central: { size: x.length + 8 }, local: { size: x.length + 8 } }, { name: 'y.npy', data: y }])),
    `not a readable .npz archive: entry "x.npy" is stored but declares ${x.length + 8} bytes inflated and ${x.length} stored`],
  ['data that runs into the central directory', () => {
    const compressed = zlib.deflateRawSync(y).length + 100;
    return write(makeZip([{ name: 'x.npy', data: x }, { name: 'y.npy', data: y, deflate: true, central: { compressedSize: compressed }, local: { compressedSize: compressed } }]));
  }, `not a readable .npz archive: entry "y.npy": its ${zlib.deflateRawSync(y).length + 100} bytes of data run past the entries' area`],
  ['a non-ASCII name not marked UTF-8', () => write(makeZip([{ name: 'x\u00e9.npy', data: x }, { name: 'y.npy', data: y }])),
    'not a readable .npz archive: entry 0 has a name that is neither ASCII nor marked UTF-8'],
  ['a zip64 end record', () => write(makeZip([{ name: 'x.npy', data: x }], { count: 0xffff })),
    'not a readable .npz archive: it is a zip64 archive (over 4 GiB or 65535 entries)'],
  ['a truncated archive', () => write(fs.readFileSync(path.join(NUMPY, 'savez.npz')).subarray(0, 400)),
    'not a readable .npz archive: it has no zip end record (not a zip file, or truncated)'],
  ['a text file', () => write(Buffer.from('x,y\n1,2\n')),
    'not a readable .npz archive: it has no zip end record (not a zip file, or truncated)'],
];

/** The .npy bytes numpy.savez stored for `name`: right after its local header (30 bytes, the name, a 20-byte zip64 extra); 152 bytes for x. */
function readStored(archive: string, name: string): Uint8Array {
  const bytes = fs.readFileSync(path.join(NUMPY, archive));
  const nameAt = bytes.indexOf(Buffer.from(name));
  const start = nameAt + name.length + bytes.readUInt16LE(nameAt - 2);
  return bytes.subarray(start, start + 152);
}
function crcOf(data: Uint8Array): string {
  return zlib.crc32(data).toString(16).padStart(8, '0');
}
function crcOfDamagedX(): string {
  return crcOf(readStored('bad-crc.npz', 'x.npy'));
}

describe('.npz archives qlstm refuses: exit 2, one line, nothing left behind', () => {
  for (const [what, archive, message] of refused) {
    it(what, () => {
      const file = archive();
      assert.throws(() => loadArrays([file], ['x', 'y'], 'graph inputs'), (e: unknown) => {
        assert.ok(e instanceof InputError, String(e));
        assert.equal(e.exitCode, 2);
        assert.equal(e.message, `${file}: ${message}`);
        return true;
      });
    });
  }

  it('through the CLI: qlstm verify with a damaged archive', async () => {
    const seed = corpusCase('seed_i10_h20');
    const names = realInputs(readModel(seed.file('qcdq')).graph).map((v) => v.name);
    const inputs = write(makeZip(names.map((name) => ({ name: `${name}.npy`, data: x, deflate: true, central: { crc: 7 }, local: { crc: 7 } }))));
    const before = fs.readdirSync(dir).sort();
    const r = await qlstm('verify', seed.file('qcdq'), '--inputs', inputs, '--expected', path.join(NUMPY, 'savez.npz'));
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `qlstm: ${inputs}: not a readable .npz archive: entry "${names[0]}.npy" has CRC-32 0x${crcOf(x)}, not the 0x00000007 it declares (the archive is damaged)\n`);
    assert.deepEqual(fs.readdirSync(dir).sort(), before, 'no file written');
  });
});
