import { canFuse } from './scan/body-fused.js';
import type { Layout } from './scan/scan.js';
import { CELLS_METADATA_KEY, summarizeCell, type CellSummary } from './describe.js';
import { InputError, UnsupportedModelError } from './errors.js';
import { findCycle, removeUnusedInitializers, toposort } from './ir/cleanup.js';
import type { Model } from './ir/model.js';
import { NameAuthority } from './ir/names.js';
import { Tape } from './ir/tape.js';
import { isQuantNode, planQuantLowering, QUANT_DOMAIN, type QuantPlan } from './recognize/quant-node.js';
import { lowerQuantNode } from './surgery/lower-quant.js';
import { decodeModelProto } from './onnx/codec.js';
import { exportModel } from './onnx/export.js';
import { loadExternalData } from './onnx/external-data.js';
import { importModel } from './onnx/import.js';
import { CELL_DOMAINS, CELL_OP, isCellNode, recognizeCells } from './recognize/cell.js';
import type { CellDescription } from './recognize/description.js';
import { dropUnusedDomains } from './surgery/domains.js';
import { relaxSequenceShapes } from './surgery/dynamic-shapes.js';
import { removeInitializersFromInputs } from './surgery/graph-inputs.js';
import { replaceCell } from './surgery/replace-cell.js';

export const MIN_OPSET = 13;

export interface ConvertOptions {
  layout?: Layout;
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
 * Rewrites every QuantLSTMCell of `model` (in place) as a standard-ONNX Scan. All cells are
 * recognised and checked before anything changes: on error the model is untouched.
 */
export function convertModel(model: Model, options: ConvertOptions = {}): ConversionResult {
  const cycle = findCycle(model.graph);
  if (cycle) throw new InputError(`the graph has a cycle through node ${cycle.label()}`, { file: model.source });
  const quantPlans = model.graph.nodes.filter(isQuantNode).map((node) => planQuantLowering(model.source, node));
  const cells = recognizeCells(model);
  if (cells.length === 0) {
    throw new UnsupportedModelError(`has no ${CELL_OP} node (domains ${CELL_DOMAINS.join(', ')}): nothing to convert`, {
      file: model.source,
    });
  }
  const opset = model.opsetVersion('');
  if (opset === undefined || opset < MIN_OPSET) {
    throw new UnsupportedModelError(
      `imports ONNX opset ${opset ?? 'none'}; qlstm needs ${MIN_OPSET} or later (per-axis DequantizeLinear)`,
      { file: model.source },
    );
  }
  const foreign = model.graph.nodes.filter((n) => n.domain !== '' && n.domain !== 'ai.onnx' && !isCellNode(n) && !isQuantNode(n));
  if (foreign.length) {
    const list = foreign.slice(0, 3).map((n) => `${n.label()} (${n.domain}::${n.opType})`).join(', ');
    throw new UnsupportedModelError(
      `has ${foreign.length} node(s) of custom domains that no runtime executes and qlstm does not lower: ${list}${foreign.length > 3 ? ', ...' : ''}`,
      { file: model.source },
    );
  }
  const requested = options.layout ?? 'fused';
  const plan = cells.map((description) => ({
    description,
    layout: requested === 'fused' && !canFuse(description) ? ('plain' as const) : requested,
  }));

  const names = new NameAuthority(model);
  removeInitializersFromInputs(model.graph);
  for (const { description, layout } of plan) replaceCell(model, description, names, layout);
  // Quant nodes that fed only the cells' weights went with them; the others become QDQ.
  for (const quant of quantPlans.filter((p) => model.graph.nodes.includes(p.node))) lowerInPlace(model, quant, names);
  removeUnusedInitializers(model.graph);
  dropUnusedDomains(model, [...CELL_DOMAINS, QUANT_DOMAIN]);
  relaxSequenceShapes(cells);
  toposort(model.graph);
  model.setMetadata(CELLS_METADATA_KEY, JSON.stringify(plan.map((c) => summarizeCell(c.description, c.layout))));
  return { model, cells: plan };
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

function lowerInPlace(model: Model, plan: QuantPlan, names: NameAuthority): void {
  const graph = model.graph;
  graph.nodes.splice(graph.nodes.indexOf(plan.node), 1);
  const tape = new Tape(names, plan.node.name || 'Quant');
  lowerQuantNode(plan, tape);
  tape.commitTo(graph);
}
