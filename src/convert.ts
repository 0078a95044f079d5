import type { Layout } from './scan/scan.js';
import { summarizeCell, type CellSummary } from './describe.js';
import { InputError, UnsupportedModelError } from './errors.js';
import { deadNodes, findCycle, removeDeadNodes, removeStaleValueInfo, removeUnusedInitializers, toposort } from './ir/cleanup.js';
import type { Model } from './ir/model.js';
import { NameAuthority } from './ir/names.js';
import { Tape } from './ir/tape.js';
import { CELLS_METADATA_KEY, formatCellsMetadata, type RecordedCell } from './metadata.js';
import { decodeModelProto } from './onnx/codec.js';
import { exportModel } from './onnx/export.js';
import { loadExternalData } from './onnx/external-data.js';
import { importModel } from './onnx/import.js';
import { CELL_DOMAINS, CELL_OP, isCellNode, recognizeCells } from './recognize/cell.js';
import type { CellDescription } from './recognize/description.js';
import { sequenceAxes } from './recognize/sequence-axes.js';
import { isQuantNode, QUANT_DOMAINS, readQuantNode, type QuantPlan } from './recognize/quant-node.js';
import { dropUnusedDomains } from './surgery/domains.js';
import { relaxSequenceShapes } from './surgery/dynamic-shapes.js';
import { removeInitializersFromInputs } from './surgery/graph-inputs.js';
import { lowerQuantNode } from './surgery/lower-quant.js';
import { replaceCell } from './surgery/replace-cell.js';
import { VERSION } from './version.js';

export const MIN_OPSET = 13;

export interface ConvertOptions {
  layout?: Layout;
  /** keep the export's traced sequence length and batch (for FINN/qonnx); default: symbolic */
  staticShapes?: boolean;
}

export interface ConvertedCell {
  description: CellDescription;
  layout: Layout;
}

export interface ConversionResult {
  model: Model;
  cells: ConvertedCell[];
}

/**
 * Rewrites every QuantLSTMCell of `model` (in place) as a standard-ONNX Scan, and every qonnx
 * Quant node as QuantizeLinear/Clip/DequantizeLinear or its float form. All cells and Quant
 * nodes are recognised and checked before anything changes: on error the model is untouched.
 */
export function convertModel(model: Model, options: ConvertOptions = {}): ConversionResult {
  const cycle = findCycle(model.graph);
  if (cycle) throw new InputError(`the graph has a cycle through node ${cycle.label()}`, { file: model.source });
  const quantPlans = model.graph.nodes.filter(isQuantNode).map((node) => readQuantNode(model.source, node));
  const cells = recognizeCells(model);
  if (cells.length === 0) throw nothingToConvert(model);
  const opset = model.opsetVersion('');
  if (opset === undefined || opset < MIN_OPSET) {
    throw new UnsupportedModelError(`imports ONNX opset ${opset ?? 'none'}; qlstm needs ${MIN_OPSET} or later`, { file: model.source });
  }
  const foreign = model.graph.nodes.filter((n) => n.domain !== '' && n.domain !== 'ai.onnx' && !isCellNode(n) && !isQuantNode(n));
  if (foreign.length) {
    const list = foreign.slice(0, 3).map((n) => `${n.label()} (${n.domain}::${n.opType})`).join(', ');
    throw new UnsupportedModelError(
      `has ${foreign.length} node(s) of custom domains that no runtime executes and qlstm does not lower: ${list}${foreign.length > 3 ? ', ...' : ''}`,
      { file: model.source },
    );
  }
  const layout = options.layout ?? 'fused';
  const staticShapes = options.staticShapes ?? false;
  // Traced back through the export's own quantizers, before they are rewritten.
  const symbolicAxes = staticShapes ? new Map() : sequenceAxes(cells);

  const names = new NameAuthority(model);
  const alreadyDead = deadNodes(model.graph);
  removeInitializersFromInputs(model.graph);
  const recorded: RecordedCell[] = [];
  for (const cell of cells) {
    const parameters = replaceCell(model, cell, names, { layout, staticShapes });
    recorded.push(recordCell(cell, layout, parameters));
  }
  // What fed only the cells goes (Quant nodes of their weights included); the Quant nodes left are lowered.
  removeDeadNodes(model.graph, alreadyDead);
  const live = new Set(model.graph.nodes);
  for (const quant of quantPlans.filter((p) => live.has(p.node))) lowerInPlace(model, quant, names);
  removeUnusedInitializers(model.graph);
  removeStaleValueInfo(model.graph);
  dropUnusedDomains(model, [...CELL_DOMAINS, ...QUANT_DOMAINS]);
  relaxSequenceShapes(symbolicAxes);
  toposort(model.graph);
  recordProducer(model);
  model.setMetadata(CELLS_METADATA_KEY, formatCellsMetadata({ version: 2, producer: `qlstm ${VERSION}`, cells: recorded }));
  return { model, cells: cells.map((description) => ({ description, layout })) };
}

/**
 * The library's front door: ONNX bytes in, converted ONNX bytes out. `source` names the
 * model in messages; `baseDir` is where its external data lives, if it has any.
 */
export function convert(bytes: Uint8Array, options: ConvertOptions & { source?: string; baseDir?: string } = {}): {
  bytes: Uint8Array;
  cells: CellSummary[];
} {
  const source = options.source ?? 'model';
  const model = importModel(decodeModelProto(bytes, source), source);
  if (options.baseDir !== undefined) loadExternalData(model, options.baseDir);
  const result = convertModel(model, options);
  return { bytes: exportModel(model), cells: result.cells.map((c) => summarizeCell(c.description, c.layout)) };
}

/** Why a model without QuantLSTMCell has nothing to convert, naming a standard LSTM if it has one. */
function nothingToConvert(model: Model): UnsupportedModelError {
  const lstm = model.graph.nodes.find((n) => n.opType === 'LSTM' && (n.domain === '' || n.domain === 'ai.onnx'));
  if (lstm) {
    return new UnsupportedModelError(
      `has no ${CELL_OP}: its LSTM ${lstm.label()} is the standard ONNX LSTM (Brevitas exports a QuantLSTM with only its weights quantized that way), which runtimes execute as it is; nothing to convert. Note that this export squeezes the wrong axis of the LSTM's outputs when batch > 1`,
      { file: model.source },
    );
  }
  return new UnsupportedModelError(`has no ${CELL_OP} node (domains ${CELL_DOMAINS.join(', ')}): nothing to convert`, { file: model.source });
}

function recordCell(cell: CellDescription, layout: Layout, parameters: RecordedCell['parameters']): RecordedCell {
  const state = (s: CellDescription['initialHidden']) => (s.kind === 'value' ? s.value.name : null);
  const summary = summarizeCell(cell, layout);
  return {
    ...summary,
    layout,
    values: { input: cell.input.name, initialHidden: state(cell.initialHidden), initialCell: state(cell.initialCell), outputs: summary.outputs },
    parameters,
  };
}

/** The converted model says what made it; the export's own producer is kept in the metadata. */
function recordProducer(model: Model): void {
  if (model.producerName && model.producerName !== 'qlstm') {
    model.setMetadata('qlstm.source_producer', `${model.producerName} ${model.producerVersion ?? ''}`.trim());
  }
  model.producerName = 'qlstm';
  model.producerVersion = VERSION;
}

function lowerInPlace(model: Model, plan: QuantPlan, names: NameAuthority): void {
  const graph = model.graph;
  graph.nodes.splice(graph.nodes.indexOf(plan.node), 1);
  const tape = new Tape(names, plan.node.name || 'Quant');
  lowerQuantNode(plan, tape);
  tape.commitTo(graph);
}
