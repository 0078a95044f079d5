/**
 * Sigmoid and tanh as the reference sees them: the true value (computed in double, whose own
 * error, a few 1e-16 relative, is far below one float32 ulp) and the set of float32 values an
 * implementation may return, certified by a measured bound.
 */
import { down32, f32, ulp32, up32 } from './float32.js';

/**
 * Any implementation qlstm meets returns, for a float32 input x, a float32 within
 * ACTIVATION_ULPS * ulp32(max(|f(x)|, 1/2)) of the true f(x): float32 ulps of the output, where
 * outputs below 1/2 in magnitude count in ulps of 1/2 (2^-24). The floor is needed because
 * onnxruntime's MLAS kernels have an absolute, not a relative, error: its sigmoid returns
 * 1.5e-7 for sigmoid(-17.7) = 2.1e-8.
 *
 * Measured by `npm run bench:activation-error` (bench/activation-error.ts, bench/activation_error_torch.py)
 * over every float32 input with |x| <= 20, on the development machine (AMD EPYC, AVX2):
 *   onnxruntime 1.30 Sigmoid 2.99, Tanh 5.39;
 *   torch 2.13 sigmoid 0.99 (vectorised) / 0.79 (scalar), tanh 1.27 / 0.61 (see docs/notes/reference.md).
 * 8 covers the largest (5.39) with a margin of 1.5x.
 */
export const ACTIVATION_ULPS = 8;

export type ActivationKind = 'sigmoid' | 'tanh';

export function trueActivation(kind: ActivationKind, x: number): number {
  return kind === 'sigmoid' ? 1 / (1 + Math.exp(-x)) : Math.tanh(x);
}

/** The error unit of ACTIVATION_ULPS at a true value v. */
export function activationUnit(v: number): number {
  return ulp32(Math.max(Math.abs(v), 0.5));
}

/** [lowest, highest] float32 an implementation may return for f(x) (the bound's ends rounded inwards), and the nearest float32 to f(x). */
export function activationRange(kind: ActivationKind, x: number): { low: number; high: number; nearest: number } {
  const v = trueActivation(kind, x);
  const margin = ACTIVATION_ULPS * activationUnit(v) + 1e-14 * Math.abs(v);
  return { low: up32(v - margin), high: down32(v + margin), nearest: f32(v) };
}
