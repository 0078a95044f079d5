import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { TypeInfo } from './type-info.js';

export interface SparseTensor {
  values?: Tensor;
  indices?: Tensor;
  dims: number[];
}

/** AttributeProto's value, tagged by which field holds it. */
export type AttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: bigint }
  | { kind: 'string'; value: Uint8Array }
  | { kind: 'tensor'; value: Tensor }
  | { kind: 'graph'; value: Graph }
  | { kind: 'sparse_tensor'; value: SparseTensor }
  | { kind: 'type_proto'; value: TypeInfo }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: bigint[] }
  | { kind: 'strings'; value: Uint8Array[] }
  | { kind: 'tensors'; value: Tensor[] }
  | { kind: 'graphs'; value: Graph[] }
  | { kind: 'sparse_tensors'; value: SparseTensor[] }
  | { kind: 'type_protos'; value: TypeInfo[] }
  | { kind: 'none' };

export interface Attribute {
  name: string;
  value: AttributeValue;
  /** AttributeProto.type as the file had it; undefined when the file left it out. */
  declaredType?: number;
  refAttrName?: string;
  docString?: string;
}

/** AttributeProto.AttributeType numbers, by value kind. */
export const ATTRIBUTE_TYPE: Record<AttributeValue['kind'], number> = {
  none: 0,
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  graph: 5,
  floats: 6,
  ints: 7,
  strings: 8,
  tensors: 9,
  graphs: 10,
  sparse_tensor: 11,
  sparse_tensors: 12,
  type_proto: 13,
  type_protos: 14,
};

export const attr = {
  int: (name: string, value: number | bigint): Attribute => ({
    name,
    value: { kind: 'int', value: BigInt(value) },
    declaredType: ATTRIBUTE_TYPE.int,
  }),
  ints: (name: string, values: readonly (number | bigint)[]): Attribute => ({
    name,
    value: { kind: 'ints', value: values.map((v) => BigInt(v)) },
    declaredType: ATTRIBUTE_TYPE.ints,
  }),
  float: (name: string, value: number): Attribute => ({
    name,
    value: { kind: 'float', value },
    declaredType: ATTRIBUTE_TYPE.float,
  }),
  tensor: (name: string, value: Tensor): Attribute => ({
    name,
    value: { kind: 'tensor', value },
    declaredType: ATTRIBUTE_TYPE.tensor,
  }),
  graph: (name: string, value: Graph): Attribute => ({
    name,
    value: { kind: 'graph', value },
    declaredType: ATTRIBUTE_TYPE.graph,
  }),
};

/** The graphs an attribute holds, for walks that must descend into subgraphs. */
export function attributeGraphs(attribute: Attribute): Graph[] {
  const v = attribute.value;
  if (v.kind === 'graph') return [v.value];
  if (v.kind === 'graphs') return v.value;
  return [];
}
