import { InputError } from '../errors.js';
import { openSession } from './session.js';

/**
 * Loads a model into onnxruntime (all optimizations) and releases it: the last check before a
 * converted model is written, so that what qlstm writes is a model a runtime accepts.
 */
export async function assertRuntimeLoads(bytes: Uint8Array, file: string): Promise<void> {
  let session;
  try {
    session = await openSession(bytes, { level: 'all', source: file });
  } catch (error) {
    const reason = error instanceof InputError ? error.detail.replace(/^onnxruntime cannot load the model: /, '') : String(error);
    throw new InputError(`onnxruntime cannot load the converted model, so nothing was written: ${reason}`, { file }, { cause: error });
  }
  await session.release();
}
