import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, CORPUS } from './helpers/corpus.js';
import { convertFixture } from './helpers/verify-models.js';

const dir = temporaryDir('verify-metadata');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const c = corpusCase('calib_i10_h20');
const inputs = ['--inputs', ...c.meta.inputs.map((i) => path.join(CORPUS, i.file))];
const expected = ['--expected', ...c.meta.outputs.map((o) => path.join(CORPUS, o.file))];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let count = 0;

/** The converted calib case with its qlstm.cells edited (as parsed JSON, or as text). */
function tampered(edit: (metadata: Json, text: string) => string | void): string {
  return convertFixture(c.file('qcdq-int'), path.join(dir, `tampered${count++}.onnx`), (_, metadata) => edit(metadata, JSON.stringify(metadata)) ?? JSON.stringify(metadata));
}

async function verify(model: string) {
  return qlstm('verify', model, ...inputs, ...expected, '--level', 'disabled');
}

describe('metadata qlstm.cells is validated before anything is run (exit 2, naming the key)', () => {
  const cases: [string, (m: Json, text: string) => string | void, string][] = [
    ['a scale of 1e999', (_, text) => text.replace(/"scale":[^,]+/, '"scale":1e999'), 'cells[0].quantizers.output.scale is Infinity; expected a finite scale from 2^-60 to 2^60'],
    ['a NaN scale (not JSON)', (_, text) => text.replace(/"scale":[^,]+/, '"scale":NaN'), 'is not valid JSON'],
    ['a NaN scale as a string', (m) => void (m.cells[0].quantizers.cell_state.scale = 'NaN'), 'cells[0].quantizers.cell_state.scale is "NaN"; expected a finite scale from 2^-60 to 2^60'],
    ['a scale below 2^-60', (m) => void (m.cells[0].quantizers.input_acc.scale = 2 ** -61), 'cells[0].quantizers.input_acc.scale is 4.336808689942018e-19; expected a finite scale from 2^-60 to 2^60'],
    ['a scale that is no float32', (m) => void (m.cells[0].quantizers.output.scale = 0.1), 'cells[0].quantizers.output.scale is 0.1, which is not a float32 value'],
    ['a missing key', (m) => void delete m.cells[0].hiddenSize, 'cells[0].hiddenSize is missing; expected a whole number from 1 to 1048576'],
    ['a missing quantizer', (m) => void delete m.cells[0].quantizers.hidden_state_tanh, 'cells[0].quantizers.hidden_state_tanh is missing'],
    ['a fractional zero point', (m) => void (m.cells[0].quantizers.output.zeroPoint = 0.5), 'cells[0].quantizers.output.zeroPoint is 0.5; expected a whole number from -128 to 127'],
    ['25 bits', (m) => void (m.cells[0].quantizers.cell_state.bits = 25), 'cells[0].quantizers.cell_state.bits is 25; expected a whole number from 2 to 24'],
    ['an unknown rounding mode', (m) => void (m.cells[0].quantizers.output.rounding = 'BANKERS'), 'cells[0].quantizers.output.rounding is "BANKERS"; expected one of ROUND, HALF_EVEN, CEIL, FLOOR, UP, DOWN, ROUND_TO_ZERO, HALF_UP, HALF_DOWN, DPU'],
    [
      'a weight slice past the end of its tensor',
      (m) => void (m.cells[0].parameters.output.recurrentWeight.offset += 1),
      'cells[0].parameters.output.recurrentWeight names a tensor of shape',
    ],
    [
      'a tensor of the wrong shape (the recurrent weights as input weights)',
      (m) => void (m.cells[0].parameters.input.inputWeight = { ...m.cells[0].parameters.input.recurrentWeight }),
      'cells[0].parameters.input.inputWeight names a tensor of shape',
    ],
    ['a tensor that does not exist', (m) => void (m.cells[0].parameters.cell.bias.tensor = 'nowhere'), 'cells[0].parameters.cell.bias.tensor names "nowhere", which is no initializer of the model'],
    ['a bias where the cell has none', (m) => void (m.cells[0].bias = false), 'cells[0].parameters.input.bias must be null: the cell has no bias'],
    ['a forget gate on a CIFG cell', (m) => void (m.cells[0].cifg = true), 'cells[0].parameters.forget must be absent: the cell is CIFG'],
    ['version 3', (m) => void (m.version = 3), 'version is 3; this qlstm reads version 2'],
    ['a value the model does not compute', (m) => void (m.cells[0].values.input = 'nowhere'), 'metadata "qlstm.cells" names value "nowhere", which the model does not compute'],
  ];
  for (const [what, edit, message] of cases) {
    it(what, async () => {
      const r = await verify(tampered(edit));
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
      assert.ok(r.stderr.includes(message), `${r.stderr} lacks: ${message}`);
      assert.equal(r.stdout, '');
    });
  }

  it('a wrong dtype: a slice naming a non-float initializer', async () => {
    const model = convertFixture(c.file('qcdq-int'), path.join(dir, 'dtype.onnx'), (converted, m: Json) => {
      const notFloat = converted.graph.initializers.find((v) => v.constant!.dataType !== 1)!;
      m.cells[0].parameters.input.bias = { tensor: notFloat.name, transposed: false, offset: 0 };
    });
    const r = await verify(model);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cells\[0\]\.parameters\.input\.bias\.tensor names ".*" of type int\d+; expected float/);
  });
});

describe('metadata is never trusted for a verdict', () => {
  it('a valid but lying output scale (doubled) fails: the values are not on its grid', async () => {
    const r = await verify(tampered((m) => void (m.cells[0].quantizers.output.scale *= 2)));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /is not on the grid of the quantizer that computes it/);
  });

  it('a model without qlstm metadata is compared strictly and says why no tie analysis ran', async () => {
    const plain = convertFixture(c.file('qcdq-int'), path.join(dir, 'no-metadata.onnx'), () => null);
    const r = await qlstm('verify', plain, ...inputs, ...expected, '--level', 'disabled', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.notChecked, ['no tie analysis: the model has no qlstm.cells metadata (not converted by qlstm), so outputs are compared directly']);
    assert.equal(report.levels[0].outputs[0].analysis, 'compared directly (no tie analysis)');
  });

  it('qlstm 0.1 metadata (version 1) is compared strictly and says why', async () => {
    const old = tampered(() => '[{"name":"x","outputs":["a","b","c"],"quantizers":{"output":{"scale":0.5}}}]');
    const r = await qlstm('verify', old, ...inputs, ...expected, '--level', 'disabled', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.parse(r.stdout).notChecked[0], /qlstm 0\.1 metadata \(version 1\)/);
  });
});
