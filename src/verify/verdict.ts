import type { TrajectoryReport } from '../reference/types.js';
import { onnxruntimeVersion } from '../run/session.js';
import { VERSION } from '../version.js';
import { REPORT_VERSION, type CellCheck, type Tolerance, type VerifyReport } from './report.js';

/** The fields every report starts with: schema, versions, mode and settings. */
export async function reportHeader(
  mode: VerifyReport['mode'],
  model: string,
  strict: boolean,
  tolerance: VerifyReport['tolerance'],
  original?: string,
): Promise<Pick<VerifyReport, 'version' | 'qlstm' | 'onnxruntime' | 'mode' | 'model' | 'original' | 'strict' | 'tolerance'>> {
  return {
    version: REPORT_VERSION,
    qlstm: VERSION,
    onnxruntime: await onnxruntimeVersion(),
    mode,
    model,
    ...(original === undefined ? {} : { original }),
    strict,
    tolerance,
  };
}

/** A trajectory report as the verify report carries it: consistent when nothing is unexplained. */
export function cellCheck(cell: string, followed: CellCheck['followed'], report: TrajectoryReport): CellCheck {
  return {
    cell,
    followed,
    elements: report.elements,
    nominal: report.nominal,
    ties: report.ties,
    tieSamples: report.tieSamples.map((s) => ({ ...s, cell })),
    unexplained: report.unexplained,
    unexplainedSamples: report.unexplainedSamples.map((s) => ({ ...s, cell })),
    lastCell: report.lastCell,
    certifiedTies: report.certifiedTies,
    candidateCapHits: report.candidateCapHits,
    consistent: report.unexplained === 0 && report.lastCell !== 'inconsistent',
  };
}

export type { Tolerance };
