import fs from 'node:fs';
import path from 'node:path';
import { convertModel } from '../../src/convert.js';
import type { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { exportModel } from '../../src/onnx/export.js';
import { readModel } from '../../src/onnx/files.js';
import { recognizeCells } from '../../src/recognize/cell.js';
import { GATES, QUANTIZER_NAMES, type CellDescription, type QuantizedWeight } from '../../src/recognize/description.js';

const f32 = Math.fround;

function dequantized(w: QuantizedWeight): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) {
    const p = w.scale.length === 1 ? 0 : r;
    for (let c = 0; c < w.cols; c++) out[r * w.cols + c] = f32((w.values[r * w.cols + c]! - w.zeroPoint[p]!) * w.scale[p]!);
  }
  return out;
}

/**
 * Writes `qlstm.cells` version 2 (docs/design.md section 4) into a converted model, with the
 * cells' float32 weights added as initializers: input weights stacked and transposed
 * [I, G*H], recurrent weights stacked [G*H, H], biases [G*H]. Built from the recognizer's
 * reading of the original (not from src/reference or src/verify), for tests of golden mode
 * while the converter does not write version 2 itself.
 */
export function writeMetadataV2(converted: Model, original: Model): Record<string, unknown> {
  const cells = recognizeCells(original).map((cell) => describe(converted, cell));
  const metadata = { version: 2, producer: 'qlstm tests', cells };
  converted.setMetadata('qlstm.cells', JSON.stringify(metadata));
  return metadata;
}

function describe(model: Model, cell: CellDescription): Record<string, unknown> {
  const H = cell.hiddenSize;
  const I = cell.inputSize;
  const gates = GATES.filter((g) => !(cell.cifg && g === 'forget'));
  const G = gates.length;
  const prefix = `test_v2/${cell.index}`;
  const inputT = new Float32Array(I * G * H);
  const recurrent = new Float32Array(G * H * H);
  const bias = new Float32Array(G * H);
  gates.forEach((g, k) => {
    const wx = dequantized(cell.inputWeights[g]);
    for (let j = 0; j < H; j++) for (let i = 0; i < I; i++) inputT[i * G * H + k * H + j] = wx[j * I + i]!;
    recurrent.set(dequantized(cell.recurrentWeights[g]), k * H * H);
    if (cell.biases) bias.set(cell.biases[g], k * H);
  });
  model.graph.addInitializer(`${prefix}/W_x_T`, Tensor.float32([I, G * H], inputT));
  model.graph.addInitializer(`${prefix}/W_h`, Tensor.float32([G * H, H], recurrent));
  if (cell.biases) model.graph.addInitializer(`${prefix}/b`, Tensor.float32([G * H], bias));
  const first = cell.inputWeights.input;
  const state = (s: CellDescription['initialHidden']) => (s.kind === 'value' ? s.value.name : null);
  return {
    name: cell.node.name ?? `#${cell.index}`,
    flavour: cell.flavour,
    inputSize: I,
    hiddenSize: H,
    direction: cell.reverse ? 'reverse' : 'forward',
    batchFirst: cell.batchFirst,
    cifg: cell.cifg,
    bias: cell.biases !== null,
    initialState: cell.initialHidden.kind === 'zeros' && cell.initialCell.kind === 'zeros' ? 'zeros' : 'input',
    layout: 'fused',
    weights: { kind: 'integer', bits: first.bitWidth, signed: first.signed, narrow: false, granularity: first.scale.length > 1 ? 'per-channel' : 'per-tensor' },
    quantizers: Object.fromEntries(
      QUANTIZER_NAMES.map((n) => {
        const q = cell.quantizers[n];
        return [n, { scale: q.scale, zeroPoint: q.zeroPoint, bits: q.bitWidth, signed: q.signed, narrow: q.narrow, rounding: q.rounding }];
      }),
    ),
    values: { input: cell.input.name, initialHidden: state(cell.initialHidden), initialCell: state(cell.initialCell), outputs: cell.outputs.map((v) => v.name) },
    parameters: Object.fromEntries(
      gates.map((g, k) => [
        g,
        {
          inputWeight: { tensor: `${prefix}/W_x_T`, transposed: true, offset: k * H },
          recurrentWeight: { tensor: `${prefix}/W_h`, transposed: false, offset: k * H },
          bias: cell.biases ? { tensor: `${prefix}/b`, transposed: false, offset: k * H } : null,
        },
      ]),
    ),
  };
}

/**
 * Converts a corpus export into `dir` (once) and makes sure it carries metadata version 2:
 * the converter's own when it writes version 2, else the tests' (writeMetadataV2).
 * `edit` may change the converted model and its metadata (or return the metadata's new text)
 * before it is written.
 */
export function convertedWithV2(
  originalFile: string,
  out: string,
  edit?: (converted: Model, metadata: Record<string, unknown>) => string | void,
): string {
  if (fs.existsSync(out) && !edit) return out;
  const original = readModel(originalFile);
  const converted = readModel(originalFile);
  convertModel(converted);
  const recorded = converted.metadata('qlstm.cells');
  let metadata = recorded ? (JSON.parse(recorded) as Record<string, unknown>) : {};
  if (Array.isArray(metadata) || metadata.version !== 2) metadata = writeMetadataV2(converted, original);
  if (edit) converted.setMetadata('qlstm.cells', edit(converted, metadata) ?? JSON.stringify(metadata));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, exportModel(converted));
  return out;
}
