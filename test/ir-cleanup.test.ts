import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InternalError } from '../src/errors.js';
import { attr } from '../src/ir/attribute.js';
import { findCycle, removeDeadNodes, removeStaleValueInfo, removeUnusedInitializers, toposort } from '../src/ir/cleanup.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Tensor } from '../src/ir/tensor.js';

function op(g: Graph, name: string, inputs: (Value | null)[], attributes: Node['attributes'] = []): Value {
  const out = new Value(`${name}_out`);
  g.nodes.push(new Node({ opType: 'Op', name, inputs, outputs: [out], attributes }));
  return out;
}
const order = (g: Graph) => g.nodes.map((n) => n.name);

/** A branch graph that reads `outer` from the enclosing graph. */
function reader(outer: Value, label: string): Graph {
  const g = new Graph();
  g.outputs.push(op(g, label, [outer]));
  return g;
}

describe('toposort', () => {
  it('leaves a sorted graph exactly as it is', () => {
    const g = new Graph();
    const x = new Value('x');
    g.inputs.push(x);
    const a = op(g, 'a', [x]);
    op(g, 'b', [x]);
    const c = op(g, 'c', [a]);
    op(g, 'd', [c, a]);
    const before = [...g.nodes];
    toposort(g);
    assert.deepEqual(g.nodes, before);
  });

  it('moves a producer before its first consumer and keeps the rest in their order', () => {
    const g = new Graph();
    const x = new Value('x');
    op(g, 'a', [x]);
    const late = new Value('late_out');
    op(g, 'b', [late]);
    op(g, 'c', [x]);
    g.nodes.push(new Node({ opType: 'Op', name: 'late', inputs: [x], outputs: [late] }));
    toposort(g);
    assert.deepEqual(order(g), ['a', 'late', 'b', 'c']);
  });

  it('counts what a subgraph reads from the outer graph (implicit inputs) as a dependency', () => {
    const g = new Graph();
    const produced = new Value('produced');
    g.nodes.push(new Node({ opType: 'If', name: 'if', inputs: [new Value('cond')], outputs: [new Value('y')], attributes: [attr.graph('then_branch', reader(produced, 'then')), attr.graph('else_branch', reader(produced, 'else'))] }));
    g.nodes.push(new Node({ opType: 'Op', name: 'producer', inputs: [], outputs: [produced] }));
    toposort(g);
    assert.deepEqual(order(g), ['producer', 'if']);
  });

  it('finds a cycle, names a node on it, and refuses to sort', () => {
    const g = new Graph();
    const back = new Value('back');
    const a = op(g, 'a', [back]);
    const b = op(g, 'b', [a]);
    g.nodes.push(new Node({ opType: 'Op', name: 'c', inputs: [b], outputs: [back] }));
    const found = findCycle(g);
    assert.ok(found && ['a', 'b', 'c'].includes(found.name!));
    const before = [...g.nodes];
    assert.throws(() => toposort(g), (e: unknown) => e instanceof InternalError && /^the graph has a cycle through node "[abc]"$/.test(e.message));
    assert.deepEqual(g.nodes, before);
  });

  it('finds no cycle in a sorted graph', () => {
    const g = new Graph();
    op(g, 'b', [op(g, 'a', [])]);
    assert.equal(findCycle(g), undefined);
  });
});

describe('removeUnusedInitializers', () => {
  it('keeps initializers read by nodes, by subgraphs (implicit inputs), or listed as graph inputs or outputs', () => {
    const g = new Graph();
    const direct = g.addInitializer('direct', Tensor.float32([1], [1]));
    const captured = g.addInitializer('captured', Tensor.float32([1], [2]));
    const asInput = g.addInitializer('as_input', Tensor.float32([1], [3]));
    const asOutput = g.addInitializer('as_output', Tensor.float32([1], [4]));
    g.addInitializer('unused', Tensor.float32([1], [5]));
    op(g, 'reads', [direct]);
    g.nodes.push(new Node({ opType: 'If', name: 'if', inputs: [], outputs: [new Value('y')], attributes: [attr.graph('then_branch', reader(captured, 'then'))] }));
    g.inputs.push(asInput);
    g.outputs.push(asOutput);
    removeUnusedInitializers(g);
    assert.deepEqual(g.initializers.map((v) => v.name), ['direct', 'captured', 'as_input', 'as_output']);
  });
});

describe('removeDeadNodes', () => {
  it('removes a detached consumer\'s whole chain, back to the initializers then unread, and keeps what is still read', () => {
    const g = new Graph();
    const x = new Value('x');
    g.inputs.push(x);
    const w = g.addInitializer('w', Tensor.float32([1], [1]));
    const shared = g.addInitializer('shared', Tensor.float32([1], [2]));
    const a = op(g, 'a', [x, w]);
    op(g, 'b', [a, shared]);
    const kept = op(g, 'kept', [x, shared]);
    g.outputs.push(kept);
    const consumer = g.nodes.find((n) => n.name === 'b')!;
    g.removeNode(consumer);
    removeDeadNodes(g);
    removeUnusedInitializers(g);
    assert.deepEqual(order(g), ['kept']);
    assert.deepEqual(g.initializers.map((v) => v.name), ['shared']);
  });

  it('keeps the nodes it is told to keep (a model\'s own dead nodes), and what they read', () => {
    const g = new Graph();
    const x = new Value('x');
    g.inputs.push(x);
    const a = op(g, 'a', [x]);
    op(g, 'own_dead', [a]);
    const orphan = op(g, 'orphan', [x]);
    op(g, 'orphan_tail', [orphan]);
    const own = new Set(g.nodes.filter((n) => n.name === 'own_dead'));
    removeDeadNodes(g, own);
    assert.deepEqual(order(g), ['a', 'own_dead']);
  });

  it('keeps a node whose output a subgraph still reads', () => {
    const g = new Graph();
    const a = op(g, 'a', []);
    const y = new Value('y');
    g.nodes.push(new Node({ opType: 'If', name: 'if', inputs: [], outputs: [y], attributes: [attr.graph('then_branch', reader(a, 'then'))] }));
    g.outputs.push(y);
    removeDeadNodes(g);
    assert.deepEqual(order(g), ['a', 'if']);
  });

  it('removes a node with a subgraph, and what only that subgraph read', () => {
    const g = new Graph();
    const captured = g.addInitializer('captured', Tensor.float32([1], [2]));
    const inner = op(g, 'inner_source', []);
    const y = new Value('y');
    const branch = reader(captured, 'then');
    branch.nodes.push(new Node({ opType: 'Op', name: 'reads_outer_node', inputs: [inner], outputs: [new Value('z')] }));
    g.nodes.push(new Node({ opType: 'If', name: 'if', inputs: [], outputs: [y], attributes: [attr.graph('then_branch', branch)] }));
    removeDeadNodes(g);
    removeUnusedInitializers(g);
    assert.deepEqual(order(g), []);
    assert.deepEqual(g.initializers, []);
  });
});

describe('removeStaleValueInfo', () => {
  it('drops value_info of values no node defines or reads, keeps the rest', () => {
    const g = new Graph();
    const x = new Value('x');
    g.inputs.push(x);
    const a = op(g, 'a', [x]);
    g.outputs.push(a);
    const gone = new Value('gone');
    g.valueInfo.push(a, gone);
    removeStaleValueInfo(g);
    assert.deepEqual(g.valueInfo.map((v) => v.name), ['a_out']);
  });
});
