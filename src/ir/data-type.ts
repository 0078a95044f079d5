/** ONNX tensor element types (TensorProto.DataType), by their numbers in the specification (ONNX 1.23). */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
  FLOAT6E2M3: 27,
  FLOAT6E3M2: 28,
} as const;
export type DataType = number;

const NAMES = new Map<number, string>(Object.entries(DataType).map(([name, code]) => [code, name]));

export function dataTypeName(dataType: number): string {
  return NAMES.get(dataType)?.toLowerCase() ?? `data type ${dataType}`;
}

/** Bits per element in raw_data, for every fixed-width type (all but UNDEFINED and STRING). */
const BIT_WIDTH: Record<number, number> = {
  [DataType.FLOAT]: 32,
  [DataType.UINT8]: 8,
  [DataType.INT8]: 8,
  [DataType.UINT16]: 16,
  [DataType.INT16]: 16,
  [DataType.INT32]: 32,
  [DataType.INT64]: 64,
  [DataType.BOOL]: 8,
  [DataType.FLOAT16]: 16,
  [DataType.DOUBLE]: 64,
  [DataType.UINT32]: 32,
  [DataType.UINT64]: 64,
  [DataType.COMPLEX64]: 64,
  [DataType.COMPLEX128]: 128,
  [DataType.BFLOAT16]: 16,
  [DataType.FLOAT8E4M3FN]: 8,
  [DataType.FLOAT8E4M3FNUZ]: 8,
  [DataType.FLOAT8E5M2]: 8,
  [DataType.FLOAT8E5M2FNUZ]: 8,
  [DataType.UINT4]: 4,
  [DataType.INT4]: 4,
  [DataType.FLOAT4E2M1]: 4,
  [DataType.FLOAT8E8M0]: 8,
  [DataType.UINT2]: 2,
  [DataType.INT2]: 2,
  [DataType.FLOAT6E2M3]: 6,
  [DataType.FLOAT6E3M2]: 6,
};

export function bitWidth(dataType: number): number | undefined {
  return BIT_WIDTH[dataType];
}

/** Bytes per element in raw_data; undefined for types narrower than a byte, and for strings. */
export function byteSize(dataType: number): number | undefined {
  const bits = BIT_WIDTH[dataType];
  return bits !== undefined && bits % 8 === 0 ? bits / 8 : undefined;
}

/**
 * The length of raw_data holding `count` elements: sub-byte types are packed (two 4-bit,
 * four 2-bit, four 6-bit elements in three bytes), the last byte padded with zeros.
 */
export function rawByteLength(dataType: number, count: number): number | undefined {
  const bits = BIT_WIDTH[dataType];
  return bits === undefined ? undefined : Math.ceil((bits * count) / 8);
}
