import protobuf from 'protobufjs';

/**
 * The ONNX model schema (onnx-ml.proto of ONNX 1.23, IR version 13): every message with its
 * fields' numbers and types as the specification (Apache-2.0, ONNX Project Contributors)
 * declares them, in protobufjs' JSON form with camelCase names. It is the only copy: the
 * protobuf codec is built from it, and the TypeScript types of decoded messages are
 * derived from it (proto-types.ts). test/onnx-schema.test.ts compares it, field by field,
 * with the descriptor of the official onnx package.
 *
 * Every field the specification declares must be here: protobuf decoding silently drops
 * fields a schema does not declare, and qlstm promises not to lose anything.
 */
export const ONNX_SCHEMA = {
  AttributeProto: {
    fields: {
      name: { id: 1, type: 'string' },
      refAttrName: { id: 21, type: 'string' },
      docString: { id: 13, type: 'string' },
      type: { id: 20, type: 'AttributeType' },
      f: { id: 2, type: 'float' },
      i: { id: 3, type: 'int64' },
      s: { id: 4, type: 'bytes' },
      t: { id: 5, type: 'TensorProto' },
      g: { id: 6, type: 'GraphProto' },
      sparseTensor: { id: 22, type: 'SparseTensorProto' },
      tp: { id: 14, type: 'TypeProto' },
      floats: { id: 7, type: 'float', rule: 'repeated' },
      ints: { id: 8, type: 'int64', rule: 'repeated' },
      strings: { id: 9, type: 'bytes', rule: 'repeated' },
      tensors: { id: 10, type: 'TensorProto', rule: 'repeated' },
      graphs: { id: 11, type: 'GraphProto', rule: 'repeated' },
      sparseTensors: { id: 23, type: 'SparseTensorProto', rule: 'repeated' },
      typeProtos: { id: 15, type: 'TypeProto', rule: 'repeated' },
    },
    nested: {
      AttributeType: {
        values: {
          UNDEFINED: 0,
          FLOAT: 1,
          INT: 2,
          STRING: 3,
          TENSOR: 4,
          GRAPH: 5,
          SPARSE_TENSOR: 11,
          TYPE_PROTO: 13,
          FLOATS: 6,
          INTS: 7,
          STRINGS: 8,
          TENSORS: 9,
          GRAPHS: 10,
          SPARSE_TENSORS: 12,
          TYPE_PROTOS: 14,
        },
      },
    },
  },
  ValueInfoProto: {
    fields: {
      name: { id: 1, type: 'string' },
      type: { id: 2, type: 'TypeProto' },
      docString: { id: 3, type: 'string' },
      metadataProps: { id: 4, type: 'StringStringEntryProto', rule: 'repeated' },
    },
  },
  NodeProto: {
    fields: {
      input: { id: 1, type: 'string', rule: 'repeated' },
      output: { id: 2, type: 'string', rule: 'repeated' },
      name: { id: 3, type: 'string' },
      opType: { id: 4, type: 'string' },
      domain: { id: 7, type: 'string' },
      overload: { id: 8, type: 'string' },
      attribute: { id: 5, type: 'AttributeProto', rule: 'repeated' },
      docString: { id: 6, type: 'string' },
      metadataProps: { id: 9, type: 'StringStringEntryProto', rule: 'repeated' },
      deviceConfigurations: { id: 10, type: 'NodeDeviceConfigurationProto', rule: 'repeated' },
    },
  },
  IntIntListEntryProto: {
    fields: {
      key: { id: 1, type: 'int64' },
      value: { id: 2, type: 'int64', rule: 'repeated' },
    },
  },
  NodeDeviceConfigurationProto: {
    fields: {
      configurationId: { id: 1, type: 'string' },
      shardingSpec: { id: 2, type: 'ShardingSpecProto', rule: 'repeated' },
      pipelineStage: { id: 3, type: 'int32' },
    },
  },
  ShardingSpecProto: {
    fields: {
      tensorName: { id: 1, type: 'string' },
      device: { id: 2, type: 'int64', rule: 'repeated' },
      indexToDeviceGroupMap: { id: 3, type: 'IntIntListEntryProto', rule: 'repeated' },
      shardedDim: { id: 4, type: 'ShardedDimProto', rule: 'repeated' },
    },
  },
  ShardedDimProto: {
    fields: {
      axis: { id: 1, type: 'int64' },
      simpleSharding: { id: 2, type: 'SimpleShardedDimProto', rule: 'repeated' },
    },
  },
  SimpleShardedDimProto: {
    oneofs: { dim: { oneof: ['dimValue', 'dimParam'] } },
    fields: {
      dimValue: { id: 1, type: 'int64' },
      dimParam: { id: 2, type: 'string' },
      numShards: { id: 3, type: 'int64' },
    },
  },
  TrainingInfoProto: {
    fields: {
      initialization: { id: 1, type: 'GraphProto' },
      algorithm: { id: 2, type: 'GraphProto' },
      initializationBinding: { id: 3, type: 'StringStringEntryProto', rule: 'repeated' },
      updateBinding: { id: 4, type: 'StringStringEntryProto', rule: 'repeated' },
    },
  },
  ModelProto: {
    fields: {
      irVersion: { id: 1, type: 'int64' },
      opsetImport: { id: 8, type: 'OperatorSetIdProto', rule: 'repeated' },
      producerName: { id: 2, type: 'string' },
      producerVersion: { id: 3, type: 'string' },
      domain: { id: 4, type: 'string' },
      modelVersion: { id: 5, type: 'int64' },
      docString: { id: 6, type: 'string' },
      graph: { id: 7, type: 'GraphProto' },
      metadataProps: { id: 14, type: 'StringStringEntryProto', rule: 'repeated' },
      trainingInfo: { id: 20, type: 'TrainingInfoProto', rule: 'repeated' },
      functions: { id: 25, type: 'FunctionProto', rule: 'repeated' },
      configuration: { id: 26, type: 'DeviceConfigurationProto', rule: 'repeated' },
    },
  },
  DeviceConfigurationProto: {
    fields: {
      name: { id: 1, type: 'string' },
      numDevices: { id: 2, type: 'int32' },
      device: { id: 3, type: 'string', rule: 'repeated' },
    },
  },
  StringStringEntryProto: {
    fields: {
      key: { id: 1, type: 'string' },
      value: { id: 2, type: 'string' },
    },
  },
  TensorAnnotation: {
    fields: {
      tensorName: { id: 1, type: 'string' },
      quantParameterTensorNames: { id: 2, type: 'StringStringEntryProto', rule: 'repeated' },
    },
  },
  GraphProto: {
    fields: {
      node: { id: 1, type: 'NodeProto', rule: 'repeated' },
      name: { id: 2, type: 'string' },
      initializer: { id: 5, type: 'TensorProto', rule: 'repeated' },
      sparseInitializer: { id: 15, type: 'SparseTensorProto', rule: 'repeated' },
      docString: { id: 10, type: 'string' },
      input: { id: 11, type: 'ValueInfoProto', rule: 'repeated' },
      output: { id: 12, type: 'ValueInfoProto', rule: 'repeated' },
      valueInfo: { id: 13, type: 'ValueInfoProto', rule: 'repeated' },
      quantizationAnnotation: { id: 14, type: 'TensorAnnotation', rule: 'repeated' },
      metadataProps: { id: 16, type: 'StringStringEntryProto', rule: 'repeated' },
    },
  },
  TensorProto: {
    fields: {
      dims: { id: 1, type: 'int64', rule: 'repeated' },
      dataType: { id: 2, type: 'int32' },
      segment: { id: 3, type: 'Segment' },
      floatData: { id: 4, type: 'float', rule: 'repeated', options: { packed: true } },
      int32Data: { id: 5, type: 'int32', rule: 'repeated', options: { packed: true } },
      stringData: { id: 6, type: 'bytes', rule: 'repeated' },
      int64Data: { id: 7, type: 'int64', rule: 'repeated', options: { packed: true } },
      name: { id: 8, type: 'string' },
      docString: { id: 12, type: 'string' },
      rawData: { id: 9, type: 'bytes' },
      externalData: { id: 13, type: 'StringStringEntryProto', rule: 'repeated' },
      dataLocation: { id: 14, type: 'DataLocation' },
      doubleData: { id: 10, type: 'double', rule: 'repeated', options: { packed: true } },
      uint64Data: { id: 11, type: 'uint64', rule: 'repeated', options: { packed: true } },
      metadataProps: { id: 16, type: 'StringStringEntryProto', rule: 'repeated' },
    },
    nested: {
      Segment: {
        fields: {
          begin: { id: 1, type: 'int64' },
          end: { id: 2, type: 'int64' },
        },
      },
      DataLocation: { values: { DEFAULT: 0, EXTERNAL: 1 } },
    },
  },
  SparseTensorProto: {
    fields: {
      values: { id: 1, type: 'TensorProto' },
      indices: { id: 2, type: 'TensorProto' },
      dims: { id: 3, type: 'int64', rule: 'repeated' },
    },
  },
  TensorShapeProto: {
    fields: {
      dim: { id: 1, type: 'Dimension', rule: 'repeated' },
    },
    nested: {
      Dimension: {
        oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
        fields: {
          dimValue: { id: 1, type: 'int64' },
          dimParam: { id: 2, type: 'string' },
          denotation: { id: 3, type: 'string' },
        },
      },
    },
  },
  TypeProto: {
    oneofs: {
      value: { oneof: ['tensorType', 'sequenceType', 'mapType', 'optionalType', 'sparseTensorType', 'opaqueType'] },
    },
    fields: {
      tensorType: { id: 1, type: 'Tensor' },
      sequenceType: { id: 4, type: 'Sequence' },
      mapType: { id: 5, type: 'Map' },
      optionalType: { id: 9, type: 'Optional' },
      sparseTensorType: { id: 8, type: 'SparseTensor' },
      opaqueType: { id: 7, type: 'Opaque' },
      denotation: { id: 6, type: 'string' },
    },
    nested: {
      Tensor: {
        fields: {
          elemType: { id: 1, type: 'int32' },
          shape: { id: 2, type: 'TensorShapeProto' },
        },
      },
      Sequence: { fields: { elemType: { id: 1, type: 'TypeProto' } } },
      Map: {
        fields: {
          keyType: { id: 1, type: 'int32' },
          valueType: { id: 2, type: 'TypeProto' },
        },
      },
      Optional: { fields: { elemType: { id: 1, type: 'TypeProto' } } },
      SparseTensor: {
        fields: {
          elemType: { id: 1, type: 'int32' },
          shape: { id: 2, type: 'TensorShapeProto' },
        },
      },
      Opaque: {
        fields: {
          domain: { id: 1, type: 'string' },
          name: { id: 2, type: 'string' },
        },
      },
    },
  },
  OperatorSetIdProto: {
    fields: {
      domain: { id: 1, type: 'string' },
      version: { id: 2, type: 'int64' },
    },
  },
  FunctionProto: {
    fields: {
      name: { id: 1, type: 'string' },
      input: { id: 4, type: 'string', rule: 'repeated' },
      output: { id: 5, type: 'string', rule: 'repeated' },
      attribute: { id: 6, type: 'string', rule: 'repeated' },
      attributeProto: { id: 11, type: 'AttributeProto', rule: 'repeated' },
      node: { id: 7, type: 'NodeProto', rule: 'repeated' },
      docString: { id: 8, type: 'string' },
      opsetImport: { id: 9, type: 'OperatorSetIdProto', rule: 'repeated' },
      domain: { id: 10, type: 'string' },
      overload: { id: 13, type: 'string' },
      valueInfo: { id: 12, type: 'ValueInfoProto', rule: 'repeated' },
      metadataProps: { id: 14, type: 'StringStringEntryProto', rule: 'repeated' },
    },
  },
} as const;

/** A message of the schema: its fields, and the messages and enums declared inside it. */
export interface MessageDescriptor {
  readonly fields: Readonly<Record<string, FieldDescriptor>>;
  readonly oneofs?: Readonly<Record<string, { readonly oneof: readonly string[] }>>;
  readonly nested?: Readonly<Record<string, MessageDescriptor | EnumDescriptor>>;
}

export interface FieldDescriptor {
  readonly id: number;
  readonly type: string;
  readonly rule?: 'repeated';
  readonly options?: { readonly packed?: boolean };
}

export interface EnumDescriptor {
  readonly values: Readonly<Record<string, number>>;
}

// Fails to compile if the schema strays from the descriptor shape above.
const checked: Readonly<Record<string, MessageDescriptor>> = ONNX_SCHEMA;

/** The descriptor in the form protobufjs reads; every message follows proto2's rules (unpacked repeated scalars unless said). */
function protobufJson(messages: Readonly<Record<string, MessageDescriptor | EnumDescriptor>>): protobuf.INamespace {
  const nested: Record<string, protobuf.AnyNestedObject> = {};
  for (const [name, entry] of Object.entries(messages)) {
    if ('values' in entry) {
      nested[name] = { values: { ...entry.values } };
      continue;
    }
    const fields: Record<string, protobuf.IField> = {};
    for (const [fieldName, f] of Object.entries(entry.fields)) {
      fields[fieldName] = { id: f.id, type: f.type, ...(f.rule ? { rule: f.rule } : {}), ...(f.options ? { options: { ...f.options } } : {}) };
    }
    const oneofs = entry.oneofs
      ? Object.fromEntries(Object.entries(entry.oneofs).map(([k, v]) => [k, { oneof: [...v.oneof] }]))
      : undefined;
    nested[name] = {
      edition: 'proto2',
      fields,
      ...(oneofs ? { oneofs } : {}),
      ...(entry.nested ? { nested: protobufJson(entry.nested).nested } : {}),
    } as protobuf.IType;
  }
  return { nested };
}

const root = protobuf.Root.fromJSON({ nested: { onnx: protobufJson(checked) } }).resolveAll();

export const ModelProto = root.lookupType('onnx.ModelProto');
export const GraphProto = root.lookupType('onnx.GraphProto');
export const schemaRoot = root;
