import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { convert } from '../src/convert.js';
import { InternalError, QlstmError } from '../src/errors.js';
import { Tensor } from '../src/ir/tensor.js';
import { decodeModelProto } from '../src/onnx/codec.js';
import { exportModel } from '../src/onnx/export.js';
import { importModel } from '../src/onnx/import.js';
import { Node, Value } from '../src/ir/graph.js';
import { tensorType } from '../src/ir/type-info.js';
import { openSession } from '../src/run/session.js';
import { seededRandom } from '../src/util/random.js';
import { corpusCase } from './helpers/corpus.js';

/**
 * Mutated fixtures (bit flips, truncations, overwritten runs, and edits of tensors,
 * attributes, inputs and op types): each must either convert into a model that onnxruntime
 * loads, or fail with one of qlstm's own user-facing errors. Never an uncaught exception,
 * an InternalError, a crash or a hang, and never a converted model onnxruntime refuses
 * unless the input itself is broken outside what qlstm converts (see controlModel).
 * Deterministic: a failure names its iteration. QLSTM_FUZZ_ITERATIONS runs more.
 */
const ITERATIONS = Number(process.env.QLSTM_FUZZ_ITERATIONS ?? 1000);

const BASES = [
  corpusCase('seed_i10_h20').file('qcdq'),
  corpusCase('state_i10_h20').file('qcdq-int'),
  corpusCase('cifg_i10_h20').file('qonnx'),
  corpusCase('nobias_i12_h24').file('qcdq-int'),
  corpusCase('a6_i10_h20').file('qonnx'),
].map((file) => ({ file, bytes: new Uint8Array(fs.readFileSync(file)) }));

function generator(seed: number): { int(n: number): number; pick<T>(list: readonly T[]): T } {
  const next = seededRandom(seed);
  return { int: (n) => Math.floor(next() * n), pick: (list) => list[Math.floor(next() * list.length)]! };
}

type Random = ReturnType<typeof generator>;

const byteMutations: Record<string, (bytes: Uint8Array, r: Random) => Uint8Array> = {
  'flip bits': (bytes, r) => {
    const out = Uint8Array.from(bytes);
    for (let n = 1 + r.int(8); n > 0; n--) out[r.int(out.length)] ^= 1 << r.int(8);
    return out;
  },
  truncate: (bytes, r) => bytes.slice(0, r.int(bytes.length)),
  'overwrite a run': (bytes, r) => {
    const out = Uint8Array.from(bytes);
    const at = r.int(out.length);
    for (let i = at; i < Math.min(out.length, at + 1 + r.int(32)); i++) out[i] = r.int(256);
    return out;
  },
};

const STRANGE_VALUES = [0, -0, -1, 1e30, -1e30, NaN, Infinity, -Infinity, 1e-45, 0.5, 127, 300];
const OP_TYPES = ['QuantizeLinear', 'DequantizeLinear', 'Clip', 'Add', 'Identity', 'Quant', 'QuantLSTMCell', 'Relu', 'Nonsense'];

const modelEdits: Record<string, (bytes: Uint8Array, r: Random) => Uint8Array> = {
  'edit an initializer value': (bytes, r) =>
    editModel(bytes, (model) => {
      const v = r.pick(model.graph.initializers);
      const t = v.constant!;
      if (t.storage.kind !== 'raw' || t.storage.bytes.length < 4) return;
      const raw = Uint8Array.from(t.storage.bytes);
      const view = new DataView(raw.buffer);
      const at = 4 * r.int(raw.length / 4);
      if (t.dataType === 1) view.setFloat32(at, r.pick(STRANGE_VALUES), true);
      else raw[at] = r.int(256);
      v.constant = new Tensor(t.dataType, t.dims, { kind: 'raw', bytes: raw }, t.name, t.extras);
    }),
  'reshape an initializer': (bytes, r) =>
    editModel(bytes, (model) => {
      const v = r.pick(model.graph.initializers);
      const t = v.constant!;
      const dims = [...t.dims];
      const choice = r.int(3);
      if (choice === 0) dims.push(1 + r.int(3));
      else if (choice === 1) dims.pop();
      else if (dims.length) dims[r.int(dims.length)] = r.pick([0, 1, 2, 7, 2 ** 31, 2 ** 45]);
      v.constant = new Tensor(t.dataType, dims, t.storage, t.name, t.extras);
    }),
  'retype an initializer': (bytes, r) =>
    editModel(bytes, (model) => {
      const v = r.pick(model.graph.initializers);
      const t = v.constant!;
      v.constant = new Tensor(r.pick([1, 2, 3, 6, 7, 10, 11, 0, 99]), t.dims, t.storage, t.name, t.extras);
    }),
  'rewire an input': (bytes, r) =>
    editModel(bytes, (model) => {
      const node = r.pick(model.graph.nodes);
      if (!node.inputs.length) return;
      const values: (Value | null)[] = [null, ...model.graph.initializers, ...model.graph.inputs, ...model.graph.nodes.flatMap((n) => n.outputs)];
      node.setInput(r.int(node.inputs.length), r.pick(values));
    }),
  'change an attribute': (bytes, r) =>
    editModel(bytes, (model) => {
      const node = r.pick(model.graph.nodes);
      if (!node.attributes.length) return;
      const a = r.pick(node.attributes);
      a.value = r.pick([
        { kind: 'int', value: BigInt(r.pick([-1, 0, 1, 2, 99])) },
        { kind: 'string', value: new TextEncoder().encode(r.pick(['ROUND', 'FLOOR', '', 'x'])) },
        { kind: 'float', value: r.pick(STRANGE_VALUES) },
        { kind: 'none' },
      ] as const);
    }),
  'change an op type': (bytes, r) =>
    editModel(bytes, (model) => {
      r.pick(model.graph.nodes).opType = r.pick(OP_TYPES);
    }),
  'delete a node': (bytes, r) =>
    editModel(bytes, (model) => {
      const node = r.pick(model.graph.nodes);
      model.graph.nodes.splice(model.graph.nodes.indexOf(node), 1);
      node.detach();
    }),
};

function editModel(bytes: Uint8Array, edit: (model: ReturnType<typeof importModel>) => void): Uint8Array {
  const model = importModel(decodeModelProto(bytes, 'fuzz'), 'fuzz');
  edit(model);
  return exportModel(model);
}

/** Whether onnxruntime loads `bytes` at its highest optimization level (as qlstm convert checks); the reason when not. */
async function loads(bytes: Uint8Array): Promise<string | undefined> {
  try {
    const session = await openSession(bytes, { level: 'all', threads: 1 });
    await session.release();
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

/**
 * The mutated input with every node of a custom domain (the cells, qonnx Quant nodes)
 * replaced by float stand-ins: its outputs become copies of new graph inputs, and each of
 * its inputs is still read (by an Identity), so an input that nothing defines stays an
 * error. What is left is the input minus the semantics qlstm replaces. If onnxruntime
 * refuses even that, a converted model that does not load is the input's fault (qlstm
 * reports it, exit 2); if it loads, the converted model's refusal is qlstm's bug. Written
 * here, apart from src/recognize and src/scan, so the oracle does not share their code.
 */
function controlModel(bytes: Uint8Array): Uint8Array {
  const model = importModel(decodeModelProto(bytes, 'control'), 'control');
  const graph = model.graph;
  graph.nodes = graph.nodes.map((node, i) => {
    if (node.domain === '' || node.domain === 'ai.onnx') return node;
    const reads = node.inputs.filter((v): v is Value => v !== null).map((input, k) =>
      new Node({ opType: 'Identity', name: `control_read_${i}_${k}`, inputs: [input], outputs: [new Value(`control_read_${i}_${k}`)] }));
    node.detach();
    const outputs = node.outputs.filter((o) => o.name !== '');
    const standIns = outputs.map((output, k) => {
      const input = new Value(`control_stand_in_${i}_${k}`);
      input.info = { type: tensorType(1) };
      graph.inputs.push(input);
      return new Node({ opType: 'Identity', name: `control_stand_in_${i}_${k}`, inputs: [input], outputs: [output] });
    });
    return [...reads, ...standIns];
  }).flat();
  model.opsetImports = model.opsetImports.filter((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  return exportModel(model);
}

describe('fuzz', () => {
  it(`${ITERATIONS} mutated fixtures convert to loadable models or fail cleanly`, { timeout: 10 * 60 * 1000 }, async (t) => {
    const outcomes = new Map<string, number>();
    const failures: string[] = [];
    const mutations = { ...byteMutations, ...modelEdits };
    const names = Object.keys(mutations);
    for (let i = 0; i < ITERATIONS && failures.length < 5; i++) {
      const r = generator(i + 1);
      const base = r.pick(BASES);
      const mutation = r.pick(names);
      const label = `iteration ${i}: ${mutation} of ${base.file.split('/').pop()}`;
      let bytes: Uint8Array;
      try {
        bytes = mutations[mutation]!(base.bytes, r);
      } catch (error) {
        failures.push(`${label}: the mutation itself failed: ${(error as Error).message}`);
        continue;
      }
      let converted: Uint8Array;
      try {
        converted = convert(bytes, { source: 'fuzz.onnx' }).bytes;
      } catch (error) {
        if (error instanceof QlstmError && !(error instanceof InternalError)) {
          outcomes.set(error.constructor.name, (outcomes.get(error.constructor.name) ?? 0) + 1);
        } else {
          failures.push(`${label}: ${(error as Error)?.stack ?? String(error)}`);
        }
        continue;
      }
      const refusal = await loads(converted);
      let outcome = 'converted and loaded';
      if (refusal !== undefined) {
        const inputRefusal = await loads(controlModel(bytes));
        if (inputRefusal === undefined) {
          failures.push(`${label}: qlstm wrote a model onnxruntime refuses, while the rest of the input loads: ${refusal}`);
          continue;
        }
        outcome = 'converted, but the input is broken elsewhere (exit 2)';
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.deepEqual(failures, []);
    // The mutations must reach every outcome, or the test proves little.
    assert.ok((outcomes.get('converted and loaded') ?? 0) > ITERATIONS / 20, JSON.stringify([...outcomes]));
    assert.ok((outcomes.get('InputError') ?? 0) + (outcomes.get('UnsupportedModelError') ?? 0) > ITERATIONS / 5, JSON.stringify([...outcomes]));
    assert.ok((outcomes.get('converted, but the input is broken elsewhere (exit 2)') ?? 0) > 0, JSON.stringify([...outcomes]));
  });
});
