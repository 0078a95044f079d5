import protobuf from 'protobufjs';
import { InputError } from '../errors.js';
import type { Encodable, ModelProto as ModelMessage } from './proto-types.js';
import { ModelProto } from './schema.js';

/** Protobuf cannot represent a message of 2 GiB or more. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;
const MAX_NESTING = 64;

/**
 * Decodes an ONNX model. Refuses, before decoding, anything that is not a well-formed
 * ModelProto whose every field this schema declares: protobuf silently drops fields a
 * schema does not know, and a conversion must not lose anything.
 */
export function decodeModelProto(bytes: Uint8Array, file: string): ModelMessage {
  if (bytes.length === 0) throw new InputError('the file is empty, not an ONNX model', { file });
  if (bytes.length > PROTOBUF_LIMIT) {
    throw new InputError(`${bytes.length} bytes is over protobuf's 2 GiB limit for one model file`, { file });
  }
  const problem = checkWireFormat(bytes);
  if (problem) throw new InputError(`not a valid ONNX model: ${problem}`, { file });
  let model: ModelMessage;
  try {
    model = ModelProto.decode(bytes) as unknown as ModelMessage;
  } catch (error) {
    throw new InputError(`not a valid ONNX model: ${(error as Error).message}`, { file }, { cause: error });
  }
  if (!model.graph) throw new InputError('not an ONNX model: it has no graph', { file });
  if (model.irVersion === undefined) throw new InputError('not an ONNX model: it has no ir_version', { file });
  return model;
}

/**
 * Encodes a model. protobufjs grows its buffer by doubling and copies it once more when done;
 * for a model of large tensors that holds about four times the output at once. `sizeHint`
 * (the tensors' bytes) lets the buffer be allocated once, and the result is taken without the
 * final copy.
 */
export function encodeModelProto(model: Encodable<'ModelProto'>, sizeHint = 0): Uint8Array {
  const writer = protobuf.Writer.create() as protobuf.Writer & { _reserve?: (n: number) => void };
  if (sizeHint > 0 && typeof writer._reserve === 'function') writer._reserve(sizeHint + 64 * 1024 + (sizeHint >> 8));
  return (ModelProto.encode(model as protobuf.Message, writer) as protobuf.Writer & { finish(shared?: boolean): Uint8Array }).finish(true);
}

/** Describes the first field the schema does not declare, or the first malformed byte. */
function checkWireFormat(bytes: Uint8Array): string | undefined {
  const reader = protobuf.Reader.create(bytes);
  try {
    return walkMessage(reader, ModelProto, bytes.length, 'ModelProto', 0);
  } catch (error) {
    return `malformed protobuf at byte ${reader.pos}: ${(error as Error).message}`;
  }
}

function walkMessage(reader: protobuf.Reader, type: protobuf.Type, end: number, path: string, depth: number): string | undefined {
  if (depth > MAX_NESTING) return `${path} is nested more than ${MAX_NESTING} deep`;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    const field = type.fieldsById[id];
    if (!field) {
      return `${path} has field number ${id}, which this version of qlstm does not know (it would be lost)`;
    }
    const fieldType = field.resolve().resolvedType;
    if (fieldType instanceof protobuf.Type) {
      if (wireType !== 2) return `${path}.${field.name} has wire type ${wireType}, expected a message`;
      const length = reader.uint32();
      const fieldEnd = reader.pos + length;
      if (fieldEnd > end) return `${path}.${field.name} runs past the end of its message`;
      const problem = walkMessage(reader, fieldType, fieldEnd, `${path}.${field.name}`, depth + 1);
      if (problem) return problem;
      reader.pos = fieldEnd;
    } else {
      const expected = scalarWireType(field);
      if (wireType !== expected && !(field.repeated && wireType === 2 && expected !== 2)) {
        return `${path}.${field.name} has wire type ${wireType}, expected ${expected}`;
      }
      reader.skipType(wireType);
      if (reader.pos > end) return `${path}.${field.name} runs past the end of its message`;
    }
  }
  return reader.pos === end ? undefined : `${path} runs past the end of its message`;
}

function scalarWireType(field: protobuf.Field): number {
  switch (field.type) {
    case 'float':
      return 5;
    case 'double':
      return 1;
    case 'string':
    case 'bytes':
      return 2;
    default:
      return 0; // int32, int64, uint64, bool and enums are varints
  }
}
