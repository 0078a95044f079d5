import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { convert } from '../src/convert.js';
import { InternalError, QlstmError } from '../src/errors.js';
import type { Value } from '../src/ir/graph.js';
import { Tensor } from '../src/ir/tensor.js';
import { decodeModelProto } from '../src/onnx/codec.js';
import { exportModel } from '../src/onnx/export.js';
import { importModel } from '../src/onnx/import.js';
import { assertRuntimeLoads } from '../src/run/load-check.js';
import { seededRandom } from '../src/util/random.js';
import { corpusCase } from './helpers/corpus.js';

/**
 * Thousands of mutated fixtures (bit flips, truncations, overwritten runs, and edits of
 * tensors, attributes, inputs and op types): each must either convert into a model that
 * onnxruntime loads, or fail with one of qlstm's own errors. Never an uncaught exception,
 * an InternalError, a crash or a hang. Deterministic: a failure names its iteration.
 */
const ITERATIONS = Number(process.env.QLSTM_FUZZ_ITERATIONS ?? 3000);

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
      let outcome: string;
      try {
        const converted = convert(bytes, { source: 'fuzz.onnx' });
        await assertRuntimeLoads(converted.bytes, 'fuzz.onnx');
        outcome = 'converted and loaded';
      } catch (error) {
        if (error instanceof QlstmError && !(error instanceof InternalError)) {
          outcome = `${error.constructor.name}`;
        } else {
          failures.push(`${label}: ${(error as Error)?.stack ?? String(error)}`);
          continue;
        }
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.deepEqual(failures, []);
    // The mutations must reach both outcomes, or the test proves little.
    assert.ok((outcomes.get('converted and loaded') ?? 0) > ITERATIONS / 20, JSON.stringify([...outcomes]));
    assert.ok((outcomes.get('InputError') ?? 0) + (outcomes.get('UnsupportedModelError') ?? 0) > ITERATIONS / 5, JSON.stringify([...outcomes]));
  });
});
