import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { decodeModelProto } from '../src/onnx/codec.js';
import { ModelProto } from '../src/onnx/schema.js';
import { corpusCase } from './helpers/corpus.js';

const seedBytes = fs.readFileSync(corpusCase('seed_i10_h20').file('qcdq'));

function refused(bytes: Uint8Array, message: RegExp): void {
  assert.throws(() => decodeModelProto(bytes, 'model.onnx'), (e: unknown) => e instanceof InputError && message.test(e.message));
}

describe('the wire format is checked before protobuf decodes anything', () => {
  it('a scalar field sent with another wire type is refused (protobufjs would misread it)', () => {
    // ModelProto field 1 (ir_version, a varint) written length-delimited: tag (1 << 3) | 2, length 1, one byte
    const bytes = Buffer.concat([seedBytes, Buffer.from([0x0a, 0x01, 0x05])]);
    refused(bytes, /not a valid ONNX model: ModelProto\.irVersion has wire type 2, expected 0/);
    // the same field with its own wire type is fine: tag (1 << 3) | 0, value 8
    assert.equal(Number(decodeModelProto(Buffer.concat([seedBytes, Buffer.from([0x08, 0x08])]), 'model.onnx').irVersion), 8);
  });

  it('messages nested more than 64 deep are refused; 58 deep are read', () => {
    // each level: graph -> node -> attribute (g) -> graph ..., three messages deeper
    const nested = (levels: number): Uint8Array => {
      let graph: Record<string, unknown> = { name: 'innermost' };
      for (let k = 0; k < levels; k++) graph = { name: `g${k}`, node: [{ opType: 'If', attribute: [{ name: 'then_branch', type: 5, g: graph }] }] };
      return ModelProto.encode(ModelProto.fromObject({ irVersion: 8, graph })).finish();
    };
    refused(nested(22), /nested more than 64 deep/); // 1 + 3 * 22 = 67 messages deep
    assert.doesNotThrow(() => decodeModelProto(nested(19), 'model.onnx')); // 58 deep
  });
});
