import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode, QlstmError } from '../src/errors.js';
import { exportModel } from '../src/onnx/export.js';
import { assertRuntimeLoads } from '../src/run/load-check.js';
import { TinyModel } from './helpers/tiny-model.js';

/** x -> <op> -> y, with a custom-domain node beside it standing for what qlstm converts. */
function model(op: string) {
  const t = new TinyModel(14, ['onnx.brevitas']);
  const x = t.input('x', [2]);
  const [custom] = t.node('QuantLSTMCell', [x], [], 'onnx.brevitas');
  const [y] = t.node(op, [custom!]);
  t.output(y!, [2]);
  return t.model;
}

/** A model qlstm "built" that onnxruntime refuses: an operator no runtime knows. */
const refused = (() => {
  const t = new TinyModel(14);
  const x = t.input('x', [2]);
  const [y] = t.node('NoSuchOperator', [x]);
  t.output(y!, [2]);
  return exportModel(t.model);
})();

describe('who is at fault when onnxruntime refuses a converted model', () => {
  it('qlstm, when the input loads without its custom nodes (exit 4)', async () => {
    await assert.rejects(assertRuntimeLoads(refused, 'in.onnx', () => model('Relu')), (e: unknown) =>
      e instanceof QlstmError && e.exitCode === ExitCode.internal && /^in\.onnx: onnxruntime cannot load the model qlstm built, so nothing was written: .*NoSuchOperator/.test(e.message),
    );
  });
  it('the input, when onnxruntime refuses it without its custom nodes too (exit 2)', async () => {
    await assert.rejects(assertRuntimeLoads(refused, 'in.onnx', () => model('Relux')), (e: unknown) =>
      e instanceof QlstmError && e.exitCode === ExitCode.usage && /^in\.onnx: onnxruntime refuses this model outside the QuantLSTMCell and Quant nodes qlstm converts, so nothing was written: .*Relux/.test(e.message),
    );
  });
  it('a model that loads passes', async () => {
    const t = new TinyModel(14);
    const x = t.input('x', [2]);
    const [y] = t.node('Relu', [x]);
    t.output(y!, [2]);
    await assertRuntimeLoads(exportModel(t.model), 'ok.onnx', () => model('Relu'));
  });
});
