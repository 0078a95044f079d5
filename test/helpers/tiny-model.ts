import { DataType } from '../../src/ir/data-type.js';
import { Graph, Node, Value } from '../../src/ir/graph.js';
import { Model } from '../../src/ir/model.js';
import type { Attribute } from '../../src/ir/attribute.js';
import { Tensor } from '../../src/ir/tensor.js';
import { tensorType } from '../../src/ir/type-info.js';

/** A small model built directly in the IR, for tests of single operators. */
export class TinyModel {
  readonly graph = new Graph();
  readonly model = new Model(this.graph, 'tiny.onnx');
  private count = 0;

  constructor(opset = 14, extraDomains: string[] = []) {
    this.model.irVersion = 8n;
    this.model.opsetImports = [{ domain: '', version: BigInt(opset) }, ...extraDomains.map((domain) => ({ domain, version: 1n }))];
    this.graph.name = 'tiny';
  }

  input(name: string, shape: (number | string)[]): Value {
    const v = new Value(name);
    v.info = { type: tensorType(DataType.FLOAT, shape) };
    this.graph.inputs.push(v);
    return v;
  }

  constant(tensor: Tensor): Value {
    return this.graph.addInitializer(`c${this.count++}`, tensor);
  }

  node(opType: string, inputs: (Value | null)[], attributes: Attribute[] = [], domain = '', outputs = 1): Value[] {
    const values = Array.from({ length: outputs }, () => new Value(`v${this.count++}`));
    this.graph.nodes.push(new Node({ opType, domain, name: `${opType}_${this.count++}`, inputs, outputs: values, attributes }));
    return values;
  }

  output(value: Value, shape?: (number | string)[]): void {
    value.info = { type: tensorType(DataType.FLOAT, shape) };
    this.graph.outputs.push(value);
  }
}

export { Tensor };
