import { InputError, type ErrorLocation } from '../errors.js';
import { byteSize, DataType, dataTypeName } from './data-type.js';

/**
 * Where a tensor's elements are stored, exactly as the file stored them, so that a tensor
 * qlstm does not touch is written back unchanged.
 */
export type TensorStorage =
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'float'; values: number[] }
  | { kind: 'int32'; values: number[] }
  | { kind: 'int64'; values: bigint[] }
  | { kind: 'double'; values: number[] }
  | { kind: 'uint64'; values: bigint[] }
  | { kind: 'string'; values: Uint8Array[] }
  /** Data in a separate file (TensorProto.external_data), as the file says; nothing checked or read yet. */
  | { kind: 'external'; entries: [string, string][] }
  /**
   * External data that was checked when the model was read (inside the model's folder, a
   * regular file, offset and length agreeing with the shape) and is read from its file only
   * when first needed, so a tensor the conversion drops is never read. `read` throws an
   * InputError naming the file and tensor if the file changed since.
   */
  | { kind: 'deferred'; byteLength: number; read: () => Uint8Array }
  | { kind: 'none' };

/** Fields of TensorProto that qlstm carries along without interpreting. */
export interface TensorExtras {
  docString?: string;
  metadataProps?: [string, string][];
  segment?: { begin?: bigint; end?: bigint };
  /** data_location when the file set it to DEFAULT explicitly */
  dataLocation?: number;
  /** external_data entries on a tensor whose data is not external */
  externalData?: [string, string][];
}

/** Largest tensor qlstm will materialise: 2^31 elements, far above any LSTM weight. */
export const MAX_ELEMENTS = 2 ** 31;

export function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const d of dims) count *= d;
  return count;
}

export class Tensor {
  constructor(
    readonly dataType: number,
    readonly dims: readonly number[],
    readonly storage: TensorStorage,
    public name: string | undefined = undefined,
    readonly extras: TensorExtras = {},
  ) {}

  get size(): number {
    return elementCount(this.dims);
  }

  /** A float tensor; a Float32Array is used as it is, not copied. */
  static float32(dims: readonly number[], values: ArrayLike<number>): Tensor {
    return Tensor.fromTyped(DataType.FLOAT, dims, values instanceof Float32Array ? values : Float32Array.from(values));
  }

  /** An int8 tensor; an Int8Array is used as it is, not copied. */
  static int8(dims: readonly number[], values: ArrayLike<number>): Tensor {
    return Tensor.fromTyped(DataType.INT8, dims, values instanceof Int8Array ? values : Int8Array.from(values));
  }

  /** A uint8 tensor; a Uint8Array is used as it is, not copied. */
  static uint8(dims: readonly number[], values: ArrayLike<number>): Tensor {
    return Tensor.fromTyped(DataType.UINT8, dims, values instanceof Uint8Array && !(values instanceof Buffer) ? values : Uint8Array.from(values));
  }

  static int64(dims: readonly number[], values: readonly (number | bigint)[]): Tensor {
    return Tensor.fromTyped(DataType.INT64, dims, BigInt64Array.from(values, (v) => BigInt(v)));
  }

  private static fromTyped(dataType: number, dims: readonly number[], typed: ArrayBufferView): Tensor {
    const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    return new Tensor(dataType, [...dims], { kind: 'raw', bytes });
  }

  /** The bytes of a tensor stored as raw data (reading deferred external data now); undefined for other storage. */
  rawBytes(): Uint8Array | undefined {
    const storage = this.storage;
    if (storage.kind === 'raw') return storage.bytes;
    if (storage.kind === 'deferred') return storage.read();
    return undefined;
  }

  /** Bytes of raw data held (inline or deferred to a file); undefined for other storage. */
  get storedRawLength(): number | undefined {
    const storage = this.storage;
    return storage.kind === 'raw' ? storage.bytes.length : storage.kind === 'deferred' ? storage.byteLength : undefined;
  }

  /** The elements as float32; only for FLOAT tensors. */
  float32(at: ErrorLocation = {}): Float32Array {
    if (this.dataType !== DataType.FLOAT) {
      throw new InputError(`expected a float tensor, found ${dataTypeName(this.dataType)}`, at);
    }
    const values = this.numbers(at);
    return values instanceof Float32Array ? values : Float32Array.from(values);
  }

  /**
   * The elements as numbers, for every numeric type qlstm reads. Checks that the stored data
   * has exactly as many elements as the dims promise before allocating anything.
   * Always a fresh array, which the caller may change.
   */
  numbers(at: ErrorLocation = {}): Float32Array | Float64Array | Int32Array | Uint32Array | Int8Array | Uint8Array | Int16Array | Uint16Array {
    const what = `tensor "${this.name ?? ''}" (${dataTypeName(this.dataType)}, shape [${this.dims.join(', ')}])`;
    const fail = (problem: string): never => {
      throw new InputError(`${what}: ${problem}`, at);
    };
    const count = this.size;
    if (!Number.isSafeInteger(count) || count > MAX_ELEMENTS) fail('too many elements');
    const storage = this.storage;
    if (storage.kind === 'raw' || storage.kind === 'deferred') {
      const width = byteSize(this.dataType) ?? fail('element type not supported');
      const length = this.storedRawLength!;
      if (length !== count * width) fail(`raw data holds ${length} bytes, the shape needs ${count * width}`);
      return decodeRaw(this.dataType, this.rawBytes()!, count, fail) ?? fail('element type not supported');
    }
    if (storage.kind === 'none') {
      if (count !== 0) fail('has no data');
      return new Float64Array(0);
    }
    if (storage.kind === 'string') return fail('holds strings, not numbers');
    if (storage.kind === 'external') return fail('its external data was not loaded');
    if (storage.values.length !== count) {
      fail(`holds ${storage.values.length} elements, the shape needs ${count}`);
    }
    if (storage.kind === 'int64' || storage.kind === 'uint64') {
      return Float64Array.from(storage.values, (v) => {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : fail(`element ${v} is not exactly representable`);
      });
    }
    if (storage.kind === 'float') return Float32Array.from(storage.values);
    if (storage.kind === 'int32' && this.dataType === DataType.FLOAT16) fail('float16 data is not supported');
    return Float64Array.from(storage.values);
  }
}

function decodeRaw(dataType: number, bytes: Uint8Array, count: number, fail: (problem: string) => never) {
  // A copy (new Uint8Array copies even a Buffer, whose slice() would not): raw data inside a
  // decoded file is a view into the whole file, not necessarily aligned for typed arrays.
  const buffer = new Uint8Array(bytes).buffer;
  switch (dataType) {
    case DataType.FLOAT:
      return new Float32Array(buffer, 0, count);
    case DataType.DOUBLE:
      return new Float64Array(buffer, 0, count);
    case DataType.INT8:
      return new Int8Array(buffer, 0, count);
    case DataType.UINT8:
    case DataType.BOOL:
      return new Uint8Array(buffer, 0, count);
    case DataType.INT16:
      return new Int16Array(buffer, 0, count);
    case DataType.UINT16:
      return new Uint16Array(buffer, 0, count);
    case DataType.INT32:
      return new Int32Array(buffer, 0, count);
    case DataType.UINT32:
      return new Uint32Array(buffer, 0, count);
    case DataType.INT64:
    case DataType.UINT64: {
      const wide = dataType === DataType.INT64 ? new BigInt64Array(buffer, 0, count) : new BigUint64Array(buffer, 0, count);
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const n = Number(wide[i]);
        out[i] = Number.isSafeInteger(n) ? n : fail(`element ${wide[i]} is not exactly representable`);
      }
      return out;
    }
    default:
      return undefined;
  }
}
