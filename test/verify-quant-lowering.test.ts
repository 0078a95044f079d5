import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attr } from '../src/ir/attribute.js';
import { NameAuthority } from '../src/ir/names.js';
import { exportModel } from '../src/onnx/export.js';
import { lowerQuantNodes } from '../src/verify/quant-lowering.js';
import { runModel } from './helpers/corpus.js';
import { Tensor, TinyModel } from './helpers/tiny-model.js';

const f32 = Math.fround;

/** qonnx's int_quant (intquant.py) on float32 numpy arrays, one element at a time, written from its source. */
function qonnxQuant(x: number, scale: number, zp: number, bits: number, signed: boolean, narrow: boolean, mode: string): number {
  const s = f32(scale); // the scale is a float32 tensor
  const min = signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - (narrow ? 2 : 1);
  let y = f32(f32(x / s) + zp);
  y = y > max ? max : y < min ? min : y;
  const sign = Math.sign(y);
  const halfEven = (v: number) => {
    const r = Math.floor(v);
    const d = v - r;
    return d > 0.5 || (d === 0.5 && r % 2 !== 0) ? r + 1 : r;
  };
  const rounded: Record<string, () => number> = {
    ROUND: () => halfEven(y),
    HALF_EVEN: () => halfEven(y),
    CEIL: () => Math.ceil(y),
    FLOOR: () => Math.floor(y),
    UP: () => sign * Math.ceil(Math.abs(y)),
    DOWN: () => sign * Math.floor(Math.abs(y)),
    HALF_UP: () => sign * Math.floor(f32(Math.abs(y) + 0.5)),
    HALF_DOWN: () => sign * Math.ceil(f32(Math.abs(y) - 0.5)),
  };
  return f32(f32(rounded[mode]!() - zp) * s);
}

const MODES = ['ROUND', 'HALF_EVEN', 'CEIL', 'FLOOR', 'UP', 'DOWN', 'HALF_UP', 'HALF_DOWN'];
const SETTINGS = [
  { bits: 8, signed: true, narrow: false, zp: 0, scale: 0.25 },
  { bits: 4, signed: true, narrow: true, zp: -2, scale: 0.1 },
  { bits: 8, signed: false, narrow: false, zp: 3, scale: 0.037 },
  { bits: 6, signed: false, narrow: true, zp: 0, scale: 1.5 },
  { bits: 16, signed: true, narrow: false, zp: 5, scale: 0.0078125 },
];

/** Values on and between the codes: exact halves, their neighbours, and far outside the range. */
function samples(scale: number): Float32Array {
  const out: number[] = [];
  for (let k = -40; k <= 40; k++) {
    const half = f32((k + 0.5) * scale);
    out.push(f32(k * scale), half, f32(half * (1 + 2 ** -22)), f32(half * (1 - 2 ** -22)), f32((k + 0.3) * scale));
  }
  out.push(1e6, -1e6, 0, -0);
  return Float32Array.from(out);
}

describe("verify's own Quant lowering computes qonnx's Quant exactly", () => {
  for (const mode of MODES) {
    it(mode, async () => {
      for (const s of SETTINGS) {
        const tiny = new TinyModel(14, ['qonnx.custom_op.general']);
        const data = samples(s.scale);
        const x = tiny.input('x', [data.length]);
        const zero = tiny.constant(s.signed ? Tensor.int8([], [s.zp]) : Tensor.uint8([], [s.zp]));
        const [y] = tiny.node('Quant', [x, tiny.constant(Tensor.float32([], [s.scale])), zero, tiny.constant(Tensor.float32([], [s.bits]))], [
          attr.int('signed', s.signed ? 1 : 0),
          attr.int('narrow', s.narrow ? 1 : 0),
          { name: 'rounding_mode', value: { kind: 'string', value: new TextEncoder().encode(mode) } },
        ], 'qonnx.custom_op.general');
        tiny.output(y!, [data.length]);
        assert.equal(lowerQuantNodes(tiny.model, new NameAuthority(tiny.model)), null);
        tiny.model.opsetImports = tiny.model.opsetImports.filter((o) => o.domain !== 'qonnx.custom_op.general');
        const [got] = await runModel(exportModel(tiny.model), 'all', [{ shape: [data.length], data }]);
        const bad = Array.from(data).map((v, i) => [v, got!.data[i]!, qonnxQuant(v, s.scale, s.zp, s.bits, s.signed, s.narrow, mode)]).filter(([, g, w]) => !Object.is(g, w) && g !== w);
        assert.deepEqual(bad.slice(0, 3), [], `${mode} ${JSON.stringify(s)}: [x, got, qonnx]`);
      }
    });
  }

  it('per-channel scales broadcast as numpy does', async () => {
    const tiny = new TinyModel(14, ['qonnx.custom_op.general']);
    const x = tiny.input('x', [3, 4]);
    const scales = [0.5, 0.1, 0.03];
    const [y] = tiny.node('Quant', [x, tiny.constant(Tensor.float32([3, 1], scales)), tiny.constant(Tensor.float32([], [0])), tiny.constant(Tensor.float32([], [8]))], [attr.int('signed', 1), attr.int('narrow', 0)], 'qonnx.custom_op.general');
    tiny.output(y!, [3, 4]);
    assert.equal(lowerQuantNodes(tiny.model, new NameAuthority(tiny.model)), null);
    tiny.model.opsetImports = tiny.model.opsetImports.filter((o) => o.domain !== 'qonnx.custom_op.general');
    const data = Float32Array.from([0.26, -0.74, 3, 100, 0.26, -0.74, 3, 100, 0.26, -0.74, 3, 100]);
    const [got] = await runModel(exportModel(tiny.model), 'disabled', [{ shape: [3, 4], data }]);
    assert.deepEqual(Array.from(got!.data), Array.from(data, (v, i) => qonnxQuant(v, scales[Math.floor(i / 4)]!, 0, 8, true, false, 'ROUND')));
  });

  it('says why a node cannot be lowered and leaves the graph alone', () => {
    const tiny = new TinyModel(14, ['qonnx.custom_op.general']);
    const x = tiny.input('x', [2]);
    const [y] = tiny.node('Quant', [x, tiny.constant(Tensor.float32([], [0.5])), tiny.constant(Tensor.float32([], [0])), tiny.constant(Tensor.float32([], [8]))], [attr.int('signed', 1), attr.int('narrow', 0), { name: 'rounding_mode', value: { kind: 'string', value: new TextEncoder().encode('STOCHASTIC') } }], 'qonnx.custom_op.general');
    tiny.output(y!, [2]);
    const before = tiny.graph.nodes.length;
    assert.match(lowerQuantNodes(tiny.model, new NameAuthority(tiny.model))!, /rounding mode STOCHASTIC is not one qonnx defines/);
    assert.equal(tiny.graph.nodes.length, before);
  });
});
