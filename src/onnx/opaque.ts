import type protobuf from 'protobufjs';
import type { Decoded, Encodable } from './proto-types.js';
import { schemaRoot, type ONNX_SCHEMA } from './schema.js';

type OpaqueName = keyof typeof ONNX_SCHEMA;

/**
 * Messages qlstm never reads (training info, model-local functions, device configurations)
 * travel through the IR as their encoded bytes, so no proto type leaves src/onnx.
 */
export function encodeOpaque<N extends OpaqueName>(typeName: N, message: Encodable<N>): Uint8Array {
  return schemaRoot.lookupType(`onnx.${typeName}`).encode(message as protobuf.Message).finish();
}

export function decodeOpaque<N extends OpaqueName>(typeName: N, bytes: Uint8Array): Decoded<N> {
  return schemaRoot.lookupType(`onnx.${typeName}`).decode(bytes) as unknown as Decoded<N>;
}
