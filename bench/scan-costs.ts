import ort from 'onnxruntime-node';
import { attr, type Attribute } from '../src/ir/attribute.js';
import { DataType } from '../src/ir/data-type.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/type-info.js';
import { exportModel } from '../src/onnx/export.js';

/**
 * npm run bench:scan-costs
 *
 * What one operator costs inside a Scan step in onnxruntime (one thread, level all): a
 * 100-step Scan whose body applies the operator 20 times to a [B, 512] tensor, minus the
 * same Scan with an empty body, per step and per operator. This is the arithmetic behind
 * the converted model's latency: every node of every step pays it.
 */
const STEPS = 100;
const REPEATS = 20;
const WIDTH = 512;

type Step = (body: Graph, current: Value, c: Record<string, Value>) => Value;

let count = 0;
function op(body: Graph, opType: string, inputs: Value[], attributes: Attribute[] = []): Value {
  const out = new Value(`v${count++}`);
  body.nodes.push(new Node({ opType, inputs, outputs: [out], attributes }));
  return out;
}

const STEPS_UNDER_TEST: Record<string, Step> = {
  'empty body': (_b, x) => x,
  Add: (b, x, c) => op(b, 'Add', [x, c.vector!]),
  Sigmoid: (b, x) => op(b, 'Sigmoid', [x]),
  'QuantizeLinear + DequantizeLinear (+ Add)': (b, x, c) => op(b, 'Add', [op(b, 'DequantizeLinear', [op(b, 'QuantizeLinear', [x, c.scale!, c.zero!]), c.scale!, c.zero!]), c.vector!]),
  'per-axis QuantizeLinear + DequantizeLinear (+ Add)': (b, x, c) =>
    op(b, 'Add', [op(b, 'DequantizeLinear', [op(b, 'QuantizeLinear', [x, c.scales!, c.zeros!], [attr.int('axis', 1)]), c.scales!, c.zeros!], [attr.int('axis', 1)]), c.vector!]),
};

function scanModel(step: Step, batch: number): Uint8Array {
  const graph = new Graph();
  const model = new Model(graph, 'scan-costs');
  model.irVersion = 8n;
  model.opsetImports = [{ domain: '', version: 14n }];
  const x = new Value('x');
  x.info = { type: tensorType(DataType.FLOAT, [STEPS, batch, WIDTH]) };
  graph.inputs.push(x);
  const c = {
    vector: graph.addInitializer('vector', Tensor.float32([WIDTH], Float32Array.from({ length: WIDTH }, (_, i) => 0.001 * i))),
    scale: graph.addInitializer('scale', Tensor.float32([], [0.01])),
    zero: graph.addInitializer('zero', Tensor.int8([], [0])),
    scales: graph.addInitializer('scales', Tensor.float32([WIDTH], new Float32Array(WIDTH).fill(0.01))),
    zeros: graph.addInitializer('zeros', Tensor.int8([WIDTH], new Int8Array(WIDTH))),
  };
  const body = new Graph();
  body.name = 'body';
  const state = new Value('state_in');
  const slice = new Value('x_t');
  for (const v of [state, slice]) v.info = { type: tensorType(DataType.FLOAT, [batch, WIDTH]) };
  let current = op(body, 'Add', [state, slice]);
  for (let i = 0; i < REPEATS; i++) current = step(body, current, c);
  const outputs = [op(body, 'Identity', [current]), op(body, 'Identity', [current])];
  for (const v of outputs) v.info = { type: tensorType(DataType.FLOAT, [batch, WIDTH]) };
  body.inputs = [state, slice];
  body.outputs = outputs;
  const initial = graph.addInitializer('initial', Tensor.float32([batch, WIDTH], new Float32Array(batch * WIDTH)));
  const results = [new Value('last'), new Value('all')];
  for (const v of results) v.info = { type: tensorType(DataType.FLOAT) };
  graph.nodes.push(new Node({ opType: 'Scan', inputs: [initial, x], outputs: results, attributes: [attr.graph('body', body), attr.int('num_scan_inputs', 1)] }));
  graph.outputs = results;
  // Unused constants would only make onnxruntime warn.
  const used = new Set(body.nodes.flatMap((n) => n.inputs));
  graph.initializers = graph.initializers.filter((v) => v === initial || used.has(v));
  return exportModel(model);
}

async function medianMs(bytes: Uint8Array, batch: number): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const x = new ort.Tensor('float32', Float32Array.from({ length: STEPS * batch * WIDTH }, (_, i) => Math.sin(i) * 0.3), [STEPS, batch, WIDTH]);
  const times: number[] = [];
  for (let i = 0; i < 45; i++) {
    const start = process.hrtime.bigint();
    await session.run({ x });
    if (i >= 5) times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  await session.release();
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

for (const batch of [1, 16]) {
  const empty = await medianMs(scanModel(STEPS_UNDER_TEST['empty body']!, batch), batch);
  console.log(`B=${batch}: empty Scan ${((empty * 1000) / STEPS).toFixed(1)} us per step`);
  for (const [name, step] of Object.entries(STEPS_UNDER_TEST).slice(1)) {
    const ms = await medianMs(scanModel(step, batch), batch);
    console.log(`  ${name}: ${(((ms - empty) * 1000) / STEPS / REPEATS).toFixed(2)} us per step, per [${batch}, ${WIDTH}] operation`);
  }
}
