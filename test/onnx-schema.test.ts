import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { ATTRIBUTE_TYPE } from '../src/ir/attribute.js';
import { bitWidth, DataType, rawByteLength } from '../src/ir/data-type.js';
import type { Decoded, Encodable } from '../src/onnx/proto-types.js';
import { schemaRoot } from '../src/onnx/schema.js';
import { ROOT } from './helpers/corpus.js';

/**
 * The oracle is the onnx package's own protobuf descriptor (onnx-ml.proto of onnx 1.23),
 * dumped by fixtures/hostile/dump-onnx-descriptor.py: not written by hand, so it does not
 * share a mistake with src/onnx/schema.ts.
 */
interface DescriptorField {
  id: number;
  type: string;
  repeated: boolean;
  packed: boolean;
  oneof: string | null;
}
const descriptor = JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures', 'hostile', 'onnx-descriptor.json'), 'utf8')) as {
  messages: Record<string, Record<string, DescriptorField>>;
  enums: Record<string, Record<string, number>>;
};

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const SCALARS = new Set(['double', 'float', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string', 'bytes']);

/** Every message of our schema, by full name without the leading dot. */
function ourMessages(): Map<string, protobuf.Type> {
  const found = new Map<string, protobuf.Type>();
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) found.set(nested.fullName.slice(1), nested);
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
    }
  };
  walk(schemaRoot);
  return found;
}

describe('the ONNX schema is the specification, field for field', () => {
  const ours = ourMessages();

  it('declares exactly the messages of onnx-ml.proto', () => {
    assert.deepEqual([...ours.keys()].sort(), Object.keys(descriptor.messages).sort());
  });

  for (const [message, fields] of Object.entries(descriptor.messages)) {
    it(message, () => {
      const type = ours.get(message);
      assert.ok(type, `${message} is missing`);
      const want = Object.entries(fields)
        .map(([name, f]) => ({ name: camel(name), ...f }))
        .sort((a, b) => a.id - b.id);
      const got = type.fieldsArray
        .map((f) => {
          const resolved = f.resolve().resolvedType;
          return {
            name: f.name,
            id: f.id,
            type: resolved ? resolved.fullName.slice(1) : f.type,
            repeated: f.repeated,
            packed: f.repeated && SCALARS.has(f.type) && f.type !== 'string' && f.type !== 'bytes' ? f.packed : false,
            oneof: f.partOf ? f.partOf.name : null,
          };
        })
        .sort((a, b) => a.id - b.id);
      assert.deepEqual(got, want);
    });
  }

  it('declares the enums the specification declares for its fields', () => {
    const attributeType = schemaRoot.lookupEnum('onnx.AttributeProto.AttributeType');
    assert.deepEqual({ ...attributeType.values }, descriptor.enums['onnx.AttributeProto.AttributeType']);
    const dataLocation = schemaRoot.lookupEnum('onnx.TensorProto.DataLocation');
    assert.deepEqual({ ...dataLocation.values }, descriptor.enums['onnx.TensorProto.DataLocation']);
  });
});

describe('IR enums follow the specification', () => {
  it('DataType has every TensorProto.DataType, by number', () => {
    assert.deepEqual({ ...DataType }, descriptor.enums['onnx.TensorProto.DataType']);
  });

  it('ATTRIBUTE_TYPE has every AttributeProto.AttributeType', () => {
    const want = Object.fromEntries(Object.entries(descriptor.enums['onnx.AttributeProto.AttributeType']!).map(([k, v]) => [k === 'UNDEFINED' ? 'none' : k.toLowerCase(), v]));
    assert.deepEqual({ ...ATTRIBUTE_TYPE }, want);
  });

  it('every fixed-width type has a bit width; raw data packs sub-byte types', () => {
    // Packed byte lengths as onnx.numpy_helper.from_array writes them for 5 elements
    // (python: len(from_array(np.zeros(5, dtype)).raw_data)).
    const fiveElements: Record<string, number> = {
      FLOAT: 20, UINT8: 5, INT8: 5, UINT16: 10, INT16: 10, INT32: 20, INT64: 40, BOOL: 5, FLOAT16: 10, DOUBLE: 40,
      UINT32: 20, UINT64: 40, COMPLEX64: 40, COMPLEX128: 80, BFLOAT16: 10, FLOAT8E4M3FN: 5, FLOAT8E4M3FNUZ: 5,
      FLOAT8E5M2: 5, FLOAT8E5M2FNUZ: 5, UINT4: 3, INT4: 3, FLOAT4E2M1: 3, FLOAT8E8M0: 5, UINT2: 2, INT2: 2,
      FLOAT6E2M3: 4, FLOAT6E3M2: 4,
    };
    for (const [name, code] of Object.entries(DataType)) {
      if (name === 'UNDEFINED' || name === 'STRING') {
        assert.equal(bitWidth(code), undefined, name);
        continue;
      }
      assert.equal(rawByteLength(code, 5), fiveElements[name], name);
    }
  });
});

describe('message types are derived from the schema', () => {
  it('reject fields the schema does not declare, and give declared fields their types', () => {
    // Compile-time checks: each @ts-expect-error fails the build if the derived type lets it through.
    // @ts-expect-error a field TensorProto does not have
    const unknownField: Encodable<'TensorProto'> = { dims: [1], bogus: 1 };
    const decoded = { input: [], output: [], attribute: [], metadataProps: [], deviceConfigurations: [], opType: 'Add' } satisfies Decoded<'NodeProto'>;
    // @ts-expect-error op_type is a string
    const wrongType: Encodable<'NodeProto'> = { opType: 3 };
    // @ts-expect-error a decoded repeated field is always present
    const missingRepeated: Decoded<'StringStringEntryProto'> & Decoded<'TensorShapeProto'> = { key: 'k' };
    assert.ok(unknownField && decoded && wrongType && missingRepeated);
  });
});
