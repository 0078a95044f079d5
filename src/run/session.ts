import ort from 'onnxruntime-node';
import { InputError } from '../errors.js';
import type { NdArray } from './npy.js';

/** onnxruntime's graph optimization levels, from none to all. */
export const OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type OptimizationLevel = (typeof OPTIMIZATION_LEVELS)[number];

/** The onnxruntime release that runs the models (reports name it: exactness is the runtime's). */
export const ONNXRUNTIME_VERSION: string = ort.env.versions.common ?? 'unknown';

export interface SessionOptions {
  level?: OptimizationLevel;
  threads?: number;
  /** for messages */
  source?: string;
}

export interface ModelRunner {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, NdArray>): Promise<Record<string, NdArray>>;
  release(): Promise<void>;
}

/** Loads a serialised model into onnxruntime's CPU provider. */
export async function openSession(bytes: Uint8Array, options: SessionOptions = {}): Promise<ModelRunner> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: options.level ?? 'all',
      executionProviders: ['cpu'],
      // onnxruntime's own log lines would break qlstm's one-line errors; its failures still
      // arrive as exceptions, with their message.
      logSeverityLevel: 3,
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    });
  } catch (error) {
    throw new InputError(`onnxruntime cannot load the model: ${firstLine(error)}`, { file: options.source ?? 'model' });
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const tensors = Object.fromEntries(
        Object.entries(feeds).map(([name, array]) => [name, new ort.Tensor('float32', array.data, array.shape)]),
      );
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await session.run(tensors);
      } catch (error) {
        throw new InputError(`onnxruntime failed to run the model: ${firstLine(error)}`, { file: options.source ?? 'model' });
      }
      return Object.fromEntries(
        Object.entries(results).map(([name, tensor]) => {
          const t = tensor as ort.Tensor;
          return [name, { shape: t.dims.map(Number), data: Float32Array.from(t.data as Float32Array) }];
        }),
      );
    },
    release: () => session.release(),
  };
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0]!;
}
