import type { OptimizationLevel } from '../run/session.js';
import type { OutputReport, Tolerance } from './compare.js';

export interface LevelReport {
  level: OptimizationLevel;
  outputs: OutputReport[];
  passed: boolean;
}

export interface VerifyReport {
  mode: 'golden' | 'reference';
  model: string;
  /** reference mode: the Brevitas export the converted model is checked against */
  original?: string;
  tolerance: Tolerance;
  levels: LevelReport[];
  passed: boolean;
}

export function levelReport(level: OptimizationLevel, outputs: OutputReport[]): LevelReport {
  return { level, outputs, passed: outputs.every((o) => o.passed) };
}
