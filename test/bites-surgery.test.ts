import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertModel } from '../src/convert.js';
import { Node, Value } from '../src/ir/graph.js';
import { readModel } from '../src/onnx/files.js';
import { corpusCase } from './helpers/corpus.js';

const seed = () => readModel(corpusCase('seed_i10_h20').file('qcdq'));

describe('what the conversion leaves of the rest of the model', () => {
  it('no dead chain: what the conversion orphans is removed; the model\'s own dead nodes stay', () => {
    const model = seed();
    const graph = model.graph;
    // a chain hanging off the graph input that nothing reads (traced helpers an exporter left behind)
    const shape = new Value('dead_shape');
    const cast = new Value('dead_cast');
    graph.nodes.push(new Node({ opType: 'Shape', name: 'dead_shape_node', inputs: [graph.inputs[0]!], outputs: [shape] }));
    graph.nodes.push(new Node({ opType: 'Cast', name: 'dead_cast_node', inputs: [shape], outputs: [cast], attributes: [{ name: 'to', value: { kind: 'int', value: 1n } }] }));
    const before = graph.nodes.length;
    convertModel(model);
    const outputs = new Set(model.graph.outputs);
    const dead = model.graph.nodes.filter((n) => n.outputs.every((o) => o.useCount === 0 && !outputs.has(o))).map((n) => n.name);
    // the weights' and quantizers' DequantizeLinear chains fed only the cell: none may be left
    assert.deepEqual(dead, ['dead_cast_node']);
    assert.ok(model.graph.nodes.some((n) => n.name === 'dead_shape_node'));
    assert.ok(model.graph.nodes.length < before, `${model.graph.nodes.length} nodes of ${before}`);
  });

  it('opset imports of domains the conversion does not touch are kept, even when no node uses them', () => {
    const model = seed();
    model.opsetImports.push({ domain: 'ai.onnx.ml', version: 3n }, { domain: 'com.example', version: 1n });
    convertModel(model);
    assert.deepEqual(model.opsetImports.map((o) => [o.domain ?? '', o.version]), [['', 14n], ['ai.onnx.ml', 3n], ['com.example', 1n]]);
  });
});
