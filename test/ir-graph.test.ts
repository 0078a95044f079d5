import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InternalError } from '../src/errors.js';
import { attr } from '../src/ir/attribute.js';
import { Graph, Node, realInputs, Value } from '../src/ir/graph.js';
import { Tensor } from '../src/ir/tensor.js';

const uses = (v: Value) => v.uses().map((u) => `${u.node.name}:${u.index}`).sort();

function node(name: string, inputs: (Value | null)[], outputs = 1, attributes = [] as Node['attributes']): Node {
  return new Node({ opType: 'Op', name, inputs, outputs: Array.from({ length: outputs }, (_, i) => new Value(`${name}_out${i}`)), attributes });
}

describe('Value uses follow every edit', () => {
  it('a node reading a value registers one use per input slot, twice if it reads it twice', () => {
    const a = new Value('a');
    const n = node('n', [a, null, a]);
    assert.deepEqual(uses(a), ['n:0', 'n:2']);
    assert.deepEqual(n.inputs, [a, null, a]);
    assert.equal(a.useCount, 2);
  });

  it('setInput moves the use from the old value to the new one, and is a no-op for the same value', () => {
    const [a, b] = [new Value('a'), new Value('b')];
    const n = node('n', [a, a]);
    n.setInput(1, b);
    assert.deepEqual(uses(a), ['n:0']);
    assert.deepEqual(uses(b), ['n:1']);
    n.setInput(1, b);
    assert.deepEqual(uses(b), ['n:1']);
    n.setInput(0, null);
    assert.deepEqual(uses(a), []);
    assert.equal(n.input(0), null);
  });

  it('replaceUsesWith points every consumer, every slot, at the other value', () => {
    const [a, b] = [new Value('a'), new Value('b')];
    const n = node('n', [a, a]);
    const m = node('m', [b, a]);
    a.replaceUsesWith(b);
    assert.deepEqual(uses(a), []);
    assert.deepEqual(uses(b), ['m:0', 'm:1', 'n:0', 'n:1']);
    assert.deepEqual([...n.inputs, ...m.inputs], [b, b, b, b]);
  });

  it('uses() is a copy: editing while iterating is safe', () => {
    const [a, b] = [new Value('a'), new Value('b')];
    node('n', [a, a, a]);
    for (const use of a.uses()) use.node.setInput(use.index, b);
    assert.equal(a.useCount, 0);
    assert.equal(b.useCount, 3);
  });

  it('removing a use that does not exist is an InternalError', () => {
    const a = new Value('a');
    assert.throws(() => a.removeUse(node('n', []), 0), (e: unknown) => e instanceof InternalError && e.message === 'value "a" has no use at node "n" input 0');
  });

  it('a value has one producer', () => {
    const out = new Value('out');
    new Node({ opType: 'Op', name: 'first', outputs: [out] });
    assert.throws(() => new Node({ opType: 'Op', name: 'second', outputs: [out] }), (e: unknown) => e instanceof InternalError && e.message === 'value "out" already has a producer');
  });
});

describe('detach and removeNode', () => {
  it('detach drops the node\'s uses and releases its outputs', () => {
    const a = new Value('a');
    const n = node('n', [a, a]);
    const out = n.outputs[0]!;
    n.detach();
    assert.equal(a.useCount, 0);
    assert.equal(out.producer, null);
    assert.deepEqual(n.inputs, [null, null]);
  });

  it('removeNode refuses a node whose output is still read, and changes nothing', () => {
    const g = new Graph();
    const a = new Value('a');
    const n = node('n', [a]);
    const m = node('m', [n.outputs[0]!]);
    g.nodes.push(n, m);
    assert.throws(() => g.removeNode(n), (e: unknown) => e instanceof InternalError && e.message === 'cannot remove node "n": "n_out0" is still read');
    assert.deepEqual(g.nodes, [n, m]);
    assert.equal(a.useCount, 1);
    assert.equal(n.outputs[0]!.producer, n);
  });

  it('removeNode takes out an unread node and its uses', () => {
    const g = new Graph();
    const a = new Value('a');
    const n = node('n', [a]);
    g.nodes.push(n);
    g.removeNode(n);
    assert.deepEqual(g.nodes, []);
    assert.equal(a.useCount, 0);
  });
});

describe('subgraphs and implicit inputs', () => {
  it('a node\'s implicit inputs are the outer values its subgraphs read, at any depth, not their own', () => {
    const outer = new Value('outer');
    const deep = new Value('deep');
    const inner = new Graph();
    const own = node('own', [outer]);
    inner.nodes.push(own, node('reads_own', [own.outputs[0]!]));
    const innermost = new Graph();
    innermost.nodes.push(node('reads_deep', [deep, own.outputs[0]!]));
    inner.nodes.push(node('nested', [], 1, [attr.graph('body', innermost)]));
    inner.outputs.push(own.outputs[0]!);
    const n = node('if', [], 1, [attr.graph('then_branch', inner)]);
    assert.deepEqual(new Set(n.implicitInputs()), new Set([outer, deep]));
  });

  it('a subgraph output defined outside it is an implicit input', () => {
    const outer = new Value('outer');
    const g = new Graph();
    g.outputs.push(outer);
    assert.deepEqual(node('if', [], 1, [attr.graph('else_branch', g)]).implicitInputs(), [outer]);
  });
});

describe('realInputs', () => {
  it('lists graph inputs that are not initializers, in order', () => {
    const g = new Graph();
    const [x, h] = [new Value('x'), new Value('h')];
    const w = g.addInitializer('w', Tensor.float32([1], [1]));
    g.inputs.push(x, w, h);
    assert.deepEqual(realInputs(g), [x, h]);
    assert.deepEqual(g.inputs, [x, w, h], 'the graph is not changed');
  });
});
