import { realInputs, type Value } from '../../ir/graph.js';
import { cellSummariesOf, describeWeights, type CellSummary } from '../../describe.js';
import { dataTypeName } from '../../ir/data-type.js';
import type { Model } from '../../ir/model.js';
import { describeShape } from '../../ir/type-info.js';
import { NODE_NAME_LIMIT, printable } from '../../errors.js';
import { readModel } from '../../onnx/files.js';
import { QUANTIZER_NAMES } from '../../recognize/description.js';
import { json, style, type Output } from '../output.js';

export interface InspectCommandOptions {
  model: string;
  json: boolean;
}

export interface ModelDescription {
  model: string;
  kind: 'brevitas-export' | 'converted' | 'onnx';
  opsets: { domain: string; version: number }[];
  inputs: { name: string; type: string; shape: (number | string | null)[] | null }[];
  outputs: { name: string; type: string; shape: (number | string | null)[] | null }[];
  cells: CellSummary[];
}

export function describeModel(model: Model): ModelDescription {
  const { cells, converted } = cellSummariesOf(model);
  const port = (v: Value) => {
    const t = v.info.type;
    const tensor = t?.kind === 'tensor' ? t : undefined;
    return {
      name: v.name,
      type: tensor?.elemType !== undefined ? dataTypeName(tensor.elemType) : 'unknown',
      shape: tensor?.shape ? tensor.shape.map((d) => d.value ?? d.param ?? null) : null,
    };
  };
  return {
    model: model.source,
    kind: converted ? 'converted' : cells.length ? 'brevitas-export' : 'onnx',
    opsets: model.opsetImports.map((o) => ({ domain: o.domain || 'ai.onnx', version: Number(o.version ?? 0) })),
    inputs: realInputs(model.graph).map(port),
    outputs: model.graph.outputs.map(port),
    cells,
  };
}

/** Text from the model, shown on one line of its own (a name cannot forge a line). */
const t = (text: unknown) => printable(String(text), NODE_NAME_LIMIT);

export async function inspectCommand(options: InspectCommandOptions, io: Output): Promise<number> {
  const model = readModel(options.model);
  const description = describeModel(model);
  if (options.json) {
    io.out(json(description));
    return 0;
  }
  const kind = { 'brevitas-export': 'Brevitas export', converted: 'converted by qlstm', onnx: 'ONNX model without LSTM cells' }[description.kind];
  const lines = [`${style.strong(printable(options.model))}: ${kind}; opsets ${description.opsets.map((o) => `${t(o.domain)} ${o.version}`).join(', ')}`];
  for (const v of realInputs(model.graph)) lines.push(`  input  ${t(v.name)}: ${t(describeShape(v.info.type))}`);
  for (const v of model.graph.outputs) lines.push(`  output ${t(v.name)}: ${t(describeShape(v.info.type))}`);
  for (const cell of description.cells) lines.push(...describeCell(cell));
  io.out(lines.join('\n'));
  return 0;
}

function describeCell(c: CellSummary): string[] {
  const w = c.weights;
  const lines = [
    `  cell ${style.strong(t(c.name))} [${t(c.flavour)}${c.layout ? `, ${t(c.layout)} layout` : ''}]`,
    `    input ${c.inputSize}, hidden ${c.hiddenSize}, ${t(c.direction)}, ${c.batchFirst ? 'batch-first' : 'time-first'}, ${c.cifg ? 'CIFG' : 'no CIFG'}, ${c.bias ? 'bias' : 'no bias'}, initial state ${t(c.initialState)}`,
    `    weights: ${t(describeWeights(w, true))}`,
  ];
  const header = ['quantizer', 'scale', 'zero point', 'bits', 'signed', 'narrow', 'rounding'];
  const rows = QUANTIZER_NAMES.map((n) => {
    const q = c.quantizers[n];
    return [n, t(q.scale), t(q.zeroPoint), t(q.bits), q.signed ? 'yes' : 'no', q.narrow ? 'yes' : 'no', t(q.rounding)];
  });
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) lines.push('    ' + r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return lines;
}
