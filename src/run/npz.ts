import zlib from 'node:zlib';
import { InputError } from '../errors.js';

/**
 * A reader of .npz archives (numpy.savez, numpy.savez_compressed: zip files of .npy
 * entries) for files qlstm did not write. The zip directory is read and checked first
 * (the central directory and every local header must agree; no encryption, no overlapping
 * entries, no data outside the archive); only the entries the caller asks for are
 * inflated, each with a hard cap at the size it declares, and their CRC-32 is checked.
 * A zip bomb therefore costs at most the declared sizes, which the caller limits.
 *
 * Hand-written rather than fflate's unzip, which inflates every entry before any size is
 * known; inflation itself is node:zlib's (maxOutputLength stops it at the cap).
 */
export interface NpzEntry {
  name: string;
  /** declared size once inflated */
  size: number;
  compressedSize: number;
  crc32: number;
  method: number;
  /** where the entry's (compressed) data starts in the archive */
  dataStart: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_DESCRIPTOR = 0x08074b50;
const ZIP64_EXTRA = 0x0001;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_UTF8 = 0x0800;
const STORED = 0;
const DEFLATED = 8;

export function listNpz(bytes: Uint8Array, file: string): NpzEntry[] {
  const fail = (problem: string): never => {
    throw new InputError(`not a readable .npz archive: ${problem}`, { file });
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => (at + 2 <= bytes.length ? view.getUint16(at, true) : fail('it ends inside a zip header'));
  const u32 = (at: number) => (at + 4 <= bytes.length ? view.getUint32(at, true) : fail('it ends inside a zip header'));
  const u64 = (at: number) => {
    const n = at + 8 <= bytes.length ? Number(view.getBigUint64(at, true)) : fail('it ends inside a zip header');
    return Number.isSafeInteger(n) ? n : fail('a zip64 size is too large');
  };

  const end = findEndRecord(bytes, view) ?? fail('it has no zip end record (not a zip file, or truncated)');
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0) fail('it spans several disks');
  const count = u16(end + 10);
  const directorySize = u32(end + 12);
  const directoryStart = u32(end + 16);
  if (u16(end + 8) !== count) fail('its end record disagrees with itself about the number of entries');
  if (count === 0xffff || directorySize === 0xffffffff || directoryStart === 0xffffffff) {
    fail('it is a zip64 archive (over 4 GiB or 65535 entries)');
  }
  if (directoryStart + directorySize !== end) fail('its central directory is not where its end record says');

  const entries: (NpzEntry & { headerStart: number; dataEnd: number })[] = [];
  let at = directoryStart;
  for (let i = 0; i < count; i++) {
    if (u32(at) !== SIG_CENTRAL) fail(`central directory entry ${i} is malformed`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc32 = u32(at + 16);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let headerStart = u32(at + 42);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > end) fail(`central directory entry ${i} runs past the directory`);
    const name = entryName(bytes.subarray(at + 46, at + 46 + nameLength), flags) ?? fail(`entry ${i} has a name that is neither ASCII nor marked UTF-8`);
    const where = `entry "${name}"`;
    const zip64 = readZip64(bytes.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), view, at + 46 + nameLength, fail, where);
    if (size === 0xffffffff) size = zip64.next(u64);
    if (compressedSize === 0xffffffff) compressedSize = zip64.next(u64);
    if (headerStart === 0xffffffff) headerStart = zip64.next(u64);
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) fail(`${where} is encrypted`);
    if (method !== STORED && method !== DEFLATED) fail(`${where} uses compression method ${method}; only stored and deflated entries are read`);
    if (method === STORED && size !== compressedSize) fail(`${where} is stored but declares ${size} bytes inflated and ${compressedSize} stored`);
    if (entries.some((e) => e.name === name)) fail(`${where} appears twice`);

    // The local header must say what the central directory says.
    if (u32(headerStart) !== SIG_LOCAL) fail(`${where} has no local header where the directory says`);
    const localFlags = u16(headerStart + 6);
    const localNameLength = u16(headerStart + 26);
    const localExtraLength = u16(headerStart + 28);
    const dataStart = headerStart + 30 + localNameLength + localExtraLength;
    if (u16(headerStart + 8) !== method || (localFlags & ~FLAG_UTF8) !== (flags & ~FLAG_UTF8)) fail(`${where}: its local header disagrees with the central directory`);
    if (entryName(bytes.subarray(headerStart + 30, headerStart + 30 + localNameLength), localFlags) !== name) {
      fail(`${where}: its local header names another entry`);
    }
    const localZip64 = readZip64(bytes.subarray(headerStart + 30 + localNameLength, dataStart), view, headerStart + 30 + localNameLength, fail, where);
    let [localCrc, localCompressed, localSize] = [u32(headerStart + 14), u32(headerStart + 18), u32(headerStart + 22)];
    if (localSize === 0xffffffff) localSize = localZip64.next(u64);
    if (localCompressed === 0xffffffff) localCompressed = localZip64.next(u64);
    const dataEnd = dataStart + compressedSize;
    if (dataEnd > directoryStart) fail(`${where}: its ${compressedSize} bytes of data run past the entries' area`);
    if (flags & FLAG_DESCRIPTOR) {
      const sizesDeferred = localCrc === 0 && localCompressed === 0 && localSize === 0;
      if (!sizesDeferred && (localCrc !== crc32 || localCompressed !== compressedSize || localSize !== size)) {
        fail(`${where}: its local header disagrees with the central directory about its size or CRC`);
      }
      const d = u32(dataEnd) === SIG_DESCRIPTOR ? dataEnd + 4 : dataEnd;
      const wide = localZip64.present;
      const [dCrc, dCompressed, dSize] = wide ? [u32(d), u64(d + 4), u64(d + 12)] : [u32(d), u32(d + 4), u32(d + 8)];
      if (dCrc !== crc32 || dCompressed !== compressedSize || dSize !== size) {
        fail(`${where}: its data descriptor disagrees with the central directory about its size or CRC`);
      }
    } else if (localCrc !== crc32 || localCompressed !== compressedSize || localSize !== size) {
      fail(`${where}: its local header disagrees with the central directory about its size or CRC`);
    }
    entries.push({ name, size, compressedSize, crc32, method, dataStart, headerStart, dataEnd });
    at = next;
  }
  if (at !== end) fail('its central directory holds more than its end record counts');
  const byPosition = [...entries].sort((a, b) => a.headerStart - b.headerStart);
  for (let i = 1; i < byPosition.length; i++) {
    if (byPosition[i]!.headerStart < byPosition[i - 1]!.dataEnd) fail(`entries "${byPosition[i - 1]!.name}" and "${byPosition[i]!.name}" overlap`);
  }
  return entries.map(({ name, size, compressedSize, crc32, method, dataStart }) => ({ name, size, compressedSize, crc32, method, dataStart }));
}

/** Inflates one listed entry, never beyond the size it declares, and checks its CRC-32. */
export function readNpzEntry(bytes: Uint8Array, entry: NpzEntry, file: string): Uint8Array {
  const fail = (problem: string): never => {
    throw new InputError(`not a readable .npz archive: entry "${entry.name}" ${problem}`, { file });
  };
  const stored = bytes.subarray(entry.dataStart, entry.dataStart + entry.compressedSize);
  let data: Uint8Array;
  if (entry.method === STORED) {
    data = stored;
  } else {
    try {
      data = zlib.inflateRawSync(stored, { maxOutputLength: Math.max(1, entry.size) });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') return fail(`inflates to more than the ${entry.size} bytes it declares`);
      return fail(`is not valid deflate data (${(error as Error).message})`);
    }
  }
  if (data.length !== entry.size) fail(`inflates to ${data.length} bytes, not the ${entry.size} it declares`);
  const crc = crc32(data);
  if (crc !== entry.crc32) fail(`has CRC-32 ${hex(crc)}, not the ${hex(entry.crc32)} it declares (the archive is damaged)`);
  return data;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** The end-of-central-directory record: the last one whose comment reaches exactly to the end of the file. */
function findEndRecord(bytes: Uint8Array, view: DataView): number | undefined {
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === SIG_END && at + 22 + view.getUint16(at + 20, true) === bytes.length) return at;
  }
  return undefined;
}

/** The zip64 extra field's values, taken in order as the 0xffffffff fields call for them. */
function readZip64(extra: Uint8Array, view: DataView, offset: number, fail: (problem: string) => never, where: string) {
  let at = 0;
  let start = -1;
  let length = 0;
  while (at + 4 <= extra.length) {
    const id = view.getUint16(offset + at, true);
    const size = view.getUint16(offset + at + 2, true);
    if (at + 4 + size > extra.length) fail(`${where}: its extra field is malformed`);
    if (id === ZIP64_EXTRA) [start, length] = [offset + at + 4, size];
    at += 4 + size;
  }
  let used = 0;
  return {
    present: start >= 0,
    next(u64: (at: number) => number): number {
      if (start < 0 || used + 8 > length) return fail(`${where}: it declares zip64 sizes but has no zip64 field for them`);
      used += 8;
      return u64(start + used - 8);
    },
  };
}

function entryName(raw: Uint8Array, flags: number): string | undefined {
  if (raw.every((b) => b < 0x80)) return String.fromCharCode(...raw);
  if (!(flags & FLAG_UTF8)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return undefined;
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, as zip uses). Here because zlib.crc32 needs Node 20.15 and fflate does not export its own. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
