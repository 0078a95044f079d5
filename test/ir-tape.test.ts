import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { NameAuthority } from '../src/ir/names.js';
import { Tape } from '../src/ir/tape.js';
import { Tensor } from '../src/ir/tensor.js';

function model(): Model {
  const g = new Graph();
  const x = new Value('x');
  g.inputs.push(x);
  g.nodes.push(new Node({ opType: 'Relu', name: 'cell/Add', inputs: [x], outputs: [new Value('cell/Add_output')] }));
  return new Model(g);
}

describe('Tape', () => {
  it('names nodes prefix/label and outputs after their node, avoiding names the model uses', () => {
    const m = model();
    const tape = new Tape(new NameAuthority(m), 'cell');
    const x = m.graph.inputs[0]!;
    const sum = tape.op('Add', [x, x]);
    const [first, second] = tape.opMulti('Split', [sum], 2, [], 'gates');
    const scoped = tape.scoped('step').op('Tanh', [first!]);
    const c = tape.constant('one', Tensor.float32([], [1]));
    assert.deepEqual(tape.nodes.map((n) => n.name), ['cell/Add_1', 'cell/gates', 'cell/step/Tanh']);
    assert.deepEqual([sum, first, second, scoped, c].map((v) => v!.name), ['cell/Add_1_output', 'cell/gates_output_0', 'cell/gates_output_1', 'cell/step/Tanh_output', 'cell/one']);
    assert.equal(c.constant?.size, 1);
  });

  it('a scoped tape records into its parent', () => {
    const m = model();
    const tape = new Tape(new NameAuthority(m), 'p');
    tape.scoped('a').scoped('b').op('Neg', [m.graph.inputs[0]!]);
    tape.scoped('a').constant('c', Tensor.float32([], [1]));
    assert.deepEqual(tape.nodes.map((n) => n.name), ['p/a/b/Neg']);
    assert.deepEqual(tape.initializers.map((v) => v.name), ['p/a/c']);
  });

  it('opInto writes into existing values; freshValue names a value without a producer', () => {
    const m = model();
    const tape = new Tape(new NameAuthority(m), 'p');
    const target = tape.freshValue('result');
    const node = tape.opInto('Identity', [m.graph.inputs[0]!], [target]);
    assert.equal(target.name, 'p/result');
    assert.equal(target.producer, node);
    assert.equal(node.name, 'p/Identity');
  });

  it('commitTo appends what was recorded and empties the tape', () => {
    const m = model();
    const tape = new Tape(new NameAuthority(m), 'p');
    const n = tape.op('Neg', [m.graph.inputs[0]!]);
    const c = tape.constant('c', Tensor.float32([], [1]));
    tape.commitTo(m.graph);
    assert.deepEqual(m.graph.nodes.map((node) => node.name), ['cell/Add', 'p/Neg']);
    assert.equal(m.graph.nodes[1]!.outputs[0], n);
    assert.deepEqual(m.graph.initializers, [c]);
    assert.deepEqual([tape.nodes.length, tape.initializers.length], [0, 0]);
  });

  it('names the same way every time', () => {
    const run = () => {
      const m = model();
      const tape = new Tape(new NameAuthority(m), 'cell');
      tape.op('Add', [m.graph.inputs[0]!]);
      tape.op('Add', [m.graph.inputs[0]!]);
      return tape.nodes.map((n) => [n.name, n.outputs[0]!.name]);
    };
    assert.deepEqual(run(), run());
    assert.deepEqual(run(), [['cell/Add_1', 'cell/Add_1_output'], ['cell/Add_2', 'cell/Add_2_output']]);
  });
});
