import { InputError, InternalError, UnsupportedModelError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { exportModel } from '../onnx/export.js';
import { withCustomNodesStubbed } from '../surgery/control-model.js';
import { openSession, runtimeReason } from './session.js';

/**
 * Loads a model qlstm built into onnxruntime (all optimizations) and releases it: the last
 * check before a converted model is written, so that what qlstm writes is a model a runtime
 * accepts. A refusal is qlstm's fault (InternalError, exit 4), with onnxruntime's message,
 * unless onnxruntime also refuses the input with its custom nodes stubbed out (`input`, a
 * fresh copy of the original model): then the fault is in the part of the input qlstm did not
 * touch (InputError, exit 2).
 */
export async function assertRuntimeLoads(bytes: Uint8Array, file: string, input?: () => Model): Promise<void> {
  let session;
  try {
    session = await openSession(bytes, { level: 'all', source: file, origin: 'qlstm' });
  } catch (error) {
    if (!(error instanceof InternalError)) throw error;
    const reason = runtimeReason(error.cause);
    const inputReason = input ? await refusalOfInput(input) : undefined;
    if (inputReason !== undefined) {
      throw new InputError(`onnxruntime refuses this model outside the QuantLSTMCell and Quant nodes qlstm converts, so nothing was written: ${inputReason}`, { file }, { cause: error.cause });
    }
    throw new InternalError(`onnxruntime cannot load the model qlstm built, so nothing was written: ${reason}`, { file }, { cause: error.cause });
  }
  await session.release();
}

/** onnxruntime's reason for refusing the input without its custom nodes, or undefined when it loads it. */
async function refusalOfInput(input: () => Model): Promise<string | undefined> {
  let control: Uint8Array;
  try {
    control = exportModel(withCustomNodesStubbed(input()));
  } catch {
    return undefined;
  }
  try {
    const session = await openSession(control, { level: 'all', source: 'control', origin: 'user' });
    await session.release();
    return undefined;
  } catch (error) {
    return runtimeReason((error as { cause?: unknown }).cause ?? error);
  }
}

/**
 * Most initializers a converted model may have. onnxruntime's session set-up takes time
 * that grows with the square of the number of initializers, at every optimization level
 * (and its ConstantSharing pass, from `basic` on, adds another such term): on a 2-core
 * machine 10,000 load in about 7 s at `all` and 20,000 in about 40 s; 120,000 (60,000
 * QONNX Quant nodes) would by the same law take about 25 minutes. A model past this bound
 * is refused (exit 3) before onnxruntime sees it.
 */
export const MAX_INITIALIZERS = 10_000;

/** Refuses a converted model whose load check would take minutes (see MAX_INITIALIZERS). */
export function assertLoadCheckBounded(model: Model, file: string): void {
  const count = initializerCount(model.graph);
  if (count > MAX_INITIALIZERS) {
    throw new UnsupportedModelError(
      `the converted model would have ${count} initializers (typically one scale and zero point per Quant node); ` +
        `onnxruntime's load time grows with the square of that number, so qlstm converts models with at most ${MAX_INITIALIZERS}`,
      { file },
    );
  }
}

function initializerCount(graph: Graph): number {
  let count = graph.initializers.length;
  for (const node of graph.nodes) {
    for (const attribute of node.attributes) {
      const v = attribute.value;
      if (v.kind === 'graph') count += initializerCount(v.value);
      if (v.kind === 'graphs') for (const g of v.value) count += initializerCount(g);
    }
  }
  return count;
}
