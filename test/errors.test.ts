import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Model } from '../src/ir/model.js';
import { Node, Value } from '../src/ir/graph.js';
import { Tensor } from '../src/ir/tensor.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { isCellNode } from '../src/recognize/cell.js';
import { tensorType } from '../src/ir/type-info.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { TinyModel } from './helpers/tiny-model.js';
import { corpusCase } from './helpers/corpus.js';

const dir = temporaryDir('errors');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const seedFile = corpusCase('seed_i10_h20').file('qcdq');

/** The seed export with one thing changed, written to a file of its own. */
function variant(name: string, change: (model: Model, cell: Node) => void): string {
  const model = readModel(seedFile);
  change(model, model.graph.nodes.find(isCellNode)!);
  const file = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(file, exportModel(model));
  return file;
}

function withConstant(model: Model, cell: Node, input: number, tensor: Tensor): void {
  cell.setInput(input, model.graph.addInitializer(`replaced_${input}_${model.graph.initializers.length}`, tensor));
}

function file(name: string, contents: Uint8Array | string): string {
  const at = path.join(dir, name);
  fs.writeFileSync(at, contents);
  return at;
}

const seedBytes = fs.readFileSync(seedFile);
let outputs = 0;

/** Each case: the input file, the exit code, and what the one line on stderr must say. */
const cases: [string, () => string, number, RegExp][] = [
  ['a path that does not exist', () => path.join(dir, 'nowhere.onnx'), 2, /nowhere\.onnx: no such file$/],
  ['a folder', () => dir, 2, /: is a folder, not a file$/],
  ['an empty file', () => file('empty.onnx', ''), 2, /empty\.onnx: the file is empty, not an ONNX model$/],
  ['random bytes', () => file('random.onnx', Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)), 2, /random\.onnx: not a valid ONNX model: /],
  ['a text file', () => file('notes.onnx', 'This is not a model.\nJust some text.\n'), 2, /notes\.onnx: not a valid ONNX model: /],
  ['a truncated model', () => file('truncated.onnx', seedBytes.subarray(0, Math.floor(seedBytes.length * 0.6))), 2, /truncated\.onnx: not a valid ONNX model: .*runs past the end/],
  ['a field this schema does not declare', () => file('unknown-field.onnx', Buffer.concat([seedBytes, Buffer.from([0x98, 0x06, 0x01])])), 2, /has field number 99, which this version of qlstm does not know \(it would be lost\)/],
  ['a valid ONNX model with no QuantLSTMCell', () => variant('no-cell', (m, cell) => {
    m.graph.nodes.splice(m.graph.nodes.indexOf(cell), 1);
    cell.detach();
    m.graph.outputs = [m.graph.inputs[0]!];
  }), 3, /has no QuantLSTMCell node \(domains onnx\.brevitas, qonnx\.custom_op\.general\): nothing to convert$/],
  ['a cell with missing inputs', () => variant('few-inputs', (m, cell) => {
    m.graph.nodes.splice(m.graph.nodes.indexOf(cell), 1);
    const [inputs, outputs] = [cell.inputs.slice(0, 43), [...cell.outputs]];
    cell.detach();
    m.graph.nodes.push(new Node({ opType: cell.opType, domain: cell.domain, name: cell.name!, inputs, outputs, attributes: cell.attributes }));
  }), 3, /node "\/0\/layers\.0\.0\/export_handler\/QuantLSTMCell" \(QuantLSTMCell\): has 43 inputs, expected 48$/],
  ['a cell input left empty', () => variant('empty-input', (_m, cell) => cell.setInput(16, null)), 3, /input 16 \(output zero point\): is missing$/],
  ['a quantizer parameter that is not a constant', () => variant('scale-input', (m, cell) => {
    const scale = new Value('runtime_scale');
    scale.info = { type: tensorType(1, []) };
    m.graph.inputs.push(scale);
    cell.setInput(24, scale);
  }), 3, /input 24 \(forget_acc scale\): "runtime_scale" is a graph input, expected a constant$/],
  ['a bit width above 24', () => variant('25-bit', (m, cell) => withConstant(m, cell, 23, Tensor.float32([], [25]))), 3, /input 23 \(input_acc bit width\): bit width is 25; qlstm converts cell quantizers of 2 to 24 bits exactly \(float32 holds every code up to 2\^24\)$/],
  ['a rounding mode qlstm cannot reproduce', () => variant('stochastic', (_m, cell) => {
    const a = cell.attribute('cell_tanh_rounding_mode')!;
    a.value = { kind: 'string', value: new TextEncoder().encode('STOCHASTIC_ROUND') };
  }), 3, /attribute "cell_tanh_rounding_mode" is "STOCHASTIC_ROUND"; qlstm converts the rounding modes ROUND, HALF_EVEN, FLOOR, CEIL, ROUND_TO_ZERO, DOWN, UP, HALF_UP, HALF_DOWN, DPU$/],
  ['a scale beyond 2^60', () => variant('huge-scale', (m, cell) => withConstant(m, cell, 36, Tensor.float32([], [3.4e38]))), 3, /input 36 \(forget_sigmoid scale\): scale is 3\.3999999521443642e\+38, outside \[2\^-60, 2\^60\] where qlstm's float32 arithmetic is exact$/],
  ['an attribute given twice', () => variant('twice', (_m, cell) => {
    cell.attributes.push({ name: 'cifg', value: { kind: 'int', value: 1n } });
  }), 3, /has attribute "cifg" more than once$/],
  ...([0, -0.5, NaN, Infinity] as const).map((scale): [string, () => string, number, RegExp] => [
    `a scale of ${scale}`,
    () => variant(`scale-${scale}`, (m, cell) => withConstant(m, cell, 36, Tensor.float32([], [scale]))),
    3,
    new RegExp(`input 36 \\(forget_sigmoid scale\\): scale is ${scale}, expected a finite number greater than 0$`),
  ]),
  ['a weight read from a graph input', () => variant('input-weight', (m, cell) => {
    const w = new Value('w_input');
    m.graph.inputs.push(w);
    cell.setInput(4, w);
  }), 3, /input 4 \(input weight of the forget gate\): "w_input" is a graph input, expected a constant$/],
  ['weights whose shapes disagree with the cell', () => variant('weights-shape', (m, cell) => {
    const dq = cell.input(8)!.producer!;
    const clip = dq.input(0)!.producer!;
    const quantize = clip.input(0)!.producer!;
    quantize.setInput(0, m.graph.addInitializer('short_weight', Tensor.float32([20, 7], new Float32Array(140))));
  }), 3, /input 8 \(recurrent weight of the forget gate\): has shape \[20, 7\], expected \[20, 20\] \(hidden size 20\)$/],
  ['a tensor whose dims promise more than its data', () => variant('absurd-dims', (m, cell) => {
    withConstant(m, cell, 11, new Tensor(1, [1_000_000_000], { kind: 'raw', bytes: new Uint8Array(80) }, 'absurd'));
  }), 2, /input 11 \(bias of the input gate\): tensor "replaced_11_\d+" \(float, shape \[1000000000\]\): raw data holds 80 bytes, the shape needs 4000000000$/],
  ['a tensor of astronomical size', () => variant('astronomical', (m, cell) => {
    withConstant(m, cell, 12, new Tensor(1, [2 ** 40, 2 ** 12], { kind: 'raw', bytes: new Uint8Array(80) }, 'astronomical'));
  }), 2, /input 12 \(bias of the forget gate\): tensor "replaced_12_\d+" \(float, shape \[1099511627776, 4096\]\): too many elements$/],
  ['a partially quantized cell (a quantizer set to None)', () => variant('partial', (_m, cell) => {
    for (const input of [33, 34, 35]) cell.setInput(input, null);
  }), 3, /input 33 \(input_sigmoid scale\): has no input_sigmoid quantizer: a partially quantized cell \(Brevitas exports one when a quantizer is set to None\); qlstm converts cells whose 11 activation quantizers are all present$/],
  ['a weight-only LSTM (a standard ONNX LSTM)', () => {
    const t = new TinyModel(14);
    const x = t.input('x', [5, 1, 4]);
    const w = t.constant(Tensor.float32([1, 32, 4], new Float32Array(128)));
    const r = t.constant(Tensor.float32([1, 32, 8], new Float32Array(256)));
    const [y] = t.node('LSTM', [x, w, r], [{ name: 'hidden_size', value: { kind: 'int', value: 8n } }]);
    t.output(y!, [5, 1, 1, 8]);
    return file('weight-only-lstm.onnx', exportModel(t.model));
  }, 3, /has no QuantLSTMCell: its LSTM "LSTM_\d+" is the standard ONNX LSTM .*nothing to convert\. Note that this export squeezes the wrong axis of the LSTM's outputs when batch > 1$/],
  ['a graph with a cycle', () => variant('cycle', (m) => {
    const unsqueeze = m.graph.nodes.find((n) => n.opType === 'Unsqueeze')!;
    const quantize = m.graph.nodes.find((n) => n.opType === 'QuantizeLinear')!;
    quantize.setInput(0, unsqueeze.outputs[0]!);
  }), 2, /the graph has a cycle through node /],
  ['a node no runtime knows, elsewhere in the graph', () => variant('bad-op', (m) => {
    m.graph.nodes.find((n) => n.opType === 'Unsqueeze')!.opType = 'Unsqueezf';
  }), 2, /: onnxruntime refuses this model outside the QuantLSTMCell and Quant nodes qlstm converts, so nothing was written: .*Unsqueezf/],
];

describe('hostile and broken inputs: one clear line, the documented exit code, no output file', () => {
  for (const [what, input, code, message] of cases) {
    it(what, async () => {
      const out = path.join(dir, `out-${outputs++}.onnx`);
      const r = await qlstm('convert', input(), out);
      assert.equal(r.code, code, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr.trim(), /^qlstm: /);
      assert.match(r.stderr.trim(), message);
      assert.ok(!fs.existsSync(out), 'no output file');
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
    });
  }

  it('a model too large for protobuf (a sparse 2 GiB file)', async () => {
    const big = path.join(dir, 'huge.onnx');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 2 ** 31 + 10);
    const r = await qlstm('convert', big, path.join(dir, 'huge-out.onnx'));
    fs.rmSync(big);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /huge\.onnx: 2147483658 bytes is more than the 2147483647 bytes qlstm reads from one file/);
  });
});

describe('external data', () => {
  /** The seed export with its larger tensors moved to `location`, plus the inline conversion to compare with. */
  function externalVariant(label: string, location: string, mangle: (entries: [string, string][]) => [string, string][] = (e) => e): string {
    const folder = path.join(dir, label);
    fs.mkdirSync(folder, { recursive: true });
    const model = readModel(seedFile);
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const value of model.graph.initializers) {
      const t = value.constant!;
      if (t.storage.kind !== 'raw' || t.storage.bytes.length < 64) continue;
      const bytes = t.storage.bytes;
      value.constant = new Tensor(t.dataType, t.dims, { kind: 'external', entries: mangle([['location', location], ['offset', String(offset)], ['length', String(bytes.length)]]) }, t.name, t.extras);
      chunks.push(bytes);
      offset += bytes.length;
    }
    const dataFile = path.isAbsolute(location) ? location : path.join(folder, location);
    fs.mkdirSync(path.dirname(dataFile), { recursive: true });
    fs.writeFileSync(dataFile, Buffer.concat(chunks));
    const file = path.join(folder, 'model.onnx');
    fs.writeFileSync(file, exportModel(model));
    return file;
  }

  it('is read from files next to the model, and converts to the same bytes as inline data', async () => {
    const file = externalVariant('external-ok', 'weights.bin');
    const out = path.join(dir, 'external-ok.converted.onnx');
    const inline = path.join(dir, 'inline.converted.onnx');
    assert.equal((await qlstm('convert', file, out)).code, 0);
    assert.equal((await qlstm('convert', seedFile, inline)).code, 0);
    assert.deepEqual(fs.readFileSync(out), fs.readFileSync(inline));
  });

  const refused: [string, () => string, RegExp][] = [
    ['an absolute location', () => externalVariant('external-absolute', path.join(dir, 'elsewhere', 'w.bin')), /location ".*w\.bin" is absolute; only paths inside the model's folder are read/],
    ['a location that escapes the folder', () => externalVariant('external-escape', '../escape/w.bin'), /location "\.\.\/escape\/w\.bin" points outside the model's folder/],
    ['a missing data file', () => {
      const f = externalVariant('external-missing', 'gone.bin');
      fs.rmSync(path.join(path.dirname(f), 'gone.bin'));
      return f;
    }, /file "gone\.bin" does not exist/],
    ['a length that disagrees with the shape', () => externalVariant('external-length', 'w.bin', (e) => e.map(([k, v]) => (k === 'length' ? [k, String(Number(v) + 4)] : [k, v]))), /length \d+ does not match the \d+ bytes its shape needs/],
    ['an offset beyond the end of the file', () => externalVariant('external-offset', 'w.bin', (e) => e.map(([k, v]) => (k === 'offset' ? [k, String(Number(v) + 10_000_000)] : [k, v]))), /lie beyond the end of "w\.bin"/],
  ];
  for (const [what, input, message] of refused) {
    it(`refuses ${what}`, async () => {
      const out = path.join(dir, `out-${outputs++}.onnx`);
      const r = await qlstm('convert', input(), out);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!fs.existsSync(out));
    });
  }
});
