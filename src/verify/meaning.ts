import type { CellSummary } from '../describe.js';
import type { Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { OutputMeaning } from './compare.js';

/** Ops that move or stack values without computing new ones. */
const SHAPE_OPS = new Set(['Identity', 'Unsqueeze', 'Squeeze', 'Concat', 'Reshape', 'Flatten', 'Transpose', 'Gather', 'Slice', 'Split']);

interface CellOutputRef {
  cell: CellSummary;
  /** 0: all hidden states, 1: last hidden state, 2: last cell state */
  which: number;
}

/**
 * What each graph output is, traced back through shape-only ops to the cells' outputs: its
 * LSB (the finest of the quantizers that produced it) and its axes. Outputs computed by
 * anything else (a float head, say) have no LSB.
 */
export function outputMeanings(model: Model, cells: readonly CellSummary[]): Map<string, OutputMeaning> {
  const byName = new Map<string, CellOutputRef>();
  for (const cell of cells) cell.outputs.forEach((name, which) => byName.set(name, { cell, which }));
  const meanings = new Map<string, OutputMeaning>();
  for (const output of model.graph.outputs) {
    const refs = trace(output, byName, new Set());
    meanings.set(output.name, refs ? meaningOf(refs, rankOf(output)) : { lsb: null, axes: null });
  }
  return meanings;
}

function trace(value: Value, byName: Map<string, CellOutputRef>, seen: Set<Value>): CellOutputRef[] | null {
  const ref = byName.get(value.name);
  if (ref) return [ref];
  if (seen.has(value)) return [];
  seen.add(value);
  const producer = value.producer;
  if (!producer || !SHAPE_OPS.has(producer.opType) || producer.domain !== '') return null;
  const sources = producer.opType === 'Concat' ? producer.inputs : [producer.input(0)];
  const found: CellOutputRef[] = [];
  for (const source of sources) {
    if (!source) continue;
    const refs = trace(source, byName, seen);
    if (!refs) return null;
    found.push(...refs);
  }
  return found.length ? found : null;
}

function meaningOf(refs: CellOutputRef[], rank: number | undefined): OutputMeaning {
  const lsb = Math.min(...refs.map((r) => (r.which === 2 ? r.cell.quantizers.cell_state.scale : r.cell.quantizers.output.scale)));
  let axes: string[] | null = null;
  if (refs.every((r) => r.which === 0) && rank === 3) {
    axes = refs[0]!.cell.batchFirst ? ['batch', 'time', 'unit'] : ['time', 'batch', 'unit'];
  } else if (refs.every((r) => r.which !== 0)) {
    axes = rank === 3 ? ['layer', 'batch', 'unit'] : rank === 2 ? ['batch', 'unit'] : null;
  }
  return { lsb, axes };
}

function rankOf(value: Value): number | undefined {
  const type = value.info.type;
  return type?.kind === 'tensor' ? type.shape?.length : undefined;
}
