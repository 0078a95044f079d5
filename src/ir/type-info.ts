/** A dimension of a tensor shape: a number, a symbolic name, or unknown. */
export interface Dim {
  value?: number;
  param?: string;
  denotation?: string;
}

/** TypeProto, as plain data. `unset` is a TypeProto with no type in it. */
export type TypeInfo = (
  | { kind: 'tensor'; elemType?: number; shape?: Dim[] }
  | { kind: 'sparse_tensor'; elemType?: number; shape?: Dim[] }
  | { kind: 'sequence'; elem?: TypeInfo }
  | { kind: 'optional'; elem?: TypeInfo }
  | { kind: 'map'; keyType?: number; value?: TypeInfo }
  | { kind: 'opaque'; domain?: string; name?: string }
  | { kind: 'unset' }
) & { denotation?: string };

/** What ValueInfoProto says of a value besides its name. */
export interface ValueInfo {
  type?: TypeInfo;
  docString?: string;
  metadataProps?: [string, string][];
}

export function tensorType(elemType: number, shape?: (number | string | undefined)[]): TypeInfo {
  return {
    kind: 'tensor',
    elemType,
    shape: shape?.map((d) => (typeof d === 'number' ? { value: d } : d === undefined ? {} : { param: d })),
  };
}

export function describeShape(type: TypeInfo | undefined): string {
  if (!type || (type.kind !== 'tensor' && type.kind !== 'sparse_tensor') || !type.shape) return '?';
  return `[${type.shape.map((d) => d.value ?? d.param ?? '?').join(', ')}]`;
}
