import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { Graph } from '../../src/ir/graph.js';
import { decodeModelProto } from '../../src/onnx/codec.js';
import { importModel } from '../../src/onnx/import.js';
import type { OptimizationLevel } from '../../src/run/session.js';

/** The graph onnxruntime actually runs at `level`: its own optimized model, read back. */
export async function optimizedGraph(bytes: Uint8Array, level: OptimizationLevel): Promise<Graph> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qlstm-optimized-'));
  const file = path.join(dir, 'optimized.onnx');
  try {
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, optimizedModelFilePath: file, logSeverityLevel: 3 });
    await session.release();
    return importModel(decodeModelProto(fs.readFileSync(file), file), file).graph;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `domain::opType` -> count, over a graph and every graph nested in it. */
export function opCounts(graph: Graph, into = new Map<string, number>()): Map<string, number> {
  for (const node of graph.nodes) {
    const key = `${node.domain || 'ai.onnx'}::${node.opType}`;
    into.set(key, (into.get(key) ?? 0) + 1);
    for (const sub of node.subgraphs()) opCounts(sub, into);
  }
  return into;
}
