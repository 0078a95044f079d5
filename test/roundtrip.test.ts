import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { toposort } from '../src/ir/cleanup.js';
import type { Graph, Node } from '../src/ir/graph.js';
import { NameAuthority } from '../src/ir/names.js';
import { decodeModelProto } from '../src/onnx/codec.js';
import { exportModel } from '../src/onnx/export.js';
import { importModel } from '../src/onnx/import.js';
import { ModelProto } from '../src/onnx/schema.js';
import { CORPUS, ROOT } from './helpers/corpus.js';

const ROUNDTRIP = path.join(ROOT, 'fixtures', 'roundtrip');

// Decoded messages as plain objects, walked by path in the tables below.
type Plain = any;
const asObject = (bytes: Uint8Array): Plain => ModelProto.toObject(ModelProto.decode(bytes), { longs: String, bytes: String, defaults: false });
const load = (file: string) => importModel(decodeModelProto(fs.readFileSync(file), file), file);

const fixtures = [
  ...fs.readdirSync(CORPUS).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(CORPUS, f)),
  ...fs.readdirSync(ROUNDTRIP).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(ROUNDTRIP, f)),
];

describe('every fixture survives import, export and re-import unchanged', () => {
  for (const file of fixtures) {
    it(path.relative(ROOT, file), () => {
      const original = fs.readFileSync(file);
      const exported = exportModel(load(file));
      assert.deepEqual(asObject(exported), asObject(original), 'decoded content');
      assert.equal(Buffer.compare(Buffer.from(exported), original), 0, 'bytes');
      const again = exportModel(importModel(decodeModelProto(exported, file), file));
      assert.equal(Buffer.compare(Buffer.from(again), original), 0, 're-import');
    });
  }
});

describe('sorting an already sorted graph changes no byte', () => {
  for (const file of fixtures) {
    it(path.relative(ROOT, file), () => {
      const model = load(file);
      toposort(model.graph);
      assert.equal(Buffer.compare(Buffer.from(exportModel(model)), fs.readFileSync(file)), 0);
    });
  }
});

const node = (graph: Plain, name: string) => graph.node.find((n: Plain) => n.name === name);
const attribute = (n: Plain, name: string) => n.attribute.find((a: Plain) => a.name === name);
const entry = (list: Plain[] | undefined) => Object.fromEntries((list ?? []).map((e: Plain) => [e.key, e.value]));

/** Fields each round-trip fixture carries (as make-roundtrip.py writes them); each must be in the fixture and in the export. */
const FIELDS: Record<string, [string, (m: Plain) => unknown, unknown][]> = {
  'annotated.onnx': [
    ['model doc string', (m) => m.docString, 'a model doc string'],
    ['model metadata', (m) => entry(m.metadataProps), { model_key: 'model value' }],
    ['graph doc string', (m) => m.graph.docString, 'the main graph'],
    ['graph metadata', (m) => entry(m.graph.metadataProps), { graph_key: 'graph value' }],
    ['node doc string', (m) => node(m.graph, 'zeta').docString, 'a node doc string'],
    ['node metadata', (m) => entry(node(m.graph, 'zeta').metadataProps), { node_key: 'node value' }],
    ['value_info doc string', (m) => m.graph.valueInfo[0].docString, 'after relu'],
    ['value_info metadata', (m) => entry(m.graph.valueInfo[0].metadataProps), { value_key: 'value value' }],
    ['graph input metadata', (m) => entry(m.graph.input[0].metadataProps), { input_key: 'input value' }],
    ['initializer doc string and metadata', (m) => [m.graph.initializer[0].docString, entry(m.graph.initializer[0].metadataProps)], ['weights, documented', { tensor_key: 'tensor value' }]],
    ['sparse initializer', (m) => [m.graph.sparseInitializer[0].values.name, m.graph.sparseInitializer[0].indices.name, m.graph.sparseInitializer[0].dims], ['sparse_w', 'sparse_w_indices', ['3']]],
    ['model-local function', (m) => [m.functions[0].name, m.functions[0].domain, m.functions[0].docString, m.functions[0].node.length], ['Scale', 'qlstm.test', 'doubles its input', 2]],
    ['If subgraphs', (m) => [attribute(node(m.graph, 'branch'), 'then_branch').g.docString, entry(attribute(node(m.graph, 'branch'), 'then_branch').g.metadataProps)], ['then branch', { branch: 'then' }]],
    ['subgraph node doc string', (m) => node(attribute(node(m.graph, 'loop'), 'body').g, 'body_add').docString, 'reads w of the outer graph'],
    ['quantization annotation', (m) => [m.graph.quantizationAnnotation[0].tensorName, entry(m.graph.quantizationAnnotation[0].quantParameterTensorNames)], ['r', { SCALE_TENSOR: 'w' }]],
    ['node order', (m) => m.graph.node.map((n: Plain) => n.name), ['zeta', 'alpha', 'add_sparse', 'branch', 'loop', 'call']],
  ],
  'unusual.onnx': [
    ['segmented tensor', (m) => [m.graph.initializer[0].name, m.graph.initializer[0].segment], ['segmented', { begin: '0', end: '3' }]],
    ['data_location DEFAULT given explicitly', (m) => m.graph.initializer[1].dataLocation, 0],
    ['typed data fields', (m) => m.graph.initializer.slice(2).map((t: Plain) => Object.keys(t).filter((k) => k.endsWith('Data')).join()), ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data', 'stringData', 'rawData', 'int32Data', '']],
    ['attribute kinds', (m) => node(m.graph, 'odd').attribute.map((a: Plain) => a.type).sort((a: number, b: number) => a - b), [1, 2, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 13]],
    ['attribute doc string', (m) => attribute(node(m.graph, 'odd'), 'documented').docString, 'an attribute doc string'],
    ['empty inputs and outputs', (m) => [node(m.graph, 'odd').input, node(m.graph, 'odd').output], [['outer', '', 'outer'], ['odd_out', '']]],
    ['node overload and device configuration', (m) => [node(m.graph, 'odd').overload, node(m.graph, 'odd').deviceConfigurations[0].configurationId], ['v2', 'cfg']],
    ['explicitly empty domain', (m) => node(m.graph, 'explicit_empty_domain').domain, ''],
    ['ref_attr_name in a function', (m) => m.functions[0].node[0].attribute[0].refAttrName, 'alpha'],
    ['function overload and metadata', (m) => [m.functions[0].overload, entry(m.functions[0].metadataProps)], ['v1', { function_key: 'function value' }]],
    ['training info', (m) => entry(m.trainingInfo[0].initializationBinding), { a: 'b' }],
    ['device configuration', (m) => [m.configuration[0].name, m.configuration[0].device], ['cfg', ['cpu:0', 'cpu:1']]],
    ['sequence, optional and map types', (m) => m.graph.valueInfo.slice(0, 3).map((v: Plain) => Object.keys(v.type)[0]), ['sequenceType', 'optionalType', 'mapType']],
    ['denotations', (m) => [m.graph.valueInfo[3].type.denotation, m.graph.valueInfo[3].type.tensorType.shape.dim[0].denotation], ['TENSOR', 'DATA_BATCH']],
  ],
};

describe('round-trip fixtures carry every kind of field, and the export keeps each', () => {
  for (const [name, fields] of Object.entries(FIELDS)) {
    const file = path.join(ROUNDTRIP, name);
    const original = asObject(fs.readFileSync(file));
    const exported = asObject(exportModel(load(file)));
    for (const [what, get, want] of fields) {
      it(`${name}: ${what}`, () => {
        assert.deepEqual(get(original), want, 'the fixture carries it');
        assert.deepEqual(get(exported), want, 'the export keeps it');
      });
    }
  }
});

describe('subgraphs see the outer scope', () => {
  const model = load(path.join(ROUNDTRIP, 'annotated.onnx'));
  const main = model.graph;
  const byName = (g: Graph, name: string): Node => g.nodes.find((n) => n.name === name)!;
  const sub = (n: Node, attr: string): Graph => n.subgraphs()[n.attributes.findIndex((a) => a.name === attr)]!;
  const outerValue = (name: string) => [...main.definedValues()].find((v) => v.name === name)!;

  it('a subgraph node reads the outer graph\'s own Value, not a stand-in of the same name', () => {
    const thenAdd = byName(sub(byName(main, 'branch'), 'then_branch'), 'then_add');
    assert.equal(thenAdd.input(0), outerValue('n'));
    assert.equal(thenAdd.input(0)!.producer, byName(main, 'alpha'));
    assert.equal(thenAdd.input(1), outerValue('w'));
    assert.ok(outerValue('w').uses().some((u) => u.node === thenAdd), 'the outer value counts the subgraph read as a use');
  });

  it('the If and Loop nodes list what their subgraphs read as implicit inputs', () => {
    assert.deepEqual(byName(main, 'branch').implicitInputs().map((v) => v.name).sort(), ['n', 's', 'w']);
    assert.deepEqual(byName(main, 'loop').implicitInputs().map((v) => v.name), ['w']);
  });

  it('sorting keeps a subgraph\'s outer producers before it', () => {
    const m = load(path.join(ROUNDTRIP, 'annotated.onnx'));
    const branch = byName(m.graph, 'branch');
    m.graph.nodes.splice(m.graph.nodes.indexOf(branch), 1);
    m.graph.nodes.unshift(branch);
    toposort(m.graph);
    const at = (name: string) => m.graph.nodes.findIndex((n) => n.name === name);
    for (const producer of ['alpha', 'add_sparse', 'zeta']) assert.ok(at(producer) < at('branch'), producer);
  });

  it('names inside subgraphs are taken', () => {
    const names = new NameAuthority(model);
    for (const name of ['then_add', 'then_out', 'body_add', 'carried_in', 'iteration', 'sparse_w']) assert.equal(names.fresh(name), `${name}_1`, name);
  });
});
