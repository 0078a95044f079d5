import { InputError } from '../errors.js';
import type { Attribute, AttributeValue, SparseTensor } from '../ir/attribute.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim, TypeInfo } from '../ir/type-info.js';
import { encodeModelProto, PROTOBUF_LIMIT } from './codec.js';
import { bigIntToInt64 } from './long.js';
import { decodeOpaque } from './opaque.js';
import type { Encodable } from './proto-types.js';


/** Serialises a model. The same model always gives the same bytes. */
export function exportModel(model: Model): Uint8Array {
  const proto: Encodable<'ModelProto'> = {
    opsetImport: model.opsetImports.map((o) => ({
      ...(o.domain !== undefined ? { domain: o.domain } : {}),
      ...(o.version !== undefined ? { version: bigIntToInt64(o.version) } : {}),
    })),
    graph: exportGraph(model.graph),
    metadataProps: pairs(model.metadataProps),
    trainingInfo: model.opaque.trainingInfo.map((b) => decodeOpaque('TrainingInfoProto', b)),
    functions: model.opaque.functions.map((b) => decodeOpaque('FunctionProto', b)),
    configuration: model.opaque.configuration.map((b) => decodeOpaque('DeviceConfigurationProto', b)),
  };
  if (model.irVersion !== undefined) proto.irVersion = bigIntToInt64(model.irVersion);
  if (model.producerName !== undefined) proto.producerName = model.producerName;
  if (model.producerVersion !== undefined) proto.producerVersion = model.producerVersion;
  if (model.domain !== undefined) proto.domain = model.domain;
  if (model.modelVersion !== undefined) proto.modelVersion = bigIntToInt64(model.modelVersion);
  if (model.docString !== undefined) proto.docString = model.docString;
  const bytes = encodeModelProto(proto, tensorBytes(model.graph));
  if (bytes.length > PROTOBUF_LIMIT) {
    throw new InputError(`the converted model would be ${bytes.length} bytes, over protobuf's 2 GiB limit`, { file: model.source });
  }
  return bytes;
}

/** The bytes of a graph's stored tensors, nested graphs included: most of an encoded model. */
function tensorBytes(graph: Graph): number {
  let total = 0;
  for (const v of graph.initializers) {
    total += v.constant?.storedRawLength ?? 0;
  }
  for (const node of graph.nodes) for (const sub of node.subgraphs()) total += tensorBytes(sub);
  return total;
}

function pairs(list: [string, string][] | undefined): Encodable<'StringStringEntryProto'>[] {
  return (list ?? []).map(([key, value]) => ({ key, value }));
}

function exportGraph(graph: Graph): Encodable<'GraphProto'> {
  const proto: Encodable<'GraphProto'> = {
    node: graph.nodes.map(exportNode),
    initializer: graph.initializers.map((v) => exportTensor(v.constant!, v.name)),
    sparseInitializer: graph.sparseInitializers.map(exportSparse),
    input: graph.inputs.map(exportValueInfo),
    output: graph.outputs.map(exportValueInfo),
    valueInfo: graph.valueInfo.map(exportValueInfo),
    quantizationAnnotation: graph.quantizationAnnotations.map((a) => ({
      ...(a.tensorName !== undefined ? { tensorName: a.tensorName } : {}),
      quantParameterTensorNames: pairs(a.parameters),
    })),
    metadataProps: pairs(graph.metadataProps),
  };
  if (graph.name !== undefined) proto.name = graph.name;
  if (graph.docString !== undefined) proto.docString = graph.docString;
  return proto;
}

function exportValueInfo(value: Value): Encodable<'ValueInfoProto'> {
  const proto: Encodable<'ValueInfoProto'> = { name: value.name, metadataProps: pairs(value.info.metadataProps) };
  if (value.info.type) proto.type = exportType(value.info.type);
  if (value.info.docString !== undefined) proto.docString = value.info.docString;
  return proto;
}

function exportNode(node: Node): Encodable<'NodeProto'> {
  const proto: Encodable<'NodeProto'> = {
    input: node.inputs.map((v) => v?.name ?? ''),
    output: node.outputs.map((v) => v.name),
    opType: node.opType,
    attribute: node.attributes.map(exportAttribute),
    metadataProps: pairs(node.metadataProps),
    deviceConfigurations: node.opaqueFields.map((b) => decodeOpaque('NodeDeviceConfigurationProto', b)),
  };
  if (node.name !== undefined) proto.name = node.name;
  if (!node.domainAbsent || node.domain !== '') proto.domain = node.domain;
  if (node.overload !== undefined) proto.overload = node.overload;
  if (node.docString !== undefined) proto.docString = node.docString;
  return proto;
}

function exportAttribute(attribute: Attribute): Encodable<'AttributeProto'> {
  const proto: Encodable<'AttributeProto'> = { name: attribute.name, ...attributeFields(attribute.value) };
  if (attribute.declaredType !== undefined) proto.type = attribute.declaredType;
  if (attribute.refAttrName !== undefined) proto.refAttrName = attribute.refAttrName;
  if (attribute.docString !== undefined) proto.docString = attribute.docString;
  return proto;
}

function attributeFields(v: AttributeValue): Encodable<'AttributeProto'> {
  switch (v.kind) {
    case 'float':
      return { f: v.value };
    case 'int':
      return { i: bigIntToInt64(v.value) };
    case 'string':
      return { s: v.value };
    case 'tensor':
      return { t: exportTensor(v.value) };
    case 'graph':
      return { g: exportGraph(v.value) };
    case 'sparse_tensor':
      return { sparseTensor: exportSparse(v.value) };
    case 'type_proto':
      return { tp: exportType(v.value) };
    case 'floats':
      return { floats: v.value };
    case 'ints':
      return { ints: v.value.map(bigIntToInt64) };
    case 'strings':
      return { strings: v.value };
    case 'tensors':
      return { tensors: v.value.map((t) => exportTensor(t)) };
    case 'graphs':
      return { graphs: v.value.map(exportGraph) };
    case 'sparse_tensors':
      return { sparseTensors: v.value.map(exportSparse) };
    case 'type_protos':
      return { typeProtos: v.value.map(exportType) };
    case 'none':
      return {};
  }
}

function exportTensor(tensor: Tensor, name = tensor.name): Encodable<'TensorProto'> {
  const proto: Encodable<'TensorProto'> = {
    dims: tensor.dims.map((d) => bigIntToInt64(BigInt(d))),
    dataType: tensor.dataType,
    metadataProps: pairs(tensor.extras.metadataProps),
  };
  if (name !== undefined) proto.name = name;
  if (tensor.extras.docString !== undefined) proto.docString = tensor.extras.docString;
  const segment = tensor.extras.segment;
  if (segment) {
    proto.segment = {
      ...(segment.begin !== undefined ? { begin: bigIntToInt64(segment.begin) } : {}),
      ...(segment.end !== undefined ? { end: bigIntToInt64(segment.end) } : {}),
    };
  }
  if (tensor.extras.dataLocation !== undefined) proto.dataLocation = tensor.extras.dataLocation;
  if (tensor.extras.externalData) proto.externalData = pairs(tensor.extras.externalData);
  const s = tensor.storage;
  switch (s.kind) {
    case 'raw':
    case 'deferred':
      proto.rawData = tensor.rawBytes()!;
      break;
    case 'float':
      proto.floatData = s.values;
      break;
    case 'int32':
      proto.int32Data = s.values;
      break;
    case 'int64':
      proto.int64Data = s.values.map(bigIntToInt64);
      break;
    case 'double':
      proto.doubleData = s.values;
      break;
    case 'uint64':
      proto.uint64Data = s.values.map(bigIntToInt64);
      break;
    case 'string':
      proto.stringData = s.values;
      break;
    case 'external':
      proto.externalData = pairs(s.entries);
      proto.dataLocation = 1;
      break;
    case 'none':
      break;
  }
  return proto;
}

function exportSparse(sparse: SparseTensor): Encodable<'SparseTensorProto'> {
  return {
    ...(sparse.values ? { values: exportTensor(sparse.values) } : {}),
    ...(sparse.indices ? { indices: exportTensor(sparse.indices) } : {}),
    dims: sparse.dims.map((d) => bigIntToInt64(BigInt(d))),
  };
}

function exportType(type: TypeInfo): Encodable<'TypeProto'> {
  const proto: Encodable<'TypeProto'> = type.denotation !== undefined ? { denotation: type.denotation } : {};
  const shaped = (t: { elemType?: number; shape?: Dim[] }) => ({
    ...(t.elemType !== undefined ? { elemType: t.elemType } : {}),
    ...(t.shape ? { shape: { dim: t.shape.map(exportDim) } } : {}),
  });
  switch (type.kind) {
    case 'tensor':
      proto.tensorType = shaped(type);
      break;
    case 'sparse_tensor':
      proto.sparseTensorType = shaped(type);
      break;
    case 'sequence':
      proto.sequenceType = type.elem ? { elemType: exportType(type.elem) } : {};
      break;
    case 'optional':
      proto.optionalType = type.elem ? { elemType: exportType(type.elem) } : {};
      break;
    case 'map':
      proto.mapType = {
        ...(type.keyType !== undefined ? { keyType: type.keyType } : {}),
        ...(type.value ? { valueType: exportType(type.value) } : {}),
      };
      break;
    case 'opaque':
      proto.opaqueType = {
        ...(type.domain !== undefined ? { domain: type.domain } : {}),
        ...(type.name !== undefined ? { name: type.name } : {}),
      };
      break;
    case 'unset':
      break;
  }
  return proto;
}

function exportDim(dim: Dim): NonNullable<Encodable<'TensorShapeProto'>['dim']>[number] {
  return {
    ...(dim.value !== undefined ? { dimValue: bigIntToInt64(BigInt(dim.value)) } : {}),
    ...(dim.param !== undefined ? { dimParam: dim.param } : {}),
    ...(dim.denotation !== undefined ? { denotation: dim.denotation } : {}),
  };
}
