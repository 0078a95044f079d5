/** The integer range of a quantizer, as Brevitas and qonnx define it from bit width, sign and narrow range. */
export function integerRange(bitWidth: number, signed: boolean, narrow: boolean): { min: number; max: number } {
  if (signed) {
    const half = 2 ** (bitWidth - 1);
    return { min: narrow ? -half + 1 : -half, max: half - 1 };
  }
  return { min: 0, max: narrow ? 2 ** bitWidth - 2 : 2 ** bitWidth - 1 };
}

/** The integer type QuantizeLinear stores a quantizer of 8 bits or fewer in, and its range. */
function storageOf(q: { signed: boolean }): { signed: boolean; min: number; max: number } {
  return q.signed ? { signed: true, min: -128, max: 127 } : { signed: false, min: 0, max: 255 };
}

/** Clip bounds for a QuantizeLinear quantizer, or none when its range is the whole int8/uint8 range. */
export function clipRange(q: { signed: boolean; min: number; max: number }): { min: number; max: number } | undefined {
  const storage = storageOf(q);
  return q.min > storage.min || q.max < storage.max ? { min: q.min, max: q.max } : undefined;
}
