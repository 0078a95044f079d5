import { InputError } from '../errors.js';
import { MAX_ELEMENTS } from '../ir/tensor.js';

/** An n-dimensional float32 array, the form in which qlstm handles model inputs and outputs. */
export interface NdArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Element types qlstm reads from .npy files, all converted to float32. */
const READERS: Record<string, { size: number; read: (view: DataView, offset: number) => number }> = {
  '<f4': { size: 4, read: (v, o) => v.getFloat32(o, true) },
  '<f8': { size: 8, read: (v, o) => v.getFloat64(o, true) },
  '<i8': { size: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  '<i4': { size: 4, read: (v, o) => v.getInt32(o, true) },
  '<i2': { size: 2, read: (v, o) => v.getInt16(o, true) },
  '<u2': { size: 2, read: (v, o) => v.getUint16(o, true) },
  '|i1': { size: 1, read: (v, o) => v.getInt8(o) },
  '|u1': { size: 1, read: (v, o) => v.getUint8(o) },
};

/**
 * Parses a .npy file (numpy.save). Everything is checked against the header before any
 * allocation: the magic, the header's syntax, the element type, and the data length.
 */
export function parseNpy(bytes: Uint8Array, file: string): NdArray {
  const fail = (problem: string): never => {
    throw new InputError(`not a readable .npy array: ${problem}`, { file });
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('it does not start with the .npy magic bytes');
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`format version ${major} is not 1, 2 or 3`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : fail('truncated header');
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLength > bytes.length) fail('the header runs past the end of the file');
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));

  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1] ?? fail('the header has no descr');
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1] ?? fail('the header has no fortran_order');
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail('the header has no shape');
  if (fortran === 'True') fail('Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray');
  const reader = READERS[descr] ?? fail(`element type '${descr}' is not supported (use float32)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : fail(`shape entry "${s}" is not a whole number`)));
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count) || count > MAX_ELEMENTS) fail(`shape (${shape.join(', ')}) is too large`);
  const dataStart = headerStart + headerLength;
  if (bytes.length - dataStart !== count * reader.size) {
    fail(`holds ${bytes.length - dataStart} bytes of data, shape (${shape.join(', ')}) of '${descr}' needs ${count * reader.size}`);
  }
  const data = new Float32Array(count);
  if (descr === '<f4') {
    data.set(new Float32Array(new Uint8Array(bytes.subarray(dataStart)).buffer));
  } else {
    for (let i = 0; i < count; i++) data[i] = reader.read(view, dataStart + i * reader.size);
  }
  return { shape, data };
}

/** Serialises a float32 array as a version 1 .npy file. */
export function formatNpy(array: NdArray): Uint8Array {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + array.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), 10 + header.length);
  return out;
}
