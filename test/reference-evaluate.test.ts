import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { attr, type Attribute } from '../src/ir/attribute.js';
import { DataType } from '../src/ir/data-type.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/type-info.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { ConstantEvaluator, type Constant } from '../src/reference/evaluate.js';
import { OPTIMIZATION_LEVELS, openSession } from '../src/run/session.js';
import { corpusCases } from './helpers/corpus.js';
import { runProbe } from './helpers/reference-corpus.js';

/**
 * The reference's constant evaluator against onnxruntime, the oracle for ONNX semantics: every
 * constant input of every cell in the corpus, and a table of small constant graphs covering
 * each operator and option the evaluator claims. onnxruntime runs each at every optimization
 * level (twice); qonnx Quant nodes run as the standard operators of qonnx's formula.
 */
function sameConstant(got: Constant, want: { shape: number[]; data: Float32Array }, what: string): void {
  assert.deepEqual(got.dims, want.shape, `${what}: shape`);
  const bad = [...got.data].findIndex((v, i) => !Object.is(Math.fround(v) + 0, want.data[i]! + 0));
  assert.equal(bad, -1, `${what}: element ${bad}: ${got.data[bad]} vs onnxruntime ${want.data[bad]}`);
}

describe('constant evaluator against onnxruntime: every constant cell input in the corpus', () => {
  for (const c of corpusCases()) {
    for (const flavour of c.flavours) {
      it(`${c.name} ${flavour}`, async () => {
        const file = c.file(flavour);
        const model = readModel(file);
        const evaluator = new ConstantEvaluator(model);
        const wanted = new Map<string, Constant>();
        let evaluated = 0;
        const cells = model.graph.nodes.filter((n) => n.opType === 'QuantLSTMCell');
        for (const node of cells) {
          node.inputs.forEach((value, index) => {
            if (!value || index === 0) return;
            try {
              wanted.set(value.name, evaluator.evaluate(value));
              evaluated++;
            } catch (error) {
              // only the states may be non-constant (graph inputs)
              assert.ok(index <= 2, `input ${index}: ${(error as Error).message}`);
            }
          });
        }
        // 44 weights, biases and quantizer parameters per cell (40 without biases), states when constant
        assert.ok(evaluated >= 40 * cells.length, `${evaluated} inputs evaluated`);
        const got = await runProbe(file, [...wanted.keys()], new Map(), OPTIMIZATION_LEVELS);
        for (const [name, constant] of wanted) sameConstant(constant, got.get(name)!, name);
      });
    }
  }
});

/** A constant graph: initializers and nodes; the output value is compared. */
interface Case {
  name: string;
  opset: number;
  build: (b: Builder) => Value;
}

class Builder {
  readonly graph = new Graph();
  private count = 0;
  tensor(type: number, dims: number[], values: number[]): Value {
    const data = type === DataType.FLOAT ? Float32Array.from(values) : typed(type, values);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return this.graph.addInitializer(`t${this.count++}`, new Tensor(type, dims, { kind: 'raw', bytes: Uint8Array.from(bytes) }));
  }
  float(dims: number[], values: number[]): Value {
    return this.tensor(DataType.FLOAT, dims, values);
  }
  node(opType: string, inputs: (Value | null)[], attributes: Attribute[] = [], domain = ''): Value {
    const out = new Value(`v${this.count++}`);
    this.graph.nodes.push(new Node({ opType, domain, name: out.name, inputs, outputs: [out], attributes }));
    return out;
  }
}

function typed(type: number, values: number[]): ArrayBufferView & { buffer: ArrayBufferLike } {
  switch (type) {
    case DataType.INT8:
      return Int8Array.from(values);
    case DataType.UINT8:
      return Uint8Array.from(values);
    case DataType.INT16:
      return Int16Array.from(values);
    case DataType.UINT16:
      return Uint16Array.from(values);
    case DataType.INT32:
      return Int32Array.from(values);
    case DataType.INT64:
      return BigInt64Array.from(values.map(BigInt));
    default:
      throw new Error(`type ${type}`);
  }
}

const F = DataType.FLOAT;
const wide = [-1000, -3.7, -2.5, -1.5, -0.5, -0.2, 0, 0.2, 0.5, 1.5, 2.5, 3.7, 126.4, 127.5, 1000, 70000.5];
const CASES: Case[] = [
  { name: 'QuantizeLinear int8, per tensor, saturating', opset: 13, build: (b) => b.node('QuantizeLinear', [b.float([16], wide), b.float([], [0.5]), b.tensor(DataType.INT8, [], [3])]) },
  { name: 'QuantizeLinear uint8, no zero point (default type)', opset: 13, build: (b) => b.node('QuantizeLinear', [b.float([16], wide), b.float([], [0.37])]) },
  { name: 'QuantizeLinear per axis 0', opset: 13, build: (b) => b.node('QuantizeLinear', [b.float([4, 4], wide), b.float([4], [0.1, 0.5, 2, 7]), b.tensor(DataType.INT8, [4], [0, 1, -1, 5])], [attr.int('axis', 0)]) },
  { name: 'QuantizeLinear per axis -1', opset: 13, build: (b) => b.node('QuantizeLinear', [b.float([4, 4], wide), b.float([4], [0.1, 0.5, 2, 7]), b.tensor(DataType.UINT8, [4], [0, 10, 128, 255])], [attr.int('axis', -1)]) },
  { name: 'QuantizeLinear int16 (opset 21)', opset: 21, build: (b) => b.node('QuantizeLinear', [b.float([16], wide), b.float([], [0.01]), b.tensor(DataType.INT16, [], [-7])]) },
  { name: 'QuantizeLinear uint16 by output_dtype, no zero point (opset 21)', opset: 21, build: (b) => b.node('QuantizeLinear', [b.float([16], wide), b.float([], [0.02])], [attr.int('output_dtype', DataType.UINT16)]) },
  { name: 'DequantizeLinear int8 per tensor', opset: 13, build: (b) => b.node('DequantizeLinear', [b.tensor(DataType.INT8, [5], [-128, -1, 0, 7, 127]), b.float([], [0.0123]), b.tensor(DataType.INT8, [], [-3])]) },
  { name: 'DequantizeLinear uint8 per axis 1', opset: 13, build: (b) => b.node('DequantizeLinear', [b.tensor(DataType.UINT8, [2, 3], [0, 1, 2, 250, 254, 255]), b.float([3], [0.1, 0.2, 0.37]), b.tensor(DataType.UINT8, [3], [0, 128, 255])], [attr.int('axis', 1)]) },
  { name: 'DequantizeLinear int32 (biases)', opset: 13, build: (b) => b.node('DequantizeLinear', [b.tensor(DataType.INT32, [4], [-123456789, -1, 5, 16777217]), b.float([], [1.1920929e-7])]) },
  { name: 'DequantizeLinear int16 and uint16 (opset 21)', opset: 21, build: (b) => b.node('Add', [b.node('DequantizeLinear', [b.tensor(DataType.INT16, [3], [-32768, 5, 32767]), b.float([], [0.001]), b.tensor(DataType.INT16, [], [2])]), b.node('DequantizeLinear', [b.tensor(DataType.UINT16, [3], [0, 40000, 65535]), b.float([], [0.0001])])]) },
  { name: 'Clip of int8 codes (weights), then DequantizeLinear', opset: 13, build: (b) => b.node('DequantizeLinear', [b.node('Clip', [b.tensor(DataType.INT8, [4], [-128, -127, 0, 127]), b.tensor(DataType.INT8, [], [-127]), b.tensor(DataType.INT8, [], [127])]), b.float([], [0.05])]) },
  { name: 'Clip of floats, one bound', opset: 13, build: (b) => b.node('Clip', [b.float([16], wide), b.float([], [-2])]) },
  { name: 'Reshape with 0 and -1, Squeeze and Unsqueeze by input (opset 13)', opset: 13, build: (b) => b.node('Unsqueeze', [b.node('Squeeze', [b.node('Reshape', [b.float([2, 8], wide), b.tensor(DataType.INT64, [3], [0, -1, 1])]), b.tensor(DataType.INT64, [1], [2])]), b.tensor(DataType.INT64, [1], [0])]) },
  { name: 'Squeeze and Unsqueeze by attribute (opset 11)', opset: 11, build: (b) => b.node('Squeeze', [b.node('Unsqueeze', [b.float([16], wide)], [attr.ints('axes', [0, 2])])], [attr.ints('axes', [0])]) },
  { name: 'Cast float to int8 and back, Identity', opset: 13, build: (b) => b.node('Cast', [b.node('Identity', [b.node('Cast', [b.float([6], [-3.7, -0.5, 0, 0.5, 3.7, 100.9])], [attr.int('to', DataType.INT8)])])], [attr.int('to', F)]) },
  { name: 'Mul, Div, Add, Sub with broadcasting', opset: 13, build: (b) => b.node('Sub', [b.node('Div', [b.node('Mul', [b.float([2, 8], wide), b.float([8], [0.1, 0.3, 3, 7, 1e-3, 1.7, 9, 0.37])]), b.float([2, 1], [0.7, 3])]), b.node('Add', [b.float([1, 8], [1, 2, 3, 4, 5, 6, 7, 8]), b.float([], [0.1])])]) },
  { name: 'Constant nodes (value, value_float, value_floats)', opset: 13, build: (b) => b.node('Add', [b.node('Mul', [b.node('Constant', [], [attr.tensor('value', Tensor.float32([2], [1.5, -2]))]), b.node('Constant', [], [attr.float('value_float', 0.1)])]), b.node('Constant', [], [{ name: 'value_floats', value: { kind: 'floats', value: [0.3, 0.7] }, declaredType: 6 }])]) },
  {
    name: 'qonnx Quant, per-channel scale, zero point, narrow, ROUND',
    opset: 13,
    build: (b) => b.node('Quant', [b.float([4, 4], wide), b.float([4, 1], [0.1, 0.5, 2, 7]), b.float([], [2]), b.float([], [6])], [attr.int('signed', 1), attr.int('narrow', 1), { name: 'rounding_mode', value: { kind: 'string', value: new TextEncoder().encode('ROUND') }, declaredType: 3 }], 'qonnx.custom_op.general'),
  },
  {
    name: 'qonnx Quant, unsigned, FLOOR, onnx.brevitas domain',
    opset: 13,
    build: (b) => b.node('Quant', [b.float([16], wide), b.float([], [0.3]), b.float([], [0]), b.float([], [8])], [attr.int('signed', 0), attr.int('narrow', 0), { name: 'rounding_mode', value: { kind: 'string', value: new TextEncoder().encode('FLOOR') }, declaredType: 3 }], 'onnx.brevitas'),
  },
  {
    name: 'qonnx Quant of 32 bits (biases), CEIL',
    opset: 13,
    build: (b) => b.node('Quant', [b.float([16], wide), b.float([], [1e-6]), b.float([], [0]), b.float([], [32])], [attr.int('signed', 1), attr.int('narrow', 0), { name: 'rounding_mode', value: { kind: 'string', value: new TextEncoder().encode('CEIL') }, declaredType: 3 }], 'qonnx.custom_op.general'),
  },
];

describe('constant evaluator against onnxruntime: each operator', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const b = new Builder();
      const value = c.build(b);
      const model = new Model(b.graph, 'constants.onnx');
      model.irVersion = 10n;
      model.opsetImports = [{ domain: '', version: BigInt(c.opset) }, { domain: 'qonnx.custom_op.general', version: 1n }, { domain: 'onnx.brevitas', version: 1n }];
      const constant = new ConstantEvaluator(model).evaluate(value);
      const want = await onnxruntimeValue(model, value);
      sameConstant(constant, want, c.name);
    });
  }
});

/** The value computed by onnxruntime (qonnx Quant lowered as in the probe helper). */
async function onnxruntimeValue(model: Model, value: Value): Promise<{ shape: number[]; data: Float32Array }> {
  const out = new Value('out');
  out.info = { type: tensorType(F) };
  model.graph.nodes.push(new Node({ opType: 'Cast', name: 'to_float', inputs: [value], outputs: [out], attributes: [attr.int('to', F)] }));
  model.graph.outputs = [out];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qlstm-eval-'));
  const file = path.join(dir, 'constants.onnx');
  fs.writeFileSync(file, exportModel(model));
  try {
    if (model.graph.nodes.some((n) => n.opType === 'Quant')) return (await runProbe(file, [value.name], new Map(), OPTIMIZATION_LEVELS)).get(value.name)!;
    let result: { shape: number[]; data: Float32Array } | undefined;
    for (const level of OPTIMIZATION_LEVELS) {
      const session = await openSession(exportModel(model), { level });
      for (let run = 0; run < 2; run++) {
        const got = (await session.run({})).out!;
        if (result) assert.deepEqual(got, result, `level ${level}`);
        result = got;
      }
      await session.release();
    }
    return result!;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
