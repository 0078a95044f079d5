import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import { UnsupportedModelError } from '../src/errors.js';
import { attr, type Attribute } from '../src/ir/attribute.js';
import { NameAuthority } from '../src/ir/names.js';
import { Tape } from '../src/ir/tape.js';
import { readQuantNode } from '../src/recognize/quant-node.js';

const QUANT_DOMAIN = 'qonnx.custom_op.general';
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
  for (const c of corpusCases().filter((k) => k.flavours.includes('qonnx') && k.flavours.includes('qcdq-int'))) {
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

/** qonnx's resolve_rounding_mode, written out for float32 inputs as numpy evaluates it. */
const ROUNDERS: Record<string, (x: number) => number> = {
  ROUND: roundHalfEven,
  HALF_EVEN: roundHalfEven,
  CEIL: Math.ceil,
  FLOOR: Math.floor,
  UP: (x) => Math.sign(x) * Math.ceil(Math.abs(x)),
  DOWN: (x) => Math.trunc(x),
  HALF_UP: (x) => Math.sign(x) * Math.floor(f32(Math.abs(x) + 0.5)),
  HALF_DOWN: (x) => Math.sign(x) * Math.ceil(f32(Math.abs(x) - 0.5)),
};

/** qonnx's int_quant: clamp(x / s + zp, min, max), round, then (q - zp) * s, in float32. */
function qonnxQuant(x: number, s: number, zp: number, bits: number, signed: boolean, narrow: boolean, rounding: string): number {
  const min = signed ? (narrow ? -(2 ** (bits - 1)) + 1 : -(2 ** (bits - 1))) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : narrow ? 2 ** bits - 2 : 2 ** bits - 1;
  const y = f32(f32(x / s) + zp);
  const clamped = Math.min(f32(max), Math.max(f32(min), y));
  return f32(f32(ROUNDERS[rounding]!(clamped) - zp) * s);
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

function lowered(tiny: ReturnType<typeof quantModel>): Uint8Array {
  const node = tiny.graph.nodes[0]!;
  const plan = readQuantNode('tiny.onnx', node);
  tiny.graph.nodes = [];
  const tape = new Tape(new NameAuthority(tiny.model), 'lowered');
  lowerQuantNode(plan, tape);
  tape.commitTo(tiny.graph);
  tiny.model.opsetImports = tiny.model.opsetImports.filter((o) => o.domain === '');
  return exportModel(tiny.model);
}

describe('a Quant node lowers to standard operators with qonnx\'s arithmetic, every bit width and rounding mode', () => {
  const scale = 0.037;
  // Values on and between the grid, exact halfway points, and far outside the range.
  const grid = (step: number) => Float32Array.from({ length: 2000 }, (_, i) => (i - 1000) * step * 0.25 + (i % 7 === 0 ? 0 : Math.sin(i) * 0.01));
  const cases: { bits: number; signed: boolean; narrow: boolean; zeroPoint: number; rounding: string }[] = [];
  for (const bits of [2, 3, 4, 6, 8]) {
    for (const signed of [true, false]) {
      for (const narrow of [false, true]) {
        for (const zeroPoint of signed ? [0, -1, 1] : [0, 1, 2]) cases.push({ bits, signed, narrow, zeroPoint, rounding: 'ROUND' });
      }
    }
  }
  for (const rounding of Object.keys(ROUNDERS)) {
    for (const zeroPoint of [0, 3]) cases.push({ bits: 8, signed: true, narrow: false, zeroPoint, rounding });
  }
  for (const bits of [10, 12, 16, 24, 32]) cases.push({ bits, signed: true, narrow: bits === 16, zeroPoint: bits === 12 ? 5 : 0, rounding: 'ROUND' });
  cases.push({ bits: 16, signed: false, narrow: false, zeroPoint: 0, rounding: 'FLOOR' });
  for (const c of cases) {
    it(`${c.bits} bits, ${c.signed ? 'signed' : 'unsigned'}${c.narrow ? ', narrow' : ''}, zero point ${c.zeroPoint}, ${c.rounding}`, async () => {
      const bytes = lowered(quantModel({ scale, ...c }));
      // wide quantizers: spread the inputs over their whole range
      const xs = grid(c.bits > 8 ? scale * 2 ** (c.bits - 9) : scale);
      const want = Float32Array.from(xs, (x) => qonnxQuant(x, f32(scale), c.zeroPoint, c.bits, c.signed, c.narrow, c.rounding));
      for (const level of OPTIMIZATION_LEVELS) {
        for (let run = 0; run < 2; run++) {
          const [got] = await runModel(bytes, level, [{ shape: [xs.length], data: xs }]);
          const d = difference(got!, { shape: [xs.length], data: want });
          assert.equal(d.unequal, 0, `${level}: ${describeDifference(d, 'absolute')}`);
        }
      }
    });
  }
});

describe('a Quant node that cannot be lowered exactly is named with the reason', () => {
  const cases: [string, Parameters<typeof quantModel>[0], RegExp][] = [
    ['1 bit', { scale: 0.1, zeroPoint: 0, bits: 1, signed: true, narrow: false }, /input 3 \(bit width\): bit width is 1; qlstm converts Quant nodes of 2 to 32 bits/],
    ['33 bits', { scale: 0.1, zeroPoint: 0, bits: 33, signed: true, narrow: false }, /input 3 \(bit width\): bit width is 33; qlstm converts Quant nodes of 2 to 32 bits/],
    ['stochastic rounding', { scale: 0.1, zeroPoint: 0, bits: 8, signed: true, narrow: false, rounding: 'STOCHASTIC_ROUND' }, /attribute "rounding_mode" is "STOCHASTIC_ROUND"; qlstm converts the rounding modes ROUND, HALF_EVEN/],
    ['a scale above 2^60', { scale: 2 ** 61, zeroPoint: 0, bits: 8, signed: true, narrow: false }, /scale is 2305843009213694000, outside \[2\^-60, 2\^60\]/],
    ['a scale from a graph input', { scale: 0.1, zeroPoint: 0, bits: 8, signed: true, narrow: false, scaleFromInput: true }, /input 1 \(scale\): is graph input "scale", expected a constant/],
    ['a zero scale', { scale: 0, zeroPoint: 0, bits: 8, signed: true, narrow: false }, /scale is 0, expected a finite number greater than 0/],
    ['a fractional zero point', { scale: 0.1, zeroPoint: 0.5, bits: 8, signed: true, narrow: false }, /zero point is 0.5, expected an integer of magnitude at most 2\^24/],
  ];
  for (const [what, options, message] of cases) {
    it(what, () => {
      const tiny = quantModel(options);
      const node = tiny.graph.nodes[0]!;
      assert.throws(
        () => readQuantNode('tiny.onnx', node),
        (e: unknown) => e instanceof UnsupportedModelError && e.message.startsWith(`tiny.onnx: node "${node.name}" (Quant): `) && message.test(e.message),
      );
    });
  }

  it('convert reports it and writes nothing', async () => {
    const model = readModel(corpusCase('seed_i10_h20').file('qonnx'));
    const quant = model.graph.nodes.find((n) => n.opType === 'Quant' && n.input(0)?.name === 'x.1')!;
    quant.attributes = quant.attributes.map((a) =>
      a.name === 'rounding_mode' ? { ...a, value: { kind: 'string', value: new TextEncoder().encode('STOCHASTIC_ROUND') } } : a,
    );
    const file = path.join(dir, 'stochastic.qonnx.onnx');
    fs.writeFileSync(file, exportModel(model));
    const out = path.join(dir, 'stochastic.converted.onnx');
    const r = await qlstm('convert', file, out);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`node "${quant.name}" \\(Quant\\): attribute "rounding_mode" is "STOCHASTIC_ROUND"`));
    assert.ok(!fs.existsSync(out));
  });
});
