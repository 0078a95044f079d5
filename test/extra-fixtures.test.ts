import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import { exportModel } from '../src/onnx/export.js';
import { realInputs } from '../src/ir/graph.js';
import { readModel } from '../src/onnx/files.js';
import { importModel } from '../src/onnx/import.js';
import { decodeModelProto } from '../src/onnx/codec.js';
import { parseNpy, type NdArray } from '../src/run/npy.js';
import { OPTIMIZATION_LEVELS } from '../src/run/session.js';
import { verifyAgainstGoldens } from '../src/verify/golden.js';
import { ROOT, runModel } from './helpers/corpus.js';

/**
 * fixtures/brevitas-extra: real Brevitas exports (0.9.1 to 0.12.1, opsets 13 to 23, zero
 * points, every rounding mode, 2- to 24-bit quantizers, an at-scale case) with Brevitas' own
 * outputs. Each converts, gives the same outputs at every onnxruntime level, and verify's
 * golden mode finds every difference from Brevitas a certified tie (16-bit activations: PyTorch
 * and onnxruntime's sigmoid/tanh differ by a few ulps; at scale: summation order).
 */
const DIR = path.join(ROOT, 'fixtures', 'brevitas-extra');

interface Meta {
  case: string;
  exports: Record<string, string>;
  inputs: { file: string }[];
  outputs: { file: string }[];
  names_by_flavour?: Record<string, { input_names: string[]; output_names: string[] }>;
}

const cases = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json') && !f.startsWith('sigmoid'))
  .sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as Meta);

const load = (file: string): NdArray => parseNpy(fs.readFileSync(path.join(DIR, file)), file);

describe('extra Brevitas exports convert and verify against their goldens', () => {
  for (const meta of cases) {
    for (const [flavour, file] of Object.entries(meta.exports).filter(([, f]) => f.endsWith('.onnx'))) {
      it(`${meta.case} (${flavour})`, async () => {
        const model = readModel(path.join(DIR, file));
        convertModel(model);
        const bytes = exportModel(model);
        const inputs = meta.inputs.map((i) => load(i.file));
        // identical outputs at every level, each session run twice (runModel checks the runs agree)
        const byLevel: NdArray[][] = [];
        for (const level of OPTIMIZATION_LEVELS) byLevel.push(await runModel(bytes, level, inputs));
        for (const [k, outputs] of byLevel.entries()) {
          outputs.forEach((o, j) => assert.ok(o.data.every((v, i) => Object.is(v, byLevel[0]![j]!.data[i])), `output ${j} at ${OPTIMIZATION_LEVELS[k]} differs from disabled`));
        }
        const reread = importModel(decodeModelProto(bytes, file), file);
        const inputNames = realInputs(reread.graph).map((v) => v.name);
        const report = await verifyAgainstGoldens({
          model: reread,
          inputs: new Map(inputNames.map((n, i) => [n, inputs[i]!])),
          expected: new Map(reread.graph.outputs.map((v, i) => [v.name, load(meta.outputs[i]!.file)])),
          levels: ['disabled'],
        });
        const failing = report.levels.flatMap((l) => l.outputs.filter((o) => !o.passed).map((o) => `${o.name}: ${o.unexplained.count} unexplained`));
        assert.deepEqual(failing, [], 'every difference from Brevitas is a certified tie');
        assert.ok(report.passed);
      });
    }
  }
});
