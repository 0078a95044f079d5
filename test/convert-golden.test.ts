import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAYOUTS } from '../src/scan/scan.js';
import { convertModel } from '../src/convert.js';
import { exportModel } from '../src/onnx/export.js';
import { readModel } from '../src/onnx/files.js';
import { OPTIMIZATION_LEVELS } from '../src/run/session.js';
import { corpusCases, describeDifference, difference, runModel } from './helpers/corpus.js';

/** The classifier's float logits differ from PyTorch only by the head Gemm's rounding. */
const LOGIT_TOLERANCE = 1e-6;

// Every corpus case, all three export flavours, both layouts, every onnxruntime optimization level:
// the converted model must reproduce Brevitas' outputs exactly.
for (const layout of LAYOUTS) {
  describe(`convert --layout ${layout} reproduces the Brevitas goldens`, () => {
    for (const c of corpusCases()) {
      for (const flavour of c.flavours) {
        it(`${c.name} (${flavour})`, async () => {
          const model = readModel(c.file(flavour));
          convertModel(model, { layout });
          const bytes = exportModel(model);
          const inputs = c.inputs();
          const goldens = c.outputs();
          for (const level of OPTIMIZATION_LEVELS) {
            const outputs = await runModel(bytes, level, inputs);
            assert.equal(outputs.length, goldens.length, 'number of outputs');
            goldens.forEach((want, k) => {
              if (c.floatOutputs) {
                const d = difference(outputs[k]!, want);
                assert.ok(d.max <= LOGIT_TOLERANCE, `output ${k} at ${level}: ${describeDifference(d, 'absolute')}`);
              } else {
                const d = difference(outputs[k]!, want, c.lsb(k));
                assert.equal(d.unequal, 0, `output ${k} at ${level}: ${describeDifference(d, 'LSB')}`);
              }
            });
          }
        });
      }
    }
  });
}
