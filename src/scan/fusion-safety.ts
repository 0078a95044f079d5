/**
 * Scales for which the QDQ form is used. onnxruntime fuses `DequantizeLinear -> Sigmoid ->
 * QuantizeLinear` into QLinearSigmoid, whose lookup table is proven exact for every code over
 * this range by test/ort-kernels.test.ts; outside it the float form is written instead.
 */
export const MIN_QDQ_SCALE = 2 ** -24;
export const MAX_QDQ_SCALE = 2 ** 8;
