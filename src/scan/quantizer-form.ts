import { MAX_QDQ_SCALE, MIN_QDQ_SCALE } from './fusion-safety.js';

/** What decides how a quantizer is written. */
export interface FormInputs {
  bits: number;
  rounding: string;
  /** every zero point of the quantizer is 0 */
  zeroPointIsZero: boolean;
  /** scale and zero point are single values */
  perTensor: boolean;
  scale: number;
  /** false where onnxruntime would fuse a QDQ pair into a kernel that rounds differently (see docs/design.md) */
  fusionSafe: boolean;
}

export type QuantizerForm = 'qdq' | 'float';

/**
 * QuantizeLinear -> [Clip] -> DequantizeLinear where that computes Brevitas' arithmetic exactly
 * and no runtime rewrite of it changes a result; float32 Div / round / Clip / Mul elsewhere.
 */
export function quantizerForm(q: FormInputs): QuantizerForm {
  const qdq =
    q.bits <= 8 &&
    (q.rounding === 'ROUND' || q.rounding === 'HALF_EVEN') &&
    q.zeroPointIsZero &&
    q.perTensor &&
    q.fusionSafe &&
    q.scale >= MIN_QDQ_SCALE &&
    q.scale <= MAX_QDQ_SCALE;
  return qdq ? 'qdq' : 'float';
}
