import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attr } from '../src/ir/attribute.js';
import { Graph, Node, Value } from '../src/ir/graph.js';
import { Model } from '../src/ir/model.js';
import { NameAuthority } from '../src/ir/names.js';
import { Tensor } from '../src/ir/tensor.js';

/** A model whose names live at every level: graph inputs, outputs, initializers, value_info, sparse initializers, nodes, and two levels of subgraphs. */
function nestedModel(): Model {
  const g = new Graph();
  const x = new Value('x');
  g.inputs.push(x);
  g.addInitializer('w', Tensor.float32([1], [1]));
  const info = new Value('listed');
  g.valueInfo.push(info);
  const sparseValues = Tensor.float32([1], [1]);
  sparseValues.name = 'sparse_w';
  g.sparseInitializers.push({ values: sparseValues, indices: Tensor.int64([1], [0]), dims: [2] });
  const deep = new Graph();
  const deepIn = new Value('deep_in');
  deep.inputs.push(deepIn);
  deep.nodes.push(new Node({ opType: 'Neg', name: 'deep_node', inputs: [deepIn], outputs: [new Value('deep_out')] }));
  deep.outputs.push(deep.nodes[0]!.outputs[0]!);
  const body = new Graph();
  body.addInitializer('body_w', Tensor.float32([1], [2]));
  body.nodes.push(new Node({ opType: 'Loop', name: 'inner_loop', inputs: [x], outputs: [new Value('inner_out')], attributes: [attr.graph('body', deep)] }));
  body.outputs.push(body.nodes[0]!.outputs[0]!);
  g.nodes.push(new Node({ opType: 'If', name: 'branch', inputs: [x], outputs: [new Value('y')], attributes: [attr.graph('then_branch', body), attr.graph('else_branch', body)] }));
  g.outputs.push(g.nodes[0]!.outputs[0]!);
  return new Model(g, 'nested.onnx');
}

describe('NameAuthority', () => {
  it('hands out the prefix when free, then prefix_1, prefix_2, ...', () => {
    const names = new NameAuthority(nestedModel());
    assert.deepEqual([names.fresh('a'), names.fresh('a'), names.fresh('a')], ['a', 'a_1', 'a_2']);
  });

  it('never hands out a name the model uses, however deep', () => {
    for (const taken of ['x', 'w', 'listed', 'sparse_w', 'branch', 'y', 'body_w', 'inner_loop', 'inner_out', 'deep_in', 'deep_node', 'deep_out']) {
      const names = new NameAuthority(nestedModel());
      assert.ok(names.isTaken(taken), taken);
      assert.equal(names.fresh(taken), `${taken}_1`, taken);
    }
  });

  it('skips suffixed names that are taken too', () => {
    const model = nestedModel();
    model.graph.addInitializer('w_1', Tensor.float32([1], [1]));
    assert.equal(new NameAuthority(model).fresh('w'), 'w_2');
  });

  it('is deterministic: the same model gives the same sequence of names', () => {
    const run = () => {
      const names = new NameAuthority(nestedModel());
      return ['x', 'cell/Add', 'cell/Add', 'deep_out', 'new'].map((p) => names.fresh(p));
    };
    assert.deepEqual(run(), run());
    assert.deepEqual(run(), ['x_1', 'cell/Add', 'cell/Add_1', 'deep_out_1', 'new']);
  });
});
