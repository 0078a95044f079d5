import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { formatNpy, parseNpy } from '../src/run/npy.js';
import { exportModel } from '../src/onnx/export.js';
import { VERSION } from '../src/version.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, CORPUS, ROOT } from './helpers/corpus.js';
import { TinyModel } from './helpers/tiny-model.js';
import { convertFixture } from './helpers/verify-models.js';

const dir = temporaryDir('junit');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name) });
const ORT_VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version as string;

interface Case {
  classname: string;
  name: string;
  failure?: { type: string; message: string; '#text'?: string };
}

function readJunit(file: string) {
  const text = fs.readFileSync(file, 'utf8');
  assert.equal(XMLValidator.validate(text), true, 'well-formed XML');
  const doc = parser.parse(text);
  const suite = doc.testsuites.testsuite[0];
  const properties = Object.fromEntries(suite.properties.property.filter((p: { name: string }) => p.name !== 'checked' && p.name !== 'not checked').map((p: { name: string; value: string }) => [p.name, p.value]));
  return { doc, suite, cases: suite.testcase as Case[], properties };
}

const c = corpusCase('calib_i10_h20');
const inputs = ['--inputs', path.join(CORPUS, c.meta.inputs[0]!.file)];
const goldens = c.meta.outputs.map((o) => path.join(CORPUS, o.file));
const outputNames = c.meta.names_by_flavour['qcdq-int']!.output_names;

describe('--junit writes one test case per output and level', () => {
  it('a passing run: 3 outputs x 4 levels + 4 runtime-agreement cases, no failures', async () => {
    const model = convertFixture(c.file('qcdq-int'), path.join(dir, 'calib.onnx'));
    const file = path.join(dir, 'pass.xml');
    const r = await qlstm('verify', model, ...inputs, '--expected', ...goldens, '--junit', file);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { doc, suite, cases, properties } = readJunit(file);
    assert.equal(doc.testsuites.tests, '16');
    assert.equal(doc.testsuites.failures, '0');
    assert.equal(suite.tests, '16');
    assert.equal(suite.failures, '0');
    assert.equal(cases.length, 16);
    assert.ok(cases.every((k) => !k.failure));
    assert.deepEqual(properties, { qlstm: VERSION, onnxruntime: ORT_VERSION, mode: 'golden', model, strict: 'false' });
    for (const level of ['disabled', 'basic', 'extended', 'all']) {
      for (const name of outputNames) assert.ok(cases.some((k) => k.classname === `qlstm.verify.${level}` && k.name === `${name} (${level})`), `${name} at ${level}`);
    }
    assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith('.tmp')), 'no temporary file left');
  });

  it('a failing run: the failing output fails at every level, carrying its first mismatch', async () => {
    const model = convertFixture(c.file('qcdq-int'), path.join(dir, 'calib.onnx'));
    const y = parseNpy(fs.readFileSync(goldens[0]!), 'y');
    const [, B, H] = y.shape as [number, number, number];
    const at = (5 * B + 0) * H + 3;
    y.data[at] = Math.fround((Math.round(y.data[at]! / c.lsb(0)) - 2) * c.lsb(0));
    const moved = path.join(dir, 'moved.npy');
    fs.writeFileSync(moved, formatNpy(y));
    const file = path.join(dir, 'fail.xml');
    const report = path.join(dir, 'fail.json');
    const r = await qlstm('verify', model, ...inputs, '--expected', moved, goldens[1]!, goldens[2]!, '--junit', file, '--report', report);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const { doc, cases } = readJunit(file);
    assert.equal(doc.testsuites.tests, '16');
    assert.equal(doc.testsuites.failures, '4');
    const failing = cases.filter((k) => k.failure);
    assert.deepEqual(failing.map((k) => k.name), ['disabled', 'basic', 'extended', 'all'].map((l) => `${outputNames[0]} (${l})`));
    for (const k of failing) {
      assert.equal(k.failure!.type, 'unexplained');
      assert.match(k.failure!.message, /^1 unexplained element\(s\) of 500; first at time 5, batch 0, unit 3: got .*, expected .* \(2 LSB\)/);
      assert.match(k.failure!['#text']!, /certified ties 0, unexplained 1/);
    }
    // the JSON report is written on failure too, and is what --json prints
    const json = JSON.parse(fs.readFileSync(report, 'utf8'));
    assert.equal(json.version, 1);
    assert.equal(json.passed, false);
  });

  it('escapes names that are not XML-safe, and the model without metadata is compared strictly', async () => {
    const tiny = new TinyModel();
    const x = tiny.input('x', [2, 3]);
    const [y] = tiny.node('Identity', [x]);
    y!.name = 'a<b & "c\'>\u0001';
    tiny.output(y!, [2, 3]);
    const model = path.join(dir, 'odd-names.onnx');
    fs.writeFileSync(model, exportModel(tiny.model));
    const xs = path.join(dir, 'x.npy');
    fs.writeFileSync(xs, formatNpy({ shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }));
    const ys = path.join(dir, 'y.npy');
    fs.writeFileSync(ys, formatNpy({ shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 7]) }));
    const file = path.join(dir, 'odd.xml');
    const r = await qlstm('verify', model, '--inputs', xs, '--expected', ys, '--junit', file, '--level', 'all');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const { cases, doc } = readJunit(file);
    assert.equal(doc.testsuites.failures, '1');
    assert.equal(cases[0]!.name, 'a<b & "c\'>\uFFFD (all)');
    // the parser is lenient about a bare '&': check the escaping in the bytes too
    assert.ok(fs.readFileSync(file, 'utf8').includes('name="a&lt;b &amp; &quot;c\'&gt;\uFFFD (all)"'));
    assert.match(cases[0]!.failure!.message, /first at \[1, 2\]: got 6, expected 7 \(1\)/);
  });
});
