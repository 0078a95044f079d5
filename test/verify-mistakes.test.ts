import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { formatNpy, parseNpy } from '../src/run/npy.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase, CORPUS } from './helpers/corpus.js';
import { convertFixture } from './helpers/verify-models.js';

const dir = temporaryDir('verify-mistakes');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const c = corpusCase('calib_i10_h20');
const converted = () => convertFixture(c.file('qcdq-int'), path.join(dir, 'calib.onnx'));
const x = path.join(CORPUS, c.meta.inputs[0]!.file);
const [y, h, cs] = c.meta.outputs.map((o) => path.join(CORPUS, o.file)) as [string, string, string];
const [yName, hName, cName] = c.meta.names_by_flavour['qcdq-int']!.output_names as [string, string, string];
const xName = c.meta.names_by_flavour['qcdq-int']!.input_names[0]!;

/** A .npy of float64 values, written here (formatNpy writes float32 only). */
function float64Npy(file: string, shape: number[], values: ArrayLike<number>): string {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + header.length + 8 * values.length);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(out);
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  for (let i = 0; i < values.length; i++) out.writeDoubleLE(values[i]!, 10 + header.length + 8 * i);
  fs.writeFileSync(file, out);
  return file;
}

async function mistake(...argv: string[]): Promise<string> {
  const r = await qlstm(...argv);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n');
  assert.equal(lines.length, 2, r.stderr);
  return lines[0]!;
}

describe('mistakes are named in one line, with the fix (exit 2)', () => {
  it('goldens in the wrong order: shapes tell', async () => {
    const line = await mistake('verify', converted(), '--inputs', x, '--expected', h, y, cs, '--level', 'disabled');
    assert.equal(line, `qlstm: expected ${h} has shape [1,1,20] but output ${yName} is [25,1,20]; is it output ${hName} or ${cName}'s? give --expected in graph-output order: ${yName} ${hName} ${cName}`);
  });

  it('goldens in the wrong order: same shapes, values tell (h and c swapped)', async () => {
    const line = await mistake('verify', converted(), '--inputs', x, '--expected', y, cs, h, '--level', 'disabled');
    assert.equal(line, `qlstm: expected ${cs} matches output ${cName}, not output ${hName}; give --expected in graph-output order: ${yName} ${hName} ${cName}`);
  });

  it('goldens in the order of --outputs', async () => {
    const line = await mistake('verify', converted(), '--inputs', x, '--outputs', cName, yName, '--expected', y, cs, '--level', 'disabled');
    assert.equal(line, `qlstm: expected ${y} has shape [25,1,20] but output ${cName} is [1,1,20]; is it output ${yName}'s? give --expected in the order of --outputs: ${cName} ${yName}`);
  });

  it('an input array of the wrong shape names the file and the expected shape', async () => {
    const flat = parseNpy(fs.readFileSync(x), x);
    const file = path.join(dir, 'x-rank2.npy');
    fs.writeFileSync(file, formatNpy({ shape: [flat.shape[0]!, flat.shape[2]!], data: flat.data }));
    const line = await mistake('verify', converted(), '--inputs', file, '--expected', y, h, cs);
    assert.equal(line, `qlstm: ${file} has shape [25, 10] but graph input "${xName}" of calib.onnx is [sequence_length, batch_size, 10]: give the arrays in graph-input order (${xName})`);
  });

  it('float64 inputs are refused unless --cast-inputs converts them', async () => {
    const flat = parseNpy(fs.readFileSync(x), x);
    const file = float64Npy(path.join(dir, 'x64.npy'), flat.shape, flat.data);
    const line = await mistake('verify', converted(), '--inputs', file, '--expected', y, h, cs);
    assert.equal(line, `qlstm: ${file} holds float64 values, graph input "${xName}" is float32: save it as float32 (numpy: x.astype(numpy.float32)) or pass --cast-inputs to convert it`);
    const cast = await qlstm('verify', converted(), '--inputs', file, '--expected', y, h, cs, '--cast-inputs', '--level', 'disabled');
    assert.equal(cast.code, 0, cast.stdout + cast.stderr);
  });

  it('ORIGINAL and CONVERTED swapped', async () => {
    const line = await mistake('verify', converted(), c.file('qcdq-int'));
    assert.equal(line, `qlstm: ORIGINAL and CONVERTED are swapped: ${converted()} is qlstm's conversion (qlstm.cells metadata, no QuantLSTMCell) and ${c.file('qcdq-int')} has QuantLSTMCell nodes; give the Brevitas export first: qlstm verify ${c.file('qcdq-int')} ${converted()}`);
  });

  it('a float output compared without --tolerance-abs: the suggestion and the error seen', async () => {
    const k = corpusCase('classifier_i40_h64');
    const model = convertFixture(k.file('qcdq-int'), path.join(dir, 'classifier.onnx'));
    const args = ['verify', model, '--inputs', path.join(CORPUS, k.meta.inputs[0]!.file), '--expected', path.join(CORPUS, k.meta.outputs[0]!.file), '--level', 'basic'];
    const line = await mistake(...args);
    const logits = k.meta.names_by_flavour['qcdq-int']!.output_names[0]!;
    assert.match(line, new RegExp(`^qlstm: output ${logits} is a float output \\(no quantizer computes it\\) and differs from its expected values by up to [0-9.]+e-\\d+: float results need a tolerance; give --tolerance-abs ${logits}=1e-\\d \\(or the bound you accept\\)$`));
    assert.equal((await qlstm(...args, '--tolerance-abs', `${logits}=1e-6`)).code, 0);
    assert.equal((await qlstm(...args, '--tolerance-abs', '1e-6')).code, 0);
    assert.equal((await qlstm(...args, '--tolerance-abs', '1e-12')).code, 1, 'a tolerance too tight fails (exit 1)');
  });

  it('a malformed tolerance is a usage error at parse time', async () => {
    const line = await mistake('verify', converted(), '--tolerance-abs', 'logits=lots');
    assert.equal(line, "qlstm: option '--tolerance-abs <values...>' argument 'logits=lots' is invalid. expected a number of 0 or more (such as 1e-6), or NAME=NUMBER for one output");
  });
});
