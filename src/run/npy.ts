import { InputError } from '../errors.js';
import { MAX_ELEMENTS } from '../ir/tensor.js';

/** An n-dimensional float32 array, the form in which qlstm handles model inputs and outputs. */
export interface NdArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy refuses longer headers unless told to trust the file (numpy.lib.format._MAX_HEADER_SIZE). */
const MAX_HEADER_CHARS = 10_000;

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
 * allocation: the magic and version, the header (read as numpy reads it, or refused), the
 * element type, and the data length.
 */
export function parseNpy(bytes: Uint8Array, file: string): NdArray {
  return readNpy(bytes, file).array;
}

/** parseNpy, with the element type the file stored (numpy's descr, e.g. '<f4'). */
export function readNpy(bytes: Uint8Array, file: string): { array: NdArray; descr: string } {
  const fail = (problem: string): never => {
    throw new InputError(`not a readable .npy array: ${problem}`, { file });
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('it does not start with the .npy magic bytes');
  const [major, minor] = [bytes[6]!, bytes[7]!];
  if (major < 1 || major > 3 || minor !== 0) fail(`format version ${major}.${minor} is not 1.0, 2.0 or 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : fail('truncated header');
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLength > bytes.length) fail('the header runs past the end of the file');
  const headerBytes = bytes.subarray(headerStart, headerStart + headerLength);
  const header = major === 3 ? decodeUtf8(headerBytes) ?? fail('the header is not UTF-8') : latin1(headerBytes);
  if (header.length > MAX_HEADER_CHARS) fail(`the header has ${header.length} characters; numpy reads at most ${MAX_HEADER_CHARS}`);

  const { descr, fortranOrder, shape } = readHeader(header, fail);
  if (fortranOrder) fail('Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray');
  const reader = READERS[descr] ?? fail(`element type '${descr}' is not supported (use float32)`);
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
  return { array: { shape, data }, descr };
}

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return text;
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

type Literal = string | boolean | number[];

/**
 * Reads the header as numpy does (ast.literal_eval, then a check that it is a dict with
 * exactly the keys descr, fortran_order and shape; a key given twice keeps its last value),
 * for the forms of Python literal numpy and other writers produce: a dict of quoted
 * strings, True/False and tuples of whole numbers. A header that numpy would reject, or
 * that uses any other Python syntax (comments, escapes, hex numbers, nested parentheses),
 * is refused: qlstm never reads a header differently from numpy.
 */
function readHeader(header: string, fail: (problem: string) => never): { descr: string; fortranOrder: boolean; shape: number[] } {
  const entries = parseDict(header, (problem) => fail(`the header is not the Python dict numpy writes: ${problem}`));
  const dict = new Map(entries); // later keys replace earlier ones, as in a Python dict display
  const keys = [...dict.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') {
    fail(`the header has keys ${keys.map((k) => JSON.stringify(k)).join(', ') || 'none'}; numpy expects exactly "descr", "fortran_order" and "shape"`);
  }
  const descr = dict.get('descr');
  const fortranOrder = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (typeof descr !== 'string') fail('the header\'s descr is not a string');
  if (typeof fortranOrder !== 'boolean') fail('the header\'s fortran_order is not True or False');
  if (!Array.isArray(shape)) fail('the header\'s shape is not a tuple of whole numbers');
  return { descr: descr as string, fortranOrder: fortranOrder as boolean, shape: shape as number[] };
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\f']);

function parseDict(text: string, fail: (problem: string) => never): [string, Literal][] {
  let at = 0;
  const where = () => (at < text.length ? `at character ${at} (${JSON.stringify(text[at])})` : 'at its end');
  const skip = () => {
    while (at < text.length && WHITESPACE.has(text[at]!)) at++;
  };
  const expect = (c: string) => {
    skip();
    if (text[at] !== c) fail(`expected ${JSON.stringify(c)} ${where()}`);
    at++;
  };
  const peek = () => {
    skip();
    return text[at];
  };
  const string = (): string => {
    skip();
    const quote = text[at];
    if (quote !== "'" && quote !== '"') return fail(`expected a quoted string ${where()}`);
    const end = text.indexOf(quote, at + 1);
    if (end < 0) return fail(`a string is not closed ${where()}`);
    const value = text.slice(at + 1, end);
    if (/[\\\n\r\0]/.test(value)) return fail(`a string holds an escape, a line break or NUL ${where()}`);
    at = end + 1;
    if (peek() === "'" || peek() === '"') fail(`adjacent strings ${where()}`);
    return value;
  };
  const wholeNumber = (): number => {
    skip();
    const match = /^(0|[1-9][0-9]{0,14})(?![0-9A-Za-z_.])/.exec(text.slice(at));
    if (!match) return fail(`expected a whole number (decimal, at most 15 digits) ${where()}`);
    at += match[0].length;
    return Number(match[1]);
  };
  const tuple = (): number[] => {
    expect('(');
    const items: number[] = [];
    let sawComma = false;
    while (peek() !== ')') {
      items.push(wholeNumber());
      if (peek() === ',') {
        at++;
        sawComma = true;
      } else if (peek() !== ')') {
        fail(`expected "," or ")" ${where()}`);
      }
    }
    at++;
    // (6) is the number 6 in Python, not a tuple: numpy refuses it as a shape.
    if (items.length === 1 && !sawComma) fail('the shape is a number in parentheses, not a tuple');
    return items;
  };
  const value = (): Literal => {
    const c = peek();
    if (c === "'" || c === '"') return string();
    if (c === '(') return tuple();
    for (const [word, meaning] of [['True', true], ['False', false]] as const) {
      if (text.startsWith(word, at) && !/[0-9A-Za-z_]/.test(text[at + word.length] ?? '')) {
        at += word.length;
        return meaning;
      }
    }
    return fail(`expected a string, True, False or a tuple ${where()}`);
  };

  expect('{');
  const entries: [string, Literal][] = [];
  while (peek() !== '}') {
    const key = string();
    expect(':');
    entries.push([key, value()]);
    if (peek() === ',') at++;
    else if (peek() !== '}') fail(`expected "," or "}" ${where()}`);
  }
  at++;
  skip();
  if (at !== text.length) fail(`unexpected text after the dict ${where()}`);
  return entries;
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
