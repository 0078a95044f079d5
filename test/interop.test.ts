import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { convert } from '../src/convert.js';
import { decodeModelProto } from '../src/onnx/codec.js';
import type { GraphProto, NodeProto, TensorProto } from '../src/onnx/proto-types.js';
import { LAYOUTS } from '../src/scan/scan.js';
import { corpusCases } from './helpers/corpus.js';

// What qonnx (and so FINN) needs from the Scan bodies qlstm writes, read from the ONNX
// messages by name, as qonnx reads them (docs/notes/interop-findings.md gives the qonnx code
// behind each rule; `npm run interop` runs the models in qonnx itself):
// - F2/F3: a body reads nothing from the outer graph. qonnx runs a Scan as a one-node model
//   fed with the node's inputs only, and cleanup_model renames and prunes outer tensors
//   without looking into bodies.
// - F5: every QuantizeLinear/DequantizeLinear in a body has explicit scalar scale and zero
//   point initializers of that body, a QuantizeLinear feeds (through at most one Clip with
//   scalar initializer bounds min <= 0 < max) DequantizeLinears with the same scale and zero
//   point: QCDQToQuant pairs them by name or value and asserts the Clip bounds.
// - F6: every body input and output declares its element type and rank. For an untyped
//   body output onnx's shape inference (which cleanup_model runs) adds a second ValueInfo
//   of that name to the body, and every qonnx transform that enters bodies
//   (apply_to_subgraphs=True) then fails: "Multiple ValueInfoProto found for ...".

const INT8 = 3;
const UINT8 = 2;
const FLOAT = 1;

function scalarOf(t: TensorProto): number {
  const dims = t.dims.map(Number);
  assert.equal(dims.length, 0, `initializer "${t.name}" has shape [${dims}], expected a scalar`);
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    if (t.dataType === INT8) return view.getInt8(0);
    if (t.dataType === UINT8) return view.getUint8(0);
    if (t.dataType === FLOAT) return view.getFloat32(0, true);
  }
  if (t.dataType === FLOAT && t.floatData.length === 1) return t.floatData[0]!;
  if ((t.dataType === INT8 || t.dataType === UINT8) && t.int32Data.length === 1) return t.int32Data[0]!;
  throw new Error(`initializer "${t.name}": cannot read data type ${t.dataType}`);
}

function bodiesOf(graph: GraphProto): GraphProto[] {
  return graph.node.flatMap((n) => n.attribute.flatMap((a) => [...(a.g ? [a.g] : []), ...a.graphs]));
}

/** Names a body node reads that the body neither declares, holds nor computes. */
function outerReads(body: GraphProto): string[] {
  const known = new Set([...body.input.map((i) => i.name), ...body.initializer.map((i) => i.name), ...body.node.flatMap((n) => n.output)]);
  return [...new Set(body.node.flatMap((n) => n.input).filter((name) => name !== '' && !known.has(name)))];
}

function checkQdq(body: GraphProto, where: string): string[] {
  const problems: string[] = [];
  const initializers = new Map(body.initializer.map((t) => [t.name!, t]));
  const consumers = (name: string) => body.node.filter((n) => n.input.includes(name));
  const quantizers = body.node.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
  for (const n of quantizers) {
    if (n.input.length !== 3 || n.input.some((i) => !initializers.has(i) && i !== n.input[0])) {
      problems.push(`${where}: ${n.opType} "${n.name}" inputs [${n.input}]: scale and zero point must be initializers of the body`);
      continue;
    }
    for (const i of n.input.slice(1)) {
      try {
        scalarOf(initializers.get(i)!);
      } catch (e) {
        problems.push(`${where}: ${n.opType} "${n.name}": ${(e as Error).message}`);
      }
    }
    if (n.attribute.some((a) => a.name === 'axis')) problems.push(`${where}: ${n.opType} "${n.name}" has an axis attribute (per-axis)`);
  }
  for (const q of quantizers.filter((n) => n.opType === 'QuantizeLinear')) {
    const [, scale, zeroPoint] = q.input as [string, string, string];
    let next: NodeProto[] = consumers(q.output[0]!);
    const clip = next.length === 1 && next[0]!.opType === 'Clip' ? next[0]! : null;
    if (clip) {
      const [lo, hi] = clip.input.slice(1).map((b) => (initializers.has(b) ? scalarOf(initializers.get(b)!) : NaN));
      if (!(lo! <= 0 && hi! > 0)) problems.push(`${where}: Clip "${clip.name}" bounds [${lo}, ${hi}]: qonnx asserts min <= 0 < max`);
      next = consumers(clip.output[0]!);
    }
    if (next.length === 0 || next.some((d) => d.opType !== 'DequantizeLinear')) {
      problems.push(`${where}: QuantizeLinear "${q.name}" feeds ${next.map((d) => d.opType).join(', ') || 'nothing'}, expected DequantizeLinear`);
      continue;
    }
    for (const dq of next) {
      const same = (a: string, b: string) => a === b || scalarOf(initializers.get(a)!) === scalarOf(initializers.get(b)!);
      if (!same(dq.input[1]!, scale) || !same(dq.input[2]!, zeroPoint)) {
        problems.push(`${where}: QuantizeLinear "${q.name}" and DequantizeLinear "${dq.name}" have different scale or zero point`);
      }
    }
  }
  return problems;
}

/** Every rule above, over every body at any depth. */
function qonnxProblems(bytes: Uint8Array, file: string): string[] {
  const problems: string[] = [];
  const visit = (graph: GraphProto, where: string) => {
    for (const body of bodiesOf(graph)) {
      const here = `${where} > ${body.name ?? 'body'}`;
      for (const v of [...body.input, ...body.output]) {
        const tensor = v.type?.tensorType;
        if (!tensor?.elemType || !tensor.shape) problems.push(`${here}: "${v.name}" declares no element type and shape`);
      }
      const reads = outerReads(body);
      if (reads.length) problems.push(`${here}: reads outer values ${reads.map((r) => `"${r}"`).join(', ')}`);
      problems.push(...checkQdq(body, here));
      visit(body, here);
    }
  };
  visit(decodeModelProto(bytes, file).graph!, file);
  return problems;
}

for (const layout of LAYOUTS) {
  describe(`--layout ${layout}: Scan bodies keep what qonnx needs`, () => {
    for (const c of corpusCases()) {
      for (const flavour of c.flavours) {
        it(`${c.name} (${flavour})`, () => {
          const file = c.file(flavour);
          const { bytes } = convert(fs.readFileSync(file), { source: file, layout });
          const bodies = bodiesOf(decodeModelProto(bytes, file).graph!);
          assert.ok(bodies.length > 0, 'the converted model has no Scan body');
          assert.deepEqual(qonnxProblems(bytes, file), []);
        });
      }
    }
  });
}
