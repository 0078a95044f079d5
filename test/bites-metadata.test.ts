import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { qlstm, temporaryDir } from './helpers/cli.js';
import { corpusCase } from './helpers/corpus.js';
import { convertFixture } from './helpers/verify-models.js';

const dir = temporaryDir('bites-metadata');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let count = 0;

/** The converted seed model with its qlstm.cells metadata edited. */
function tampered(edit: (metadata: Json) => void): string {
  return convertFixture(corpusCase('seed_i10_h20').file('qcdq'), path.join(dir, `tampered${count++}.onnx`), (_, metadata) => {
    edit(metadata);
    return JSON.stringify(metadata);
  });
}

/**
 * inspect reads a converted model's cells from its metadata (src/metadata.ts); nothing in it is
 * trusted: a malformed entry is an input error (exit 2) naming the key, as README promises.
 */
describe('inspect validates the qlstm.cells metadata of a converted model (exit 2, naming the key)', () => {
  it('the untouched metadata is read (exit 0)', async () => {
    const r = await qlstm('inspect', tampered(() => {}), '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).cells.length, 1);
  });

  const cases: [string, (m: Json) => void, string][] = [
    ['version 3', (m) => void (m.version = 3), 'version is 3, expected 2'],
    ['a scale of 0', (m) => void (m.cells[0].quantizers.output.scale = 0), 'cells[0].quantizers.output.scale is 0, expected a number in [2^-60, 2^60]'],
    ['a negative scale', (m) => void (m.cells[0].quantizers.cell_state.scale = -0.5), 'cells[0].quantizers.cell_state.scale is -0.5, expected a number in [2^-60, 2^60]'],
    ['a scale above 2^60', (m) => void (m.cells[0].quantizers.input_acc.scale = 1e30), 'cells[0].quantizers.input_acc.scale is 1e+30, expected a number in [2^-60, 2^60]'],
    ['1 bit', (m) => void (m.cells[0].quantizers.cell_tanh.bits = 1), 'cells[0].quantizers.cell_tanh.bits is 1, expected 2 to 24'],
    ['25 bits', (m) => void (m.cells[0].quantizers.output.bits = 25), 'cells[0].quantizers.output.bits is 25, expected 2 to 24'],
  ];
  for (const [what, edit, message] of cases) {
    it(what, async () => {
      const file = tampered(edit);
      const r = await qlstm('inspect', file);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stderr, `qlstm: ${file}: metadata "qlstm.cells": ${message}\n`);
    });
  }
});
