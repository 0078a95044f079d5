import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { CellSummary } from '../src/describe.js';
import { readModel } from '../src/onnx/files.js';
import { constantOf } from '../src/recognize/constants.js';
import { QUANTIZER_NAMES } from '../src/recognize/description.js';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCases } from './helpers/corpus.js';

const dir = temporaryDir('inspect');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Config {
  input_size: number;
  hidden_size: number;
  num_layers?: number;
  bidirectional?: boolean;
  batch_first?: boolean;
  bias?: boolean;
  coupled_input_forget_gates?: boolean;
  weight_bit_width?: number;
  weight_quant?: string | null;
  cell_state_float_to_int_impl_type?: string;
  io_bit_width?: number;
  gate_acc_bit_width?: number;
  sigmoid_bit_width?: number;
  tanh_bit_width?: number;
  cell_state_bit_width?: number;
}

/** What the corpus says each quantizer's bit width is. */
function expectedBits(config: Config): Record<string, number> {
  return {
    output: config.io_bit_width ?? 8,
    cell_state: config.cell_state_bit_width ?? 8,
    input_acc: config.gate_acc_bit_width ?? 8,
    forget_acc: config.gate_acc_bit_width ?? 8,
    cell_acc: config.gate_acc_bit_width ?? 8,
    output_acc: config.gate_acc_bit_width ?? 8,
    input_sigmoid: config.sigmoid_bit_width ?? 8,
    forget_sigmoid: config.sigmoid_bit_width ?? 8,
    cell_tanh: config.tanh_bit_width ?? 8,
    output_sigmoid: config.sigmoid_bit_width ?? 8,
    hidden_state_tanh: config.tanh_bit_width ?? 8,
  };
}

function checkAgainstCorpus(cells: CellSummary[], config: Config, meta: { output_scale: number; cell_state_scale: number }, flavour: string): void {
  const layers = config.num_layers ?? 1;
  const directions = config.bidirectional ? 2 : 1;
  assert.equal(cells.length, layers * directions, 'one cell per layer and direction');
  cells.forEach((cell, k) => {
    // float weights are stored alike in both QCDQ files: there is no integer flavour to tell
    assert.equal(cell.flavour, config.weight_quant === null && flavour === 'qcdq-int' ? 'qcdq' : flavour);
    assert.equal(cell.inputSize, k < directions ? config.input_size : config.hidden_size * directions);
    assert.equal(cell.hiddenSize, config.hidden_size);
    assert.equal(cell.direction, k % directions === 1 ? 'reverse' : 'forward');
    assert.equal(cell.batchFirst, config.batch_first ?? false);
    assert.equal(cell.cifg, config.coupled_input_forget_gates ?? false);
    assert.equal(cell.bias, config.bias ?? true);
    if (config.weight_quant === null) {
      assert.deepEqual(cell.weights, { kind: 'float' });
    } else {
      assert.equal(cell.weights.kind, 'integer');
      assert.equal(cell.weights.kind === 'integer' && cell.weights.bits, config.weight_bit_width ?? 8);
      assert.equal(cell.weights.kind === 'integer' && cell.weights.granularity, config.weight_quant?.includes('PerChannel') ? 'per-channel' : 'per-tensor');
    }
    const bits = expectedBits(config);
    for (const name of QUANTIZER_NAMES) {
      assert.equal(cell.quantizers[name].bits, bits[name], `${name} bits`);
      const rounding = name === 'cell_state' ? (config.cell_state_float_to_int_impl_type ?? 'ROUND') : 'ROUND';
      assert.equal(cell.quantizers[name].rounding, rounding, `${name} rounding`);
    }
    assert.equal(cell.quantizers.output.signed, true);
    assert.equal(cell.quantizers.input_sigmoid.signed, false);
  });
  const last = cells[cells.length - 1]!;
  assert.equal(last.quantizers.output.scale, meta.output_scale, 'output scale of the last layer');
  assert.equal(last.quantizers.cell_state.scale, meta.cell_state_scale, 'cell state scale of the last layer');
}

/** The scales as the export stores them: the constants at the cell's inputs 15, 18, ..., 45. */
function scalesInExport(file: string): number[][] {
  return readModel(file)
    .graph.nodes.filter((n) => n.opType === 'QuantLSTMCell')
    .map((n) => QUANTIZER_NAMES.map((_, k) => constantOf(n.input(15 + 3 * k))!.float32()[0]!));
}

describe('inspect --json describes each fixture as the corpus does', () => {
  for (const c of corpusCases()) {
    for (const flavour of c.flavours) {
      it(`${c.name} (${flavour}): the export, then its conversion`, async () => {
        const file = c.file(flavour);
        const exported = JSON.parse((await qlstm('inspect', file, '--json')).stdout);
        assert.equal(exported.kind, 'brevitas-export');
        checkAgainstCorpus(exported.cells, c.meta.config as unknown as Config, c.meta, flavour);
        assert.deepEqual(exported.cells.map((cell: CellSummary) => QUANTIZER_NAMES.map((q) => cell.quantizers[q].scale)), scalesInExport(file));
        assert.deepEqual(exported.inputs.map((i: { name: string }) => i.name), c.meta.names_by_flavour[flavour]?.input_names ?? c.meta.input_names);
        // the at-scale cases were traced at 7 steps and batch 2, and run at 500 x 16
        if (!c.atScale) assert.deepEqual(exported.inputs.map((i: { shape: number[] }) => i.shape), c.meta.inputs.map((i) => i.shape));

        const out = path.join(dir, `${c.name}.${flavour}.onnx`);
        assert.equal((await qlstm('convert', file, out)).code, 0);
        const converted = JSON.parse((await qlstm('inspect', out, '--json')).stdout);
        assert.equal(converted.kind, 'converted');
        assert.deepEqual(
          converted.cells.map(({ layout, ...rest }: CellSummary) => (assert.equal(layout, 'fused'), rest)),
          exported.cells,
          'a converted model describes its cells as the export did',
        );
        assert.ok(converted.inputs[0].shape.includes('sequence_length'));
      });
    }
  }

  it('prints a readable table without --json', async () => {
    const r = await qlstm('inspect', corpusCases()[0]!.file('qcdq'));
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Brevitas export/);
    assert.match(r.stdout, /quantizer\s+scale\s+zero point\s+bits\s+signed\s+narrow\s+rounding/);
    assert.match(r.stdout, /hidden_state_tanh/);
  });
});
