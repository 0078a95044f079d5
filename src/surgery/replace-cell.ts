import type { Model } from '../ir/model.js';
import type { NameAuthority } from '../ir/names.js';
import { Tape } from '../ir/tape.js';
import { buildCellScan, type CellParameters, type ScanOptions } from '../scan/scan.js';
import type { CellDescription } from '../recognize/description.js';

/**
 * Swaps one recognised cell for its Scan: the cell is detached from its inputs, the Scan is
 * written between the same boundary tensors. Whatever only fed the cell (its weight chains,
 * its parameters) is left for the conversion's one dead-node pass to remove.
 */
export function replaceCell(model: Model, cell: CellDescription, names: NameAuthority, options: ScanOptions): CellParameters {
  const graph = model.graph;
  const prefix = cell.node.name || `qlstm_cell${cell.index}`;
  graph.nodes.splice(graph.nodes.indexOf(cell.node), 1);
  cell.node.detach();

  const tape = new Tape(names, prefix);
  const parameters = buildCellScan(cell, tape, names, options);
  tape.commitTo(graph);
  return parameters;
}
