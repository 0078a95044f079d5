import type { Value } from '../ir/graph.js';
import type { Tape } from '../ir/tape.js';
import { Tensor } from '../ir/tensor.js';
import { clipRange } from '../quant/range.js';
import type { RoundingMode } from '../quant/rounding.js';
import { quantizerForm, type QuantizerForm } from './quantizer-form.js';

/** A quantizer to write: per tensor (numbers) or, for standalone Quant nodes, tensors in their own shape. */
export interface QuantizerSpec {
  scale: { dims: number[]; values: ArrayLike<number> };
  zeroPoint: { dims: number[]; values: ArrayLike<number> };
  bits: number;
  signed: boolean;
  min: number;
  max: number;
  rounding: RoundingMode;
}

/** A per-tensor quantizer as a spec. */
export function scalarSpec(q: { scale: number; zeroPoint: number; bitWidth: number; signed: boolean; min: number; max: number; rounding: RoundingMode }): QuantizerSpec {
  return { scale: { dims: [], values: [q.scale] }, zeroPoint: { dims: [], values: [q.zeroPoint] }, bits: q.bitWidth, signed: q.signed, min: q.min, max: q.max, rounding: q.rounding };
}

/** The constants of one quantizer, created once and shared by each place it is applied. */
export interface PreparedQuantizer {
  form: QuantizerForm;
  scale: Value;
  zeroPoint?: Value;
  clip?: { min: Value; max: Value };
  /** constants the rounding operators need (0.5, 0) */
  half?: Value;
  zero?: Value;
  rounding: RoundingMode;
}

export function prepareQuantizer(tape: Tape, label: string, q: QuantizerSpec, fusionSafe: boolean): PreparedQuantizer {
  const single = q.scale.values.length === 1 && q.zeroPoint.values.length === 1;
  const zeroPointIsZero = Array.from(q.zeroPoint.values).every((z) => z === 0);
  const form = quantizerForm({ bits: q.bits, rounding: q.rounding, zeroPointIsZero, perTensor: single, scale: q.scale.values[0]!, fusionSafe });
  if (form === 'qdq') {
    const ints = (values: number[]) => (q.signed ? Tensor.int8([], values) : Tensor.uint8([], values));
    const range = clipRange(q);
    return {
      form,
      rounding: q.rounding,
      scale: tape.constant(`${label}/scale`, Tensor.float32([], [q.scale.values[0]!])),
      zeroPoint: tape.constant(`${label}/zero_point`, ints([0])),
      ...(range ? { clip: { min: tape.constant(`${label}/clip_min`, ints([range.min])), max: tape.constant(`${label}/clip_max`, ints([range.max])) } } : {}),
    };
  }
  const float = (name: string, values: number[]) => tape.constant(`${label}/${name}`, Tensor.float32([], values));
  const needsHalf = q.rounding === 'HALF_UP' || q.rounding === 'HALF_DOWN' || q.rounding === 'DPU';
  return {
    form,
    rounding: q.rounding,
    scale: tape.constant(`${label}/scale`, Tensor.float32(q.scale.dims, q.scale.values)),
    ...(zeroPointIsZero ? {} : { zeroPoint: tape.constant(`${label}/zero_point`, Tensor.float32(q.zeroPoint.dims, q.zeroPoint.values)) }),
    // The bounds as float32 values, exactly as Brevitas' and qonnx's float32 clamp compares them.
    clip: { min: float('clip_min', [Math.fround(q.min)]), max: float('clip_max', [Math.fround(q.max)]) },
    ...(needsHalf ? { half: float('half', [0.5]) } : {}),
    ...(q.rounding === 'DPU' ? { zero: float('zero', [0]) } : {}),
  };
}

/**
 * v -> Q(v). QDQ: DequantizeLinear(Clip(QuantizeLinear(v))). Float: (clamp(round_mode(v / s + zp),
 * min, max) - zp) * s, each step one float32 operator, in Brevitas' order.
 */
export function applyQuantizer(tape: Tape, v: Value, p: PreparedQuantizer, label: string, into?: Value): Value {
  const t = tape.scoped(label);
  const last = (opType: string, inputs: Value[], name: string): Value =>
    into ? (t.opInto(opType, inputs, [into], [], name), into) : t.op(opType, inputs, [], name);
  if (p.form === 'qdq') {
    let q = t.op('QuantizeLinear', [v, p.scale, p.zeroPoint!], [], 'QuantizeLinear');
    if (p.clip) q = t.op('Clip', [q, p.clip.min, p.clip.max], [], 'Clip');
    return last('DequantizeLinear', [q, p.scale, p.zeroPoint!], 'DequantizeLinear');
  }
  let y = t.op('Div', [v, p.scale], [], 'divide_by_scale');
  if (p.zeroPoint) y = t.op('Add', [y, p.zeroPoint], [], 'add_zero_point');
  y = t.op('Clip', [rounded(t, y, p), p.clip!.min, p.clip!.max], [], 'clamp');
  if (p.zeroPoint) y = t.op('Sub', [y, p.zeroPoint], [], 'subtract_zero_point');
  return last('Mul', [y, p.scale], 'times_scale');
}

function rounded(t: Tape, y: Value, p: PreparedQuantizer): Value {
  const signed = (magnitude: (abs: Value) => Value) => t.op('Mul', [t.op('Sign', [y], [], 'sign'), magnitude(t.op('Abs', [y], [], 'abs'))], [], 'signed_magnitude');
  switch (p.rounding) {
    case 'ROUND':
    case 'HALF_EVEN':
      return t.op('Round', [y], [], 'round_half_even');
    case 'FLOOR':
      return t.op('Floor', [y], [], 'floor');
    case 'CEIL':
      return t.op('Ceil', [y], [], 'ceil');
    case 'ROUND_TO_ZERO':
    case 'DOWN':
      return signed((abs) => t.op('Floor', [abs], [], 'floor'));
    case 'UP':
      return signed((abs) => t.op('Ceil', [abs], [], 'ceil'));
    case 'HALF_UP':
      return signed((abs) => t.op('Floor', [t.op('Add', [abs, p.half!], [], 'plus_half')], [], 'floor'));
    case 'HALF_DOWN':
      return signed((abs) => t.op('Ceil', [t.op('Sub', [abs, p.half!], [], 'minus_half')], [], 'ceil'));
    case 'DPU': {
      const fraction = t.op('Sub', [y, t.op('Floor', [y], [], 'floor')], [], 'fraction');
      const negativeHalf = t.op('And', [t.op('Less', [y, p.zero!], [], 'negative'), t.op('Equal', [fraction, p.half!], [], 'is_half')], [], 'negative_half');
      return t.op('Where', [negativeHalf, t.op('Ceil', [y], [], 'ceil'), t.op('Round', [y], [], 'round_half_even')], [], 'dpu_round');
    }
  }
}
