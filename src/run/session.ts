import type Ort from 'onnxruntime-node';
import { InputError, InternalError, type QlstmError } from '../errors.js';
import type { NdArray } from './npy.js';

/** onnxruntime's graph optimization levels, from none to all. */
export const OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type OptimizationLevel = (typeof OPTIMIZATION_LEVELS)[number];

/**
 * Who made the model, which decides whose fault it is when onnxruntime refuses it: a
 * model the user gave is an input error (exit 2), a model qlstm built is a qlstm bug (exit 4).
 */
export type ModelOrigin = 'user' | 'qlstm';

export interface SessionOptions {
  level?: OptimizationLevel;
  threads?: number;
  /** for messages */
  source?: string;
  /** default 'user' */
  origin?: ModelOrigin;
}

export interface ModelRunner {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, NdArray>): Promise<Record<string, NdArray>>;
  release(): Promise<void>;
}

/**
 * onnxruntime's telemetry (a device id and events naming the graph, under ~/.cache) is off
 * unless the user opts in with QLSTM_ORT_TELEMETRY=1. The variable must be set before the
 * native library starts, which is why onnxruntime is loaded here, on first use, and
 * importing qlstm's `convert` never loads it.
 */
export function runtimeEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return env.QLSTM_ORT_TELEMETRY === '1' ? {} : { ORT_DISABLE_TELEMETRY: '1' };
}

let runtime: Promise<typeof Ort> | undefined;

function loadRuntime(): Promise<typeof Ort> {
  runtime ??= (async () => {
    Object.assign(process.env, runtimeEnvironment(process.env));
    const loaded = await import('onnxruntime-node');
    return (loaded.default ?? loaded) as typeof Ort;
  })();
  return runtime;
}

/** The onnxruntime release that runs the models (reports name it: exactness is the runtime's). */
export async function onnxruntimeVersion(): Promise<string> {
  return (await loadRuntime()).env.versions.common ?? 'unknown';
}

/** Loads a serialised model into onnxruntime's CPU provider. */
export async function openSession(bytes: Uint8Array, options: SessionOptions = {}): Promise<ModelRunner> {
  const ort = await loadRuntime();
  const at = { file: options.source ?? 'model', origin: options.origin ?? 'user' } as const;
  let session: Ort.InferenceSession;
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
    throw runtimeRefused(error, 'load', at);
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const tensors = Object.fromEntries(
        Object.entries(feeds).map(([name, array]) => [name, new ort.Tensor('float32', array.data, array.shape)]),
      );
      let results: Ort.InferenceSession.OnnxValueMapType;
      try {
        results = await session.run(tensors);
      } catch (error) {
        throw runtimeRefused(error, 'run', at);
      }
      return Object.fromEntries(
        Object.entries(results).map(([name, tensor]) => {
          const t = tensor as Ort.Tensor;
          return [name, { shape: t.dims.map(Number), data: Float32Array.from(t.data as Float32Array) }];
        }),
      );
    },
    release: () => session.release(),
  };
}

/**
 * The one policy for an onnxruntime failure: a model the user gave that onnxruntime refuses
 * is an input error (exit 2); one qlstm built is qlstm's fault (exit 4), never the user's.
 * onnxruntime's message is kept in the text and as the cause.
 */
function runtimeRefused(error: unknown, stage: 'load' | 'run', at: { file: string; origin: ModelOrigin }): QlstmError {
  const reason = runtimeReason(error);
  const what = stage === 'load' ? 'cannot load' : 'failed to run';
  if (at.origin === 'qlstm') {
    return new InternalError(`onnxruntime ${what} the model qlstm built: ${reason}`, { file: at.file }, { cause: error });
  }
  return new InputError(`onnxruntime ${what} the model: ${reason}`, { file: at.file }, { cause: error });
}

/** onnxruntime's own words for a failure. */
export function runtimeReason(error: unknown): string {
  return String((error as Error)?.message ?? error).trim();
}
