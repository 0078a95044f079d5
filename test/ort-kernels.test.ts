import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportModel } from '../src/onnx/export.js';
import { recognizeCells } from '../src/recognize/cell.js';
import type { Quantizer } from '../src/recognize/description.js';
import { readModel } from '../src/onnx/files.js';
import { runModel, corpusCases } from './helpers/corpus.js';
import { Tensor, TinyModel } from './helpers/tiny-model.js';

/**
 * At its higher levels onnxruntime replaces DequantizeLinear -> Sigmoid -> QuantizeLinear by
 * QLinearSigmoid and DequantizeLinear x2 -> Mul -> QuantizeLinear by QLinearMul, integer
 * kernels of its own. The converted cells are exact only if those kernels compute what the
 * float operators compute: checked here for every possible operand, with every combination
 * of quantizers that the corpus' cells feed them.
 */
function codes(q: Quantizer): number[] {
  return Array.from({ length: 256 }, (_, i) => (q.signed ? i - 128 : i));
}

function integers(q: Quantizer, values: number[]) {
  return q.signed ? Tensor.int8([values.length], values) : Tensor.uint8([values.length], values);
}

/** A model that reads integer codes (as floats) into the given quantizers, then applies `body`. */
function quantizedModel(inputs: Quantizer[], output: Quantizer, n: number, body: (t: TinyModel, xs: ReturnType<TinyModel['input']>[]) => ReturnType<TinyModel['input']>) {
  const t = new TinyModel(14);
  const dequantized = inputs.map((q, k) => {
    const x = t.input(`x${k}`, [n]);
    const zero = integers(q, [0]);
    const [codesValue] = t.node('QuantizeLinear', [x, t.constant(Tensor.float32([], [1])), t.constant(new Tensor(zero.dataType, [], zero.storage))]);
    const [v] = t.node('DequantizeLinear', [codesValue!, t.constant(Tensor.float32([], [q.scale])), t.constant(new Tensor(zero.dataType, [], integers(q, [q.zeroPoint]).storage))]);
    return v!;
  });
  const result = body(t, dequantized);
  const zp = integers(output, [output.zeroPoint]);
  const scale = t.constant(Tensor.float32([], [output.scale]));
  const zeroPoint = t.constant(new Tensor(zp.dataType, [], zp.storage));
  const [q] = t.node('QuantizeLinear', [result, scale, zeroPoint]);
  const [y] = t.node('DequantizeLinear', [q!, scale, zeroPoint]);
  t.output(y!, [n]);
  return exportModel(t.model);
}

async function sameAtEveryLevel(bytes: Uint8Array, inputs: Float32Array[]): Promise<number> {
  const feeds = inputs.map((data) => ({ shape: [data.length], data }));
  const [reference] = await runModel(bytes, 'disabled', feeds);
  let unequal = 0;
  for (const level of ['extended', 'all'] as const) {
    const [got] = await runModel(bytes, level, feeds);
    for (let i = 0; i < got!.data.length; i++) if (got!.data[i] !== reference!.data[i]) unequal++;
  }
  return unequal;
}

describe("onnxruntime's integer kernels equal the float operators they replace", () => {
  const cells = corpusCases().flatMap((c) => recognizeCells(readModel(c.file('qcdq-int'))).map((cell) => ({ name: c.name, cell })));
  // Distinct quantizer combinations only: many cells share their scales.
  const distinct = <T extends Quantizer[]>(list: { name: string; qs: T }[]) =>
    [...new Map(list.map((e) => [JSON.stringify(e.qs), e])).values()];
  const sigmoids = distinct(cells.flatMap(({ name, cell: { quantizers: q } }) =>
    ([[q.input_acc, q.input_sigmoid], [q.forget_acc, q.forget_sigmoid], [q.output_acc, q.output_sigmoid]] as const).map((qs) => ({ name, qs: [...qs] })),
  ));
  const products = distinct(cells.flatMap(({ name, cell: { quantizers: q } }) =>
    ([[q.input_sigmoid, q.cell_tanh, q.cell_state], [q.output_sigmoid, q.hidden_state_tanh, q.output]] as const).map((qs) => ({ name, qs: [...qs] })),
  ));

  it(`QLinearSigmoid, for every code of the corpus cells' gate accumulators (${sigmoids.length} quantizer pairs)`, async () => {
    for (const { name, qs: [acc, act] } of sigmoids) {
      const bytes = quantizedModel([acc!], act!, 256, (t, [x]) => t.node('Sigmoid', [x!])[0]!);
      assert.equal(await sameAtEveryLevel(bytes, [Float32Array.from(codes(acc!))]), 0, name);
    }
  });
  it(`QLinearMul, for every pair of codes of i * g and o * tanh(c) (${products.length} quantizer triples)`, async () => {
    for (const { name, qs: [a, b, out] } of products) {
      const [codesA, codesB] = [codes(a!), codes(b!)];
      const left = Float32Array.from({ length: 65536 }, (_, i) => codesA[i >> 8]!);
      const right = Float32Array.from({ length: 65536 }, (_, i) => codesB[i & 255]!);
      const bytes = quantizedModel([a!, b!], out!, 65536, (t, [x, y]) => t.node('Mul', [x!, y!])[0]!);
      assert.equal(await sameAtEveryLevel(bytes, [left, right]), 0, name);
    }
  });
});
