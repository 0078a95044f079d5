import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attr } from '../src/ir/attribute.js';
import { mapOutputsToCells } from '../src/verify/output-map.js';
import { Tensor, TinyModel } from './helpers/tiny-model.js';

/**
 * A stand-in for a converted model: three "cell outputs" (made by Identity nodes, which the
 * mapping cuts away) feeding the kinds of tails graphs have.
 */
function model() {
  const tiny = new TinyModel(14);
  const x = tiny.input('x', [2, 1, 3]);
  const s = tiny.input('s', [1, 3]);
  const [all] = tiny.node('Identity', [x]);
  const [last] = tiny.node('Identity', [s]);
  const [cell] = tiny.node('Identity', [s]);
  const [stacked] = tiny.node('Concat', [all!, all!], [attr.int('axis', 2)]);
  const [swapped] = tiny.node('Transpose', [all!], [attr.ints('perm', [1, 0, 2])]);
  const [absolute] = tiny.node('Abs', [all!]);
  const [scaled] = tiny.node('Mul', [last!, tiny.constant(Tensor.float32([], [2]))]);
  const [h] = tiny.node('Unsqueeze', [last!, tiny.constant(Tensor.int64([1], [0]))]);
  for (const v of [stacked!, swapped!, absolute!, scaled!, h!]) tiny.output(v);
  return { model: tiny.model, names: [all!.name, last!.name, cell!.name] as [string, string, string], outputs: [stacked!, swapped!, absolute!, scaled!, h!].map((v) => v.name) };
}

describe('which output elements copy which cell-output elements', () => {
  it('follows concat, transpose and unsqueeze; a computed output (even one that keeps the magnitude) maps to nothing', async () => {
    const { model: m, names, outputs } = model();
    const values = { [names[0]]: { shape: [2, 1, 3], data: new Float32Array(6) }, [names[1]]: { shape: [1, 3], data: new Float32Array(3) }, [names[2]]: { shape: [1, 3], data: new Float32Array(3) } };
    const feeds = { x: { shape: [2, 1, 3], data: new Float32Array(6) }, s: { shape: [1, 3], data: new Float32Array(3) } };
    const maps = await mapOutputsToCells(m, [names], values, feeds, outputs);
    assert.ok(typeof maps !== 'string', String(maps));
    const [stacked, swapped, absolute, scaled, h] = outputs.map((n) => maps.get(n)!);
    // [2,1,6]: each step's 3 units, twice
    assert.deepEqual(Array.from(stacked!.position), [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    assert.ok(Array.from(stacked!.cell).every((c) => c === 0) && Array.from(stacked!.which).every((w) => w === 0));
    // [1,2,3] after the transpose is the same order here (batch 1)
    assert.deepEqual(Array.from(swapped!.position), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(Array.from(absolute!.cell), [-1, -1, -1, -1, -1, -1]);
    assert.deepEqual(Array.from(scaled!.cell), [-1, -1, -1]);
    assert.deepEqual([Array.from(h!.cell), Array.from(h!.which), Array.from(h!.position)], [[0, 0, 0], [1, 1, 1], [0, 1, 2]]);
  });
});
