import ort from 'onnxruntime-node';
import { DataType } from '../src/ir/data-type.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { tensorType } from '../src/ir/type-info.js';
import { exportModel } from '../src/onnx/export.js';
import { activationUnit, trueActivation, type ActivationKind } from '../src/reference/activation.js';
import { ulp32 } from '../src/reference/float32.js';

/**
 * npm run bench:activation-error [-- --all]
 *
 * How far onnxruntime's Sigmoid and Tanh are from the true function, over every float32 input
 * with |x| <= 20 (or every finite float32 with --all), in the unit of ACTIVATION_ULPS
 * (src/reference/activation.ts): float32 ulps of max(|f(x)|, 1/2). Also the largest error in
 * ulps of the output itself and in absolute terms. One thread, level all (the kernel is the
 * same at every level). The true value is computed in double (error ~1e-16 relative).
 * bench/activation_error_torch.py measures PyTorch the same way.
 */
const CHUNK = 1 << 22;

function tinyModel(op: string): Uint8Array {
  const graph = new Graph();
  graph.name = op;
  const x = new Value('x');
  x.info = { type: tensorType(DataType.FLOAT, ['n']) };
  const y = new Value('y');
  y.info = { type: tensorType(DataType.FLOAT, ['n']) };
  graph.inputs.push(x);
  graph.outputs.push(y);
  graph.nodes.push(new Node({ opType: op, name: op, inputs: [x], outputs: [y] }));
  const model = new Model(graph, `${op}.onnx`);
  model.irVersion = 8n;
  model.opsetImports = [{ domain: '', version: 14n }];
  return exportModel(model);
}

interface Worst {
  error: number;
  x: number;
  got: number;
  want: number;
}

async function measure(kind: ActivationKind, all: boolean): Promise<void> {
  const session = await ort.InferenceSession.create(tinyModel(kind === 'sigmoid' ? 'Sigmoid' : 'Tanh'), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
  const limitBits = all ? 0x7f7fffff : new Uint32Array(Float32Array.of(20).buffer)[0]!;
  const inputBits = new Uint32Array(CHUNK);
  const inputs = new Float32Array(inputBits.buffer);
  const worst: Record<'unit' | 'ulps' | 'absolute', Worst> = {
    unit: { error: 0, x: 0, got: 0, want: 0 },
    ulps: { error: 0, x: 0, got: 0, want: 0 },
    absolute: { error: 0, x: 0, got: 0, want: 0 },
  };
  let count = 0;
  const started = Date.now();
  for (const sign of [0, 0x80000000]) {
    for (let start = 0; start <= limitBits; start += CHUNK) {
      const n = Math.min(CHUNK, limitBits - start + 1);
      for (let i = 0; i < n; i++) inputBits[i] = (start + i) | sign;
      const x = n === CHUNK ? inputs : inputs.subarray(0, n);
      const result = await session.run({ x: new ort.Tensor('float32', x, [n]) });
      const y = result.y!.data as Float32Array;
      for (let i = 0; i < n; i++) {
        const want = trueActivation(kind, x[i]!);
        const difference = Math.abs(y[i]! - want);
        const errors = { unit: difference / activationUnit(want), ulps: difference / ulp32(want), absolute: difference };
        for (const key of ['unit', 'ulps', 'absolute'] as const) {
          if (errors[key] > worst[key].error) worst[key] = { error: errors[key], x: x[i]!, got: y[i]!, want };
        }
      }
      count += n;
    }
  }
  await session.release();
  const show = (w: Worst) => `${w.error.toPrecision(4)} at x=${w.x} (got ${w.got}, true ${w.want})`;
  console.log(`onnxruntime ${kind}: ${count} inputs (${all ? 'all finite float32' : '|x| <= 20'}), ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`  error in ACTIVATION_ULPS units: ${show(worst.unit)}`);
  console.log(`  error in ulps of the output:    ${show(worst.ulps)}`);
  console.log(`  absolute error:                  ${show(worst.absolute)}`);
}

const all = process.argv.includes('--all');
for (const kind of ['sigmoid', 'tanh'] as const) await measure(kind, all);
