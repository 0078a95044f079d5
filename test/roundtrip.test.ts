import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeModelProto } from '../src/onnx/codec.js';
import { exportModel } from '../src/onnx/export.js';
import { importModel } from '../src/onnx/import.js';
import { ModelProto } from '../src/onnx/schema.js';
import { CORPUS } from './helpers/corpus.js';

const asObject = (bytes: Uint8Array) => ModelProto.toObject(ModelProto.decode(bytes), { longs: String, bytes: String, defaults: false });

describe('every fixture survives import, export and re-import unchanged', () => {
  for (const file of fs.readdirSync(CORPUS).filter((f) => f.endsWith('.onnx')).sort()) {
    it(file, () => {
      const original = fs.readFileSync(path.join(CORPUS, file));
      const exported = exportModel(importModel(decodeModelProto(original, file), file));
      assert.deepEqual(asObject(exported), asObject(original), 'decoded content');
      assert.equal(Buffer.compare(Buffer.from(exported), original), 0, 'bytes');
      const again = exportModel(importModel(decodeModelProto(exported, file), file));
      assert.equal(Buffer.compare(Buffer.from(again), original), 0, 're-import');
    });
  }
});
