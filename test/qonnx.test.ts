import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import { UnsupportedModelError } from '../src/errors.js';
import { attr, type Attribute } from '../src/ir/attribute.js';
import { NameAuthority } from '../src/ir/names.js';
import { Tape } from '../src/ir/tape.js';
import { planQuantLowering, QUANT_DOMAIN } from '../src/recognize/quant-node.js';
import { lowerQuantNode } from '../src/surgery/lower-quant.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import type { NdArray } from '../src/run/npy.js';
import { OPTIMIZATION_LEVELS } from '../src/run/session.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, corpusCases, describeDifference, difference, runModel } from './helpers/corpus.js';
import { Tensor, TinyModel } from './helpers/tiny-model.js';

const dir = temporaryDir('qonnx');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function convertedBytes(file: string): Uint8Array {
  const model = readModel(file);
  convertModel(model);
  return exportModel(model);
}

/** Deterministic inputs in [-1.5, 1.5), shaped like the corpus inputs but with other values. */
function otherInputs(inputs: NdArray[], seed: number): NdArray[] {
  return inputs.map((a, k) => ({
    shape: a.shape,
    data: Float32Array.from(a.data, (_, i) => 1.5 * Math.sin(seed * 7.1 + k * 3.3 + i * 0.7919)),
  }));
}

describe('QONNX and QCDQ exports of the same model convert to models that agree bit for bit', () => {
  for (const c of corpusCases()) {
    it(c.name, async () => {
      const fromQonnx = convertedBytes(c.file('qonnx'));
      const fromQcdqInt = convertedBytes(c.file('qcdq-int'));
      for (const seed of [1, 2]) {
        const inputs = otherInputs(c.inputs(), seed);
        for (const level of ['disabled', 'all'] as const) {
          const a = await runModel(fromQonnx, level, inputs);
          const b = await runModel(fromQcdqInt, level, inputs);
          a.forEach((out, k) => {
            const d = difference(out, b[k]!);
            assert.equal(d.unequal, 0, `output ${k}, seed ${seed}, ${level}: ${describeDifference(d, 'absolute')}`);
          });
        }
      }
    });
  }
});

describe('verify reference mode on QONNX originals', () => {
  for (const name of ['seed_i10_h20', 'bidir_i10_h20', 'perchannel_i10_h20', 'state_i10_h20', 'a6_i10_h20']) {
    it(name, async () => {
      const out = path.join(dir, `${name}.onnx`);
      const file = corpusCase(name).file('qonnx');
      assert.equal((await qlstm('convert', file, out)).code, 0);
      const r = await qlstm('verify', file, out);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    });
  }
});

const f32 = Math.fround;
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** qonnx's Quant: (clamp(round(x / s + zp), min, max) - zp) * s, in float32. */
function qonnxQuant(x: number, s: number, zp: number, min: number, max: number): number {
  const q = Math.min(max, Math.max(min, roundHalfEven(f32(f32(x / s) + zp))));
  return f32((q - zp) * s);
}

function quantModel(options: { scale: number; zeroPoint: number; bits: number; signed: boolean; narrow: boolean; rounding?: string; scaleFromInput?: boolean }) {
  const tiny = new TinyModel(14, [QUANT_DOMAIN]);
  const x = tiny.input('x', ['n']);
  const scale = options.scaleFromInput ? tiny.input('scale', []) : tiny.constant(Tensor.float32([], [options.scale]));
  const attributes: Attribute[] = [attr.int('signed', options.signed ? 1 : 0), attr.int('narrow', options.narrow ? 1 : 0)];
  attributes.push({ name: 'rounding_mode', value: { kind: 'string', value: new TextEncoder().encode(options.rounding ?? 'ROUND') }, declaredType: 3 });
  const [y] = tiny.node(
    'Quant',
    [x, scale, tiny.constant(Tensor.float32([], [options.zeroPoint])), tiny.constant(Tensor.float32([], [options.bits]))],
    attributes,
    QUANT_DOMAIN,
  );
  tiny.output(y!, ['n']);
  return tiny;
}

describe('a Quant node lowers to QuantizeLinear / Clip / DequantizeLinear with the same arithmetic', () => {
  const scale = 0.037;
  // Values on and between the grid, exact halfway points, and far outside the range.
  const xs = Float32Array.from({ length: 2000 }, (_, i) => (i - 1000) * scale * 0.25 + (i % 7 === 0 ? 0 : Math.sin(i) * 0.01));
  for (const bits of [2, 3, 4, 6, 8]) {
    for (const signed of [true, false]) {
      for (const narrow of [false, true]) {
        for (const zeroPoint of signed ? [0, -1, 1] : [0, 1, 2]) {
          it(`${bits} bits, ${signed ? 'signed' : 'unsigned'}${narrow ? ', narrow' : ''}, zero point ${zeroPoint}`, async () => {
            const tiny = quantModel({ scale, zeroPoint, bits, signed, narrow });
            const node = tiny.graph.nodes[0]!;
            const plan = planQuantLowering('tiny.onnx', node);
            tiny.graph.nodes = [];
            const tape = new Tape(new NameAuthority(tiny.model), 'lowered');
            lowerQuantNode(plan, tape);
            tape.commitTo(tiny.graph);
            tiny.model.opsetImports = tiny.model.opsetImports.filter((o) => o.domain === '');
            const bytes = exportModel(tiny.model);
            const want = Float32Array.from(xs, (x) => qonnxQuant(x, f32(scale), zeroPoint, plan.min, plan.max));
            for (const level of OPTIMIZATION_LEVELS) {
              const [got] = await runModel(bytes, level, [{ shape: [xs.length], data: xs }]);
              const d = difference(got!, { shape: [xs.length], data: want });
              assert.equal(d.unequal, 0, `${level}: ${describeDifference(d, 'absolute')}`);
            }
          });
        }
      }
    }
  }
});

describe('a Quant node that cannot be lowered exactly is named with the reason', () => {
  const cases: [string, Parameters<typeof quantModel>[0], RegExp][] = [
    ['16 bits', { scale: 0.1, zeroPoint: 0, bits: 16, signed: true, narrow: false }, /input 3 \(bit width\): bit width is 16; qlstm converts 2 to 8 bits/],
    ['FLOOR rounding', { scale: 0.1, zeroPoint: 0, bits: 8, signed: true, narrow: false, rounding: 'FLOOR' }, /rounding mode is "FLOOR"; only ROUND/],
    ['a scale from a graph input', { scale: 0.1, zeroPoint: 0, bits: 8, signed: true, narrow: false, scaleFromInput: true }, /input 1 \(scale\): is graph input "scale", expected a constant/],
    ['a zero scale', { scale: 0, zeroPoint: 0, bits: 8, signed: true, narrow: false }, /scale is 0, expected a finite number greater than 0/],
    ['a fractional zero point', { scale: 0.1, zeroPoint: 0.5, bits: 8, signed: true, narrow: false }, /zero point is 0.5, expected an integer/],
  ];
  for (const [what, options, message] of cases) {
    it(what, () => {
      const tiny = quantModel(options);
      const node = tiny.graph.nodes[0]!;
      assert.throws(
        () => planQuantLowering('tiny.onnx', node),
        (e: unknown) => e instanceof UnsupportedModelError && e.message.startsWith(`tiny.onnx: node "${node.name}" (Quant): `) && message.test(e.message),
      );
    });
  }

  it('convert reports it and writes nothing', async () => {
    const model = readModel(corpusCase('seed_i10_h20').file('qonnx'));
    const quant = model.graph.nodes.find((n) => n.opType === 'Quant' && n.input(0)?.name === 'x.1')!;
    quant.attributes = quant.attributes.map((a) =>
      a.name === 'rounding_mode' ? { ...a, value: { kind: 'string', value: new TextEncoder().encode('CEIL') } } : a,
    );
    const file = path.join(dir, 'ceil.qonnx.onnx');
    fs.writeFileSync(file, exportModel(model));
    const out = path.join(dir, 'ceil.converted.onnx');
    const r = await qlstm('convert', file, out);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`node "${quant.name}" \\(Quant\\): attribute rounding_mode: rounding mode is "CEIL"`));
    assert.ok(!fs.existsSync(out));
  });
});
