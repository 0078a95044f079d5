import type { NdArray } from '../run/npy.js';
import { hiddenPosition, placeOf, sameValue, type CellShape } from './elements.js';
import type { DescribedCell } from './metadata.js';
import type { ElementMap } from './output-map.js';

export function cellShape(c: DescribedCell, got: Record<string, NdArray>): CellShape {
  const x = got[c.boundary.input]!;
  const [steps, batch] = c.cell.batchFirst ? [x.shape[1] ?? 0, x.shape[0] ?? 0] : [x.shape[0] ?? 0, x.shape[1] ?? 0];
  return { steps, batch, hidden: c.cell.hiddenSize, batchFirst: c.cell.batchFirst };
}

/** The goldens laid out as each cell's outputs, for cells whose hidden states are all among them. */
export interface GoldenCells {
  cells: ({ hidden: NdArray; lastCell: Float32Array | undefined } | null)[];
}

export function goldenCells(cells: readonly DescribedCell[], maps: Map<string, ElementMap>, expected: Map<string, NdArray>, got: Record<string, NdArray>): GoldenCells {
  const assembled = cells.map((c) => c.boundary.outputs.map((n) => ({ data: new Float32Array(got[n]!.data.length), seen: new Uint8Array(got[n]!.data.length) })));
  const conflicting = new Set<number>();
  for (const [name, map] of maps) {
    const values = expected.get(name)!.data;
    for (let e = 0; e < map.cell.length; e++) {
      const k = map.cell[e]!;
      if (k < 0) continue;
      const target = assembled[k]![map.which[e]!]!;
      const p = map.position[e]!;
      if (target.seen[p] && !sameValue(target.data[p]!, values[e]!)) conflicting.add(k);
      target.data[p] = values[e]!;
      target.seen[p] = 1;
    }
  }
  return {
    cells: cells.map((c, k) => {
      const [hidden, last, cell] = assembled[k]!;
      if (conflicting.has(k) || hidden!.seen.includes(0)) return null;
      // the expected last hidden state must be the expected hidden states' last step
      const shape = cellShape(c, got);
      const finalStep = c.cell.reverse ? 0 : shape.steps - 1;
      for (let p = 0; p < last!.seen.length; p++) {
        if (!last!.seen[p]) continue;
        const { batch, unit } = placeOf(shape, 1, p);
        if (!sameValue(last!.data[p]!, hidden!.data[hiddenPosition(shape, finalStep, batch, unit)]!)) return null;
      }
      return {
        hidden: { shape: got[c.boundary.outputs[0]]!.shape, data: hidden!.data },
        lastCell: cell!.seen.includes(0) ? undefined : cell!.data,
      };
    }),
  };
}

