import ort from 'onnxruntime-node';
import { DataType } from '../src/ir/data-type.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { tensorType } from '../src/ir/type-info.js';
import { exportModel } from '../src/onnx/export.js';
import { activationUnit, type ActivationKind } from '../src/reference/activation.js';

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

const bits = new Float32Array(1);
const bitsInt = new Uint32Array(bits.buffer);
const POW2 = Float64Array.from({ length: 256 }, (_, e) => 2 ** (Math.max(e, 1) - 150));

/** ulp32(v) without logarithms: the exponent of fround(v), one binade lower if v is below it. */
function fastUlp(v: number): number {
  const a = Math.abs(v);
  bits[0] = a;
  const e = (bitsInt[0]! >>> 23) & 0xff;
  return e > 1 && a < POW2[e]! * 2 ** 23 ? POW2[e - 1]! : POW2[e]!;
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
  let unit: Worst = { error: 0, x: 0, got: 0, want: 0 };
  let ulps: Worst = { error: 0, x: 0, got: 0, want: 0 };
  let absolute: Worst = { error: 0, x: 0, got: 0, want: 0 };
  let count = 0;
  const started = Date.now();
  const sigmoid = kind === 'sigmoid';
  for (const sign of [0, 0x80000000]) {
    for (let start = 0; start <= limitBits; start += CHUNK) {
      const n = Math.min(CHUNK, limitBits - start + 1);
      for (let i = 0; i < n; i++) inputBits[i] = (start + i) | sign;
      const x = n === CHUNK ? inputs : inputs.subarray(0, n);
      const result = await session.run({ x: new ort.Tensor('float32', x, [n]) });
      const y = result.y!.data as Float32Array;
      for (let i = 0; i < n; i++) {
        const xi = x[i]!;
        const want = sigmoid ? 1 / (1 + Math.exp(-xi)) : Math.tanh(xi);
        const difference = Math.abs(y[i]! - want);
        if (difference === 0) continue;
        if (difference > absolute.error) absolute = { error: difference, x: xi, got: y[i]!, want };
        // the unit of ACTIVATION_ULPS: ulps of max(|f|, 1/2), 2^-24 below 1 and 2^-23 at 1
        const inUnits = difference / (Math.abs(want) >= 1 ? 2 ** -23 : 2 ** -24);
        if (inUnits > unit.error) unit = { error: inUnits, x: xi, got: y[i]!, want };
        const inUlps = difference / fastUlp(want);
        if (inUlps > ulps.error) ulps = { error: inUlps, x: xi, got: y[i]!, want };
      }
      count += n;
    }
    console.log(`  ${kind}: ${sign ? 'negative' : 'positive'} inputs done, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  await session.release();
  // the unit used above must be the library's
  for (const v of [0.3, 0.5, 0.99, 1]) if (activationUnit(v) !== (v >= 1 ? 2 ** -23 : 2 ** -24)) throw new Error(`activationUnit(${v}) changed`);
  const show = (w: Worst) => `${w.error.toPrecision(4)} at x=${w.x} (got ${w.got}, true ${w.want})`;
  console.log(`onnxruntime ${kind}: ${count} inputs (${all ? 'all finite float32' : '|x| <= 20'}), ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`  error in ACTIVATION_ULPS units: ${show(unit)}`);
  console.log(`  error in ulps of the output:    ${show(ulps)}`);
  console.log(`  absolute error:                  ${show(absolute)}`);
}

const all = process.argv.includes('--all');
for (const kind of ['sigmoid', 'tanh'] as const) await measure(kind, all);
