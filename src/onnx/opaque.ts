import type protobuf from 'protobufjs';
import { schemaRoot } from './schema.js';

/**
 * Messages qlstm never reads (training info, model-local functions, device configurations)
 * travel through the IR as their encoded bytes, so no proto type leaves src/onnx.
 */
export function encodeOpaque(typeName: string, message: unknown): Uint8Array {
  return schemaRoot.lookupType(`onnx.${typeName}`).encode(message as protobuf.Message).finish();
}

export function decodeOpaque(typeName: string, bytes: Uint8Array): unknown {
  return schemaRoot.lookupType(`onnx.${typeName}`).decode(bytes);
}
