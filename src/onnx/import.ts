import { InputError } from '../errors.js';
import type { Attribute, AttributeValue, SparseTensor } from '../ir/attribute.js';
import { Graph, Node, Value } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { Tensor, type TensorStorage } from '../ir/tensor.js';
import type { Dim, TypeInfo, ValueInfo } from '../ir/type-info.js';
import { int64ToBigInt } from './long.js';
import type * as P from './proto-types.js';
import { encodeOpaque } from './opaque.js';

const has = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/** Builds the IR of a decoded model. Nothing the file holds is dropped. */
export function importModel(proto: P.ModelProto, source: string): Model {
  const importer = new Importer(source);
  const model = new Model(importer.graph(proto.graph!, null), source);
  if (has(proto, 'irVersion')) model.irVersion = int64ToBigInt(proto.irVersion!);
  model.opsetImports = proto.opsetImport.map((o) => ({
    ...(has(o, 'domain') ? { domain: o.domain } : {}),
    ...(has(o, 'version') ? { version: int64ToBigInt(o.version!) } : {}),
  }));
  if (has(proto, 'producerName')) model.producerName = proto.producerName;
  if (has(proto, 'producerVersion')) model.producerVersion = proto.producerVersion;
  if (has(proto, 'domain')) model.domain = proto.domain;
  if (has(proto, 'modelVersion')) model.modelVersion = int64ToBigInt(proto.modelVersion!);
  if (has(proto, 'docString')) model.docString = proto.docString;
  model.metadataProps = entries(proto.metadataProps);
  model.opaque = {
    trainingInfo: proto.trainingInfo.map((m) => encodeOpaque('TrainingInfoProto', m)),
    functions: proto.functions.map((m) => encodeOpaque('FunctionProto', m)),
    configuration: proto.configuration.map((m) => encodeOpaque('DeviceConfigurationProto', m)),
  };
  return model;
}

function entries(list: P.StringStringEntryProto[]): [string, string][] {
  return list.map((e) => [e.key ?? '', e.value ?? '']);
}

function optionalEntries(list: P.StringStringEntryProto[]): { metadataProps?: [string, string][] } {
  return list.length ? { metadataProps: entries(list) } : {};
}

/** Names visible in a graph: its own values, then those of the graphs around it. */
class Scope {
  private readonly values = new Map<string, Value>();
  constructor(readonly parent: Scope | null) {}

  lookup(name: string): Value | undefined {
    return this.values.get(name) ?? this.parent?.lookup(name);
  }

  define(name: string, value: Value): void {
    this.values.set(name, value);
  }

  hasOwn(name: string): boolean {
    return this.values.has(name);
  }
}

class Importer {
  constructor(private readonly file: string) {}

  graph(proto: P.GraphProto, outer: Scope | null): Graph {
    const graph = new Graph();
    const scope = new Scope(outer);
    if (has(proto, 'name')) graph.name = proto.name;
    if (has(proto, 'docString')) graph.docString = proto.docString;
    Object.assign(graph, optionalEntries(proto.metadataProps));

    for (const tensorProto of proto.initializer) {
      const value = graph.addInitializer(tensorProto.name ?? '', this.tensor(tensorProto));
      scope.define(value.name, value);
    }
    for (const info of proto.input) {
      const name = info.name ?? '';
      let value = scope.hasOwn(name) ? scope.lookup(name)! : undefined;
      if (!value) {
        value = new Value(name);
        scope.define(name, value);
      }
      this.describe(value, info);
      graph.inputs.push(value);
    }
    // Every node output exists before any node is connected: files need not be sorted.
    const outputsByNode = proto.node.map((node) =>
      node.output.map((name) => {
        const value = new Value(name);
        if (name === '') return value;
        if (scope.hasOwn(name)) throw new InputError(`value "${name}" is defined more than once`, { file: this.file, node: node.name });
        scope.define(name, value);
        return value;
      }),
    );
    const resolve = (name: string): Value | null => {
      if (name === '') return null;
      let value = scope.lookup(name);
      if (!value) {
        value = new Value(name); // read but never defined: kept, so the file round-trips
        scope.define(name, value);
      }
      return value;
    };
    proto.node.forEach((nodeProto, i) => {
      graph.nodes.push(this.node(nodeProto, outputsByNode[i]!, resolve, scope));
    });
    for (const info of proto.valueInfo) {
      const value = resolve(info.name ?? '') ?? new Value('');
      this.describe(value, info);
      graph.valueInfo.push(value);
    }
    for (const info of proto.output) {
      const value = resolve(info.name ?? '') ?? new Value('');
      this.describe(value, info);
      graph.outputs.push(value);
    }
    graph.sparseInitializers = proto.sparseInitializer.map((s) => this.sparse(s));
    graph.quantizationAnnotations = proto.quantizationAnnotation.map((a) => ({
      ...(has(a, 'tensorName') ? { tensorName: a.tensorName } : {}),
      parameters: entries(a.quantParameterTensorNames),
    }));
    return graph;
  }

  private describe(value: Value, proto: P.ValueInfoProto): void {
    const info: ValueInfo = {};
    if (has(proto, 'type')) info.type = this.type(proto.type!);
    if (has(proto, 'docString')) info.docString = proto.docString;
    Object.assign(info, optionalEntries(proto.metadataProps));
    value.info = info;
  }

  private node(proto: P.NodeProto, outputs: Value[], resolve: (name: string) => Value | null, scope: Scope): Node {
    const node = new Node({
      opType: proto.opType ?? '',
      ...(has(proto, 'domain') ? { domain: proto.domain } : {}),
      ...(has(proto, 'name') ? { name: proto.name } : {}),
      inputs: proto.input.map(resolve),
      outputs,
      attributes: proto.attribute.map((a) => this.attribute(a, scope)),
    });
    if (!has(proto, 'domain')) node.domainAbsent = true;
    if (has(proto, 'overload')) node.overload = proto.overload;
    if (has(proto, 'docString')) node.docString = proto.docString;
    Object.assign(node, optionalEntries(proto.metadataProps));
    node.opaqueFields = proto.deviceConfigurations.map((m) => encodeOpaque('NodeDeviceConfigurationProto', m));
    return node;
  }

  private attribute(proto: P.AttributeProto, scope: Scope): Attribute {
    const attribute: Attribute = { name: proto.name ?? '', value: this.attributeValue(proto, scope) };
    if (has(proto, 'type')) attribute.declaredType = proto.type;
    if (has(proto, 'refAttrName')) attribute.refAttrName = proto.refAttrName;
    if (has(proto, 'docString')) attribute.docString = proto.docString;
    return attribute;
  }

  private attributeValue(p: P.AttributeProto, scope: Scope): AttributeValue {
    const found: AttributeValue[] = [];
    if (has(p, 'f')) found.push({ kind: 'float', value: p.f! });
    if (has(p, 'i')) found.push({ kind: 'int', value: int64ToBigInt(p.i!) });
    if (has(p, 's')) found.push({ kind: 'string', value: p.s! });
    if (has(p, 't')) found.push({ kind: 'tensor', value: this.tensor(p.t!) });
    if (has(p, 'g')) found.push({ kind: 'graph', value: this.graph(p.g!, scope) });
    if (has(p, 'sparseTensor')) found.push({ kind: 'sparse_tensor', value: this.sparse(p.sparseTensor!) });
    if (has(p, 'tp')) found.push({ kind: 'type_proto', value: this.type(p.tp!) });
    if (p.floats.length) found.push({ kind: 'floats', value: [...p.floats] });
    if (p.ints.length) found.push({ kind: 'ints', value: p.ints.map(int64ToBigInt) });
    if (p.strings.length) found.push({ kind: 'strings', value: [...p.strings] });
    if (p.tensors.length) found.push({ kind: 'tensors', value: p.tensors.map((t) => this.tensor(t)) });
    if (p.graphs.length) found.push({ kind: 'graphs', value: p.graphs.map((g) => this.graph(g, scope)) });
    if (p.sparseTensors.length) found.push({ kind: 'sparse_tensors', value: p.sparseTensors.map((s) => this.sparse(s)) });
    if (p.typeProtos.length) found.push({ kind: 'type_protos', value: p.typeProtos.map((t) => this.type(t)) });
    if (found.length > 1) {
      throw new InputError(`attribute "${p.name}" holds ${found.length} values; ONNX allows one`, { file: this.file });
    }
    if (found.length === 1) return found[0]!;
    return emptyListOfDeclaredType(p.type);
  }

  tensor(proto: P.TensorProto): Tensor {
    const name = has(proto, 'name') ? proto.name : undefined;
    const dims = proto.dims.map((d) => {
      const n = Number(int64ToBigInt(d));
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new InputError(`tensor "${name ?? ''}" has dimension ${int64ToBigInt(d)}`, { file: this.file });
      }
      return n;
    });
    const candidates: TensorStorage[] = [];
    if (has(proto, 'rawData')) candidates.push({ kind: 'raw', bytes: proto.rawData! });
    if (proto.floatData.length) candidates.push({ kind: 'float', values: proto.floatData });
    if (proto.int32Data.length) candidates.push({ kind: 'int32', values: proto.int32Data });
    if (proto.int64Data.length) candidates.push({ kind: 'int64', values: proto.int64Data.map(int64ToBigInt) });
    if (proto.doubleData.length) candidates.push({ kind: 'double', values: proto.doubleData });
    if (proto.uint64Data.length) candidates.push({ kind: 'uint64', values: proto.uint64Data.map(int64ToBigInt) });
    if (proto.stringData.length) candidates.push({ kind: 'string', values: proto.stringData });
    if (proto.dataLocation === 1) candidates.push({ kind: 'external', entries: entries(proto.externalData) });
    if (candidates.length > 1) {
      throw new InputError(`tensor "${name ?? ''}" stores its data in ${candidates.length} places; ONNX allows one`, {
        file: this.file,
      });
    }
    const extras: Tensor['extras'] = { ...optionalEntries(proto.metadataProps) };
    if (has(proto, 'docString')) extras.docString = proto.docString;
    if (has(proto, 'segment')) {
      const s = proto.segment!;
      extras.segment = {
        ...(has(s, 'begin') ? { begin: int64ToBigInt(s.begin!) } : {}),
        ...(has(s, 'end') ? { end: int64ToBigInt(s.end!) } : {}),
      };
    }
    if (has(proto, 'dataLocation') && proto.dataLocation !== 1) extras.dataLocation = proto.dataLocation;
    if (proto.dataLocation !== 1 && proto.externalData.length) extras.externalData = entries(proto.externalData);
    return new Tensor(proto.dataType ?? 0, dims, candidates[0] ?? { kind: 'none' }, name, extras);
  }

  private sparse(proto: P.SparseTensorProto): SparseTensor {
    return {
      ...(has(proto, 'values') ? { values: this.tensor(proto.values!) } : {}),
      ...(has(proto, 'indices') ? { indices: this.tensor(proto.indices!) } : {}),
      dims: proto.dims.map((d) => Number(int64ToBigInt(d))),
    };
  }

  type(proto: P.TypeProto): TypeInfo {
    const base = has(proto, 'denotation') ? { denotation: proto.denotation! } : {};
    const shaped = (t: { elemType?: number; shape?: P.TensorShapeProto }) => ({
      ...(has(t, 'elemType') ? { elemType: t.elemType! } : {}),
      ...(has(t, 'shape') ? { shape: t.shape!.dim.map((d) => this.dim(d)) } : {}),
    });
    if (has(proto, 'tensorType')) return { ...base, kind: 'tensor', ...shaped(proto.tensorType!) };
    if (has(proto, 'sparseTensorType')) return { ...base, kind: 'sparse_tensor', ...shaped(proto.sparseTensorType!) };
    if (has(proto, 'sequenceType')) {
      const s = proto.sequenceType!;
      return { ...base, kind: 'sequence', ...(has(s, 'elemType') ? { elem: this.type(s.elemType!) } : {}) };
    }
    if (has(proto, 'optionalType')) {
      const o = proto.optionalType!;
      return { ...base, kind: 'optional', ...(has(o, 'elemType') ? { elem: this.type(o.elemType!) } : {}) };
    }
    if (has(proto, 'mapType')) {
      const m = proto.mapType!;
      return {
        ...base,
        kind: 'map',
        ...(has(m, 'keyType') ? { keyType: m.keyType! } : {}),
        ...(has(m, 'valueType') ? { value: this.type(m.valueType!) } : {}),
      };
    }
    if (has(proto, 'opaqueType')) {
      const o = proto.opaqueType!;
      return {
        ...base,
        kind: 'opaque',
        ...(has(o, 'domain') ? { domain: o.domain! } : {}),
        ...(has(o, 'name') ? { name: o.name! } : {}),
      };
    }
    return { ...base, kind: 'unset' };
  }

  private dim(proto: P.DimensionProto): Dim {
    const dim: Dim = {};
    if (has(proto, 'dimValue')) {
      const n = Number(int64ToBigInt(proto.dimValue!));
      if (!Number.isSafeInteger(n)) throw new InputError(`a shape has dimension ${int64ToBigInt(proto.dimValue!)}`, { file: this.file });
      dim.value = n;
    }
    if (has(proto, 'dimParam')) dim.param = proto.dimParam!;
    if (has(proto, 'denotation')) dim.denotation = proto.denotation!;
    return dim;
  }
}

/** An attribute whose list is empty carries its kind only in the type field. */
function emptyListOfDeclaredType(type: number | undefined): AttributeValue {
  switch (type) {
    case 6:
      return { kind: 'floats', value: [] };
    case 7:
      return { kind: 'ints', value: [] };
    case 8:
      return { kind: 'strings', value: [] };
    case 9:
      return { kind: 'tensors', value: [] };
    case 10:
      return { kind: 'graphs', value: [] };
    case 12:
      return { kind: 'sparse_tensors', value: [] };
    case 14:
      return { kind: 'type_protos', value: [] };
    default:
      return { kind: 'none' };
  }
}
