import type { Graph } from './graph.js';

export interface OpsetImport {
  domain?: string;
  version?: bigint;
}

/** ModelProto fields that qlstm carries along unread, each kept as its encoded message. */
export interface OpaqueModelFields {
  trainingInfo: Uint8Array[];
  functions: Uint8Array[];
  configuration: Uint8Array[];
}

export class Model {
  irVersion?: bigint;
  opsetImports: OpsetImport[] = [];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: bigint;
  docString?: string;
  metadataProps: [string, string][] = [];
  opaque: OpaqueModelFields = { trainingInfo: [], functions: [], configuration: [] };

  constructor(
    public graph: Graph,
    /** Where the model came from, for messages (a file path or a label). */
    public source = 'model',
  ) {}

  /** The opset version imported for `domain` ('' is the default ONNX domain). */
  opsetVersion(domain: string): number | undefined {
    const entry = this.opsetImports.find((o) => (o.domain ?? '') === domain || (domain === '' && o.domain === 'ai.onnx'));
    return entry?.version === undefined ? undefined : Number(entry.version);
  }

  metadata(key: string): string | undefined {
    return this.metadataProps.find(([k]) => k === key)?.[1];
  }

  setMetadata(key: string, value: string): void {
    const entry = this.metadataProps.find(([k]) => k === key);
    if (entry) entry[1] = value;
    else this.metadataProps.push([key, value]);
  }
}
