import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { tensorType } from '../src/ir/type-info.js';
import { corpusCase, corpusCases, ROOT } from './helpers/corpus.js';
import { duplicateNames, opCounts, readsBeforeDefinition } from './helpers/graph-checks.js';

function converted(file: string, layout: 'fused' | 'plain' = 'fused') {
  const model = readModel(file);
  convertModel(model, { layout });
  return model;
}

describe('a converted model is ready to run', () => {
  for (const c of corpusCases()) {
    for (const flavour of c.flavours) {
      it(`${c.name} (${flavour})`, () => {
        const original = readModel(c.file(flavour));
        const model = converted(c.file(flavour));
        const graph = model.graph;
        assert.deepEqual(
          model.opsetImports.map((o) => o.domain ?? ''),
          [''],
          'only the default domain is imported',
        );
        const initializers = new Set(graph.initializers);
        assert.ok(graph.inputs.every((v) => !initializers.has(v)), 'no initializer is listed as a graph input');
        assert.deepEqual(graph.inputs.map((v) => v.name), c.meta.names_by_flavour[flavour]?.input_names ?? c.meta.input_names);
        assert.deepEqual(graph.outputs.map((v) => v.name), original.graph.outputs.map((v) => v.name), 'graph output names');
        assert.deepEqual(readsBeforeDefinition(graph), [], 'topologically sorted, every read defined');
        assert.deepEqual(duplicateNames(graph), [], 'unique names');
        const read = new Set(graph.nodes.flatMap((n) => [...n.inputs, ...n.implicitInputs()]));
        assert.deepEqual(graph.initializers.filter((v) => !read.has(v)).map((v) => v.name), [], 'no unused initializer');
        assert.ok(graph.nodes.every((n) => n.opType !== 'QuantLSTMCell'), 'no QuantLSTMCell left');
        const x = graph.inputs[0]!.info.type;
        assert.ok(x?.kind === 'tensor' && x.shape?.some((d) => d.param === 'sequence_length'), 'the time axis is symbolic');
      });
    }
  }

  it('is the same bytes every time', () => {
    for (const name of ['seed_i10_h20', 'bidir_i10_h20', 'layers2_i10_h20']) {
      const file = corpusCase(name).file('qcdq');
      assert.equal(Buffer.compare(Buffer.from(exportModel(converted(file))), Buffer.from(exportModel(converted(file)))), 0, name);
    }
  });

  it('loads in onnxruntime without a single warning, at every level', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qlstm-warn-'));
    const files = corpusCases().map((c) => {
      const out = path.join(dir, `${c.name}.onnx`);
      fs.writeFileSync(out, exportModel(converted(c.file(c.flavours[0]!))));
      return out;
    });
    const script = `
      const ort = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'onnxruntime-node'))});
      (async () => {
        for (const f of process.argv.slice(1))
          for (const level of ['disabled', 'basic', 'extended', 'all'])
            await ort.InferenceSession.create(f, { graphOptimizationLevel: level, logSeverityLevel: 2 });
      })().catch((e) => { console.error(e.message); process.exit(1); });`;
    const run = spawnSync(process.execPath, ['-e', script, ...files], { encoding: 'utf8' });
    // Control: the same check sees the warning an initializer listed as a graph input causes.
    const noisy = converted(corpusCase('seed_i10_h20').file('qcdq'));
    const listed = noisy.graph.initializers[0]!;
    listed.info = { type: tensorType(listed.constant!.dataType, [...listed.constant!.dims]) };
    noisy.graph.inputs.push(listed);
    const noisyFile = path.join(dir, 'noisy.onnx');
    fs.writeFileSync(noisyFile, exportModel(noisy));
    const control = spawnSync(process.execPath, ['-e', script, noisyFile], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '', 'onnxruntime printed warnings');
    assert.match(control.stderr, /appears in graph inputs/, 'the control model should make onnxruntime warn');
  });
});

// What the Scan bodies are made of, per layout: a regression here is a change of arithmetic
// or of speed, and deserves a look.
describe('op counts', () => {
  // The one-iteration projection Scan's body (fused layout): x flattened to rows, one Gemm with
  // the stacked input weights, reshaped back to [steps, batch, gates x H], x passed through.
  const projection = { Reshape: 2, Gemm: 1, Shape: 1, Slice: 1, Concat: 1, Identity: 1 };
  // The cell update, both layouts: f c, i g and o tanh(c') (3 Mul); the quantizers of i g and
  // of o tanh(c'), which read two dequantized values, in float form (2 x Div, Round, Clip, Mul);
  // the cell-state quantizer of f c and of c' = f c + i g (Add), and the hidden-state tanh
  // quantizer, as QDQ; tanh(c').
  const cases: { name: string; layout: 'fused' | 'plain'; main: Record<string, number>; nested: Record<string, number> }[] = [
    {
      name: 'seed_i10_h20',
      layout: 'fused',
      main: {
        QuantizeLinear: 1, DequantizeLinear: 1, // the export's input quantizer, untouched (weights are constants now)
        Shape: 1, Gather: 1, Concat: 1, ConstantOfShape: 1, // zero initial state sized by the batch
        Unsqueeze: 2, // h_n and c_n of the export
        Scan: 2, // input projection of all steps, then the recurrence
        Squeeze: 1, // the projection's single iteration removed
      },
      nested: {
        ...projection,
        Gemm: 2, // the projection's, and h W_h for all gates
        Add: 3, // + projection, + bias, c' = f c + i g
        Split: 1, // the four gates' accumulators
        QuantizeLinear: 11, DequantizeLinear: 11, // 4 accumulators + 4 activations + f c, c' + tanh(c')
        Div: 2, Round: 2, Clip: 2, // the float-form quantizers: i g, h'
        Mul: 5, // f c, i g, o tanh(c') + the 2 float-form quantizers' "times scale"
        Sigmoid: 3, Tanh: 2,
        Identity: 2, // the projection's pass-through, and h' as a scan output besides the state
      },
    },
    {
      name: 'seed_i10_h20',
      layout: 'plain',
      main: {
        QuantizeLinear: 1, DequantizeLinear: 1,
        Shape: 1, Gather: 1, Concat: 1, ConstantOfShape: 1,
        Scan: 1, // no projection Scan
        Unsqueeze: 2,
      },
      nested: {
        Gemm: 8, // x W and h W for each of 4 gates, weights as constants of the body
        Add: 9, // 4 x (x W + h W, + b), c'
        QuantizeLinear: 11, DequantizeLinear: 11, Div: 2, Round: 2, Clip: 2, Mul: 5,
        Sigmoid: 3, Tanh: 2, Identity: 1,
      },
    },
    {
      name: 'cifg_i10_h20',
      layout: 'plain',
      main: { QuantizeLinear: 1, DequantizeLinear: 1, Shape: 1, Gather: 1, Concat: 1, ConstantOfShape: 1, Scan: 1, Unsqueeze: 2 },
      nested: {
        Gemm: 6, Add: 7, // no forget-gate block
        QuantizeLinear: 9, DequantizeLinear: 9, // 3 accumulators + 3 activations + f c, c' + tanh(c')
        Div: 2, Round: 2, Clip: 2, Mul: 5,
        Sigmoid: 2, Tanh: 2, Identity: 1,
        Sub: 1, // f = Q(1) - i
      },
    },
    {
      name: 'a6_i10_h20',
      layout: 'fused',
      main: {
        QuantizeLinear: 1, Clip: 1, DequantizeLinear: 1, // the 6-bit input quantizer keeps its Clip
        Shape: 1, Gather: 1, Concat: 1, ConstantOfShape: 1, Unsqueeze: 2, Scan: 2, Squeeze: 1,
      },
      nested: {
        ...projection, Gemm: 2, Add: 3, Split: 1, Sigmoid: 3, Tanh: 2, Mul: 5, Div: 2, Round: 2, Identity: 2,
        QuantizeLinear: 11, DequantizeLinear: 11,
        Clip: 13, // 6 bits is narrower than int8/uint8: a Clip in each of the 11 QDQ quantizers, + the 2 float-form clamps
      },
    },
    {
      name: 'state_i10_h20',
      layout: 'fused',
      main: {
        Gather: 2, QuantizeLinear: 3, DequantizeLinear: 3, // the export's input and state quantizers, untouched
        Unsqueeze: 2, Scan: 2, Squeeze: 1, // no zero-state nodes: h0 and c0 are graph inputs
      },
      nested: { ...projection, Gemm: 2, Add: 3, Split: 1, QuantizeLinear: 11, DequantizeLinear: 11, Div: 2, Round: 2, Clip: 2, Mul: 5, Sigmoid: 3, Tanh: 2, Identity: 2 },
    },
  ];
  for (const c of cases) {
    it(`${c.name} (${c.layout})`, () => {
      const counts = opCounts(converted(corpusCase(c.name).file('qcdq-int'), c.layout).graph);
      assert.deepEqual(counts.main, c.main, 'main graph');
      assert.deepEqual(counts.nested, c.nested, 'Scan bodies');
    });
  }
});
