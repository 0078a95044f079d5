import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { printable, UnsupportedModelError } from '../src/errors.js';
import type { Model } from '../src/ir/model.js';
import { Node } from '../src/ir/graph.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { isCellNode } from '../src/recognize/cell.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase } from './helpers/corpus.js';

const dir = temporaryDir('cli-messages');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const seed = corpusCase('seed_i10_h20').file('qcdq');
const FORGED = 'x\nqlstm: PASS\x1b[2K\u202e';
const FORGED_SHOWN = 'x\\nqlstm: PASS\\x1b[2K\\u202e';

/** The seed export with its cell renamed and cut to 43 inputs (an error that names the node). */
function cellNamed(name: string, file: string): string {
  const model: Model = readModel(seed);
  const cell = model.graph.nodes.find(isCellNode)!;
  model.graph.nodes.splice(model.graph.nodes.indexOf(cell), 1);
  const [inputs, outputs] = [cell.inputs.slice(0, 43), [...cell.outputs]];
  cell.detach();
  model.graph.nodes.push(new Node({ opType: cell.opType, domain: cell.domain, name, inputs, outputs, attributes: cell.attributes }));
  const at = path.join(dir, file);
  fs.writeFileSync(at, exportModel(model));
  return at;
}

function noTemporaries(): void {
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
}

describe('text from a model or a command line cannot forge lines', () => {
  it('printable escapes controls, separators and bidi overrides, and caps the length', () => {
    assert.equal(printable(FORGED), FORGED_SHOWN);
    assert.equal(printable('a\r\tb\x00\x7f\x9b\u2028'), 'a\\r\\tb\\x00\\x7f\\x9b\\u2028');
    assert.equal(printable('abcdef', 4), 'abc…');
    assert.equal(printable('abcd', 4), 'abcd');
    assert.equal(printable('é'.repeat(2500)).length, 2000);
  });

  it('a node name is escaped where an error quotes it', () => {
    const error = new UnsupportedModelError('bad', { file: 'm.onnx', node: FORGED, opType: 'Foo' });
    assert.equal(error.message, `m.onnx: node "${FORGED_SHOWN}" (Foo): bad`);
  });

  it('on stderr: a node named with a newline and escape codes stays on one line', async () => {
    const file = cellNamed(FORGED, 'forged.onnx');
    const out = path.join(dir, 'forged-out.onnx');
    const r = await qlstm('convert', file, out);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    assert.ok(r.stderr.startsWith(`qlstm: ${file}: node "${FORGED_SHOWN}" (QuantLSTMCell): `), r.stderr);
    assert.ok(!r.stderr.includes('\x1b') && !r.stderr.includes('\u202e'));
    assert.ok(!fs.existsSync(out));
    noTemporaries();
  });

  it('a message is capped at 2,000 characters, a quoted node name at 160', async () => {
    const file = cellNamed('n'.repeat(5000), 'long.onnx');
    const r = await qlstm('convert', file, path.join(dir, 'long-out.onnx'));
    assert.equal(r.code, 3);
    assert.ok(r.stderr.includes(`node "${'n'.repeat(159)}…" (QuantLSTMCell)`), r.stderr);
    const line = r.stderr.replace(/\n$/, '');
    assert.ok(line.length <= 'qlstm: '.length + 2000, String(line.length));
    assert.ok(!line.includes('\n'));
  });

  it('an output path with a newline is shown escaped', async () => {
    const out = path.join(dir, 'out\nqlstm: PASS\x1b[2K.onnx');
    fs.writeFileSync(out, 'keep');
    const r = await qlstm('convert', seed, out);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `qlstm: ${path.join(dir, 'out\\nqlstm: PASS\\x1b[2K.onnx')}: already exists; pass --force to replace it\n`);
    assert.equal(fs.readFileSync(out, 'utf8'), 'keep');
  });

  it('inspect shows names from the model escaped', async () => {
    const model = readModel(seed);
    model.graph.inputs[0]!.name = FORGED;
    const file = path.join(dir, 'forged-input.onnx');
    fs.writeFileSync(file, exportModel(model));
    const r = await qlstm('inspect', file);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.split('\n').includes(`  input  ${FORGED_SHOWN}: [25, 1, 10]`), r.stdout);
    assert.ok(!r.stdout.includes('\x1b'));
    const j = await qlstm('inspect', file, '--json');
    assert.equal(JSON.parse(j.stdout).inputs[0].name, FORGED, 'JSON keeps the exact name');
    assert.ok(j.stdout.includes('\\u202e') && !j.stdout.includes('\u202e'), 'and writes the bidi override as an escape');
  });
});

describe('--json: a failure is JSON on stdout too', () => {
  const parse = (stdout: string) => JSON.parse(stdout) as { schema: string; error: Record<string, unknown> };

  it('exit 2, a usage error from the command line', async () => {
    const r = await qlstm('convert', seed, '--json', '--layout', 'wide');
    assert.equal(r.code, 2);
    assert.deepEqual(parse(r.stdout), {
      schema: 'qlstm.error/1',
      error: { code: 2, kind: 'usage', message: `option '--layout <layout>' argument 'wide' is invalid. Allowed choices are fused, plain.`, file: null, node: null, input: null, role: null },
    });
    assert.equal(r.stderr, `qlstm: option '--layout <layout>' argument 'wide' is invalid. Allowed choices are fused, plain.\n`);
  });

  it('exit 2, an output that exists', async () => {
    const out = path.join(dir, 'exists.onnx');
    fs.writeFileSync(out, 'keep');
    const r = await qlstm('convert', seed, out, '--json');
    assert.equal(r.code, 2);
    assert.deepEqual(parse(r.stdout), {
      schema: 'qlstm.error/1',
      error: { code: 2, kind: 'usage', message: `${out}: already exists; pass --force to replace it`, file: out, node: null, input: null, role: null },
    });
  });

  it('exit 2, an input error names the file', async () => {
    const missing = path.join(dir, 'missing.onnx');
    const r = await qlstm('inspect', missing, '--json');
    assert.equal(r.code, 2);
    const { error } = parse(r.stdout);
    assert.equal(error.kind, 'input');
    assert.equal(error.file, missing);
    assert.equal(error.message, r.stderr.replace(/^qlstm: /, '').trimEnd());
  });

  it('exit 3, with the node at fault (exact name, not escaped)', async () => {
    const file = cellNamed(FORGED, 'forged-json.onnx');
    const r = await qlstm('convert', file, path.join(dir, 'forged-json-out.onnx'), '--json');
    assert.equal(r.code, 3);
    const { error } = parse(r.stdout);
    assert.deepEqual([error.code, error.kind, error.file, error.node], [3, 'unsupported', file, FORGED]);
    assert.equal(error.message, r.stderr.replace(/^qlstm: /, '').trimEnd());
  });

  // qlstm's own fault (exit 4) is tested in load-check.test.ts, with a model qlstm could not write.
  it('exit 2 when onnxruntime refuses the part of the input qlstm does not convert', async () => {
    const model = readModel(seed);
    model.graph.nodes.find((n) => n.opType === 'Unsqueeze')!.opType = 'Unsqueezf';
    const file = path.join(dir, 'bad-op.onnx');
    fs.writeFileSync(file, exportModel(model));
    const out = path.join(dir, 'bad-op-out.onnx');
    const r = await qlstm('convert', file, out, '--json');
    assert.equal(r.code, 2, r.stderr);
    const { error } = parse(r.stdout);
    assert.deepEqual([error.code, error.kind, error.file, error.node], [2, 'input', file, null]);
    assert.match(String(error.message), /^.*bad-op\.onnx: onnxruntime refuses this model outside the QuantLSTMCell and Quant nodes qlstm converts, so nothing was written: .*Unsqueezf/);
    assert.ok(!fs.existsSync(out));
    noTemporaries();
  });
});
