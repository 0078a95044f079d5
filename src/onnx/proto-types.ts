import type { ONNX_SCHEMA } from './schema.js';

/**
 * The shapes of ONNX messages as protobufjs decodes and encodes them, derived from the one
 * schema in schema.ts so the two cannot drift: camelCase fields, 64-bit integers as Long
 * (or a number), bytes as Uint8Array, enums as numbers. Only src/onnx uses these; the rest
 * of qlstm sees the IR.
 *
 * Decoded: an optional field the file left out is absent (not an own property); a repeated
 * field is always an array. Encodable: what the encoder accepts, every field optional.
 */

export interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

export type Int64 = LongLike | number;

type Schema = typeof ONNX_SCHEMA;

interface Scalars {
  double: number;
  float: number;
  int32: number;
  uint32: number;
  int64: Int64;
  uint64: Int64;
  bool: boolean;
  string: string;
  bytes: Uint8Array;
}

type Mode = 'decoded' | 'encodable';

/** The first of `Scopes` (innermost first) that declares `Name`. */
type Lookup<Name extends string, Scopes extends readonly object[]> = Scopes extends readonly [infer First, ...infer Rest extends readonly object[]]
  ? Name extends keyof First
    ? First[Name]
    : Lookup<Name, Rest>
  : never;

type NestedOf<M> = M extends { nested: infer N } ? N : {};

type FieldValue<T extends string, Scopes extends readonly object[], M extends Mode> = T extends keyof Scalars
  ? Scalars[T]
  : Lookup<T, Scopes> extends infer D
    ? D extends { values: object }
      ? number
      : D extends { fields: object }
        ? Message<D, [NestedOf<D>, ...Scopes], M>
        : never
    : never;

type Repeated<F> = F extends { rule: 'repeated' } ? true : false;

type Message<D extends { fields: object }, Scopes extends readonly object[], M extends Mode> = M extends 'decoded'
  ? {
      -readonly [K in keyof D['fields'] as Repeated<D['fields'][K]> extends true ? K : never]: FieldValue<Type<D['fields'][K]>, Scopes, M>[];
    } & {
      -readonly [K in keyof D['fields'] as Repeated<D['fields'][K]> extends true ? never : K]?: FieldValue<Type<D['fields'][K]>, Scopes, M>;
    }
  : {
      -readonly [K in keyof D['fields']]?: Repeated<D['fields'][K]> extends true
        ? FieldValue<Type<D['fields'][K]>, Scopes, M>[]
        : FieldValue<Type<D['fields'][K]>, Scopes, M>;
    };

type Type<F> = F extends { type: infer T extends string } ? T : never;

/** A top-level message of the schema, by name. */
export type Decoded<Name extends keyof Schema> = Message<Schema[Name], [NestedOf<Schema[Name]>, Schema], 'decoded'>;
export type Encodable<Name extends keyof Schema> = Message<Schema[Name], [NestedOf<Schema[Name]>, Schema], 'encodable'>;

export type ModelProto = Decoded<'ModelProto'>;
export type GraphProto = Decoded<'GraphProto'>;
export type NodeProto = Decoded<'NodeProto'>;
export type AttributeProto = Decoded<'AttributeProto'>;
export type ValueInfoProto = Decoded<'ValueInfoProto'>;
export type TensorProto = Decoded<'TensorProto'>;
export type SparseTensorProto = Decoded<'SparseTensorProto'>;
export type TypeProto = Decoded<'TypeProto'>;
export type TensorShapeProto = Decoded<'TensorShapeProto'>;
export type DimensionProto = TensorShapeProto['dim'][number];
export type StringStringEntryProto = Decoded<'StringStringEntryProto'>;
export type OperatorSetIdProto = Decoded<'OperatorSetIdProto'>;
