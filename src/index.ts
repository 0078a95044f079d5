/**
 * qlstm as a library. The core is pure (bytes or IR in, bytes or IR out); the helpers that
 * touch files are re-exported for convenience.
 */
export { convert, convertModel, type ConversionResult, type ConvertOptions, type ConvertedCell } from './convert.js';
export { cellSummariesOf, summarizeCell, CELLS_METADATA_KEY, type CellSummary, type QuantizerSummary } from './describe.js';
export { parseCellsMetadata, type CellsMetadata, type RecordedCell } from './metadata.js';
export { ExitCode, QlstmError, UsageError, InputError, UnsupportedModelError, InternalError, type ErrorLocation } from './errors.js';
export type { Layout } from './scan/scan.js';
export { Model } from './ir/model.js';
export { Graph, Node, Value } from './ir/graph.js';
export { Tensor } from './ir/tensor.js';
export { decodeModelProto } from './onnx/codec.js';
export { importModel } from './onnx/import.js';
export { exportModel } from './onnx/export.js';
export { readModel } from './onnx/files.js';
export { writeFileAtomic, type WriteOptions } from './cli/write-output.js';
export { recognizeCells } from './recognize/cell.js';
export type { CellDescription, Quantizer, CellWeight } from './recognize/description.js';
export { runReferenceCell, type ReferenceResult } from './reference/run.js';
export { referenceCellsOf } from './reference/from-export.js';
export { followTrajectory } from './reference/trajectory.js';
export type * from './reference/types.js';
export { parseNpy, formatNpy, type NdArray } from './run/npy.js';
export { openSession, OPTIMIZATION_LEVELS, type OptimizationLevel, type ModelOrigin } from './run/session.js';
export { verifyAgainstGoldens } from './verify/golden.js';
export { verifyAgainstReference } from './verify/reference-mode.js';
export type { VerifyReport } from './verify/report.js';
