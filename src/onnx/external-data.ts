import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { InputError, type ErrorLocation } from '../errors.js';
import type { SparseTensor } from '../ir/attribute.js';
import { dataTypeName, rawByteLength } from '../ir/data-type.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { elementCount, MAX_ELEMENTS, Tensor } from '../ir/tensor.js';
import { PROTOBUF_LIMIT } from './codec.js';
import { int64ToBigInt } from './long.js';
import { decodeOpaque, encodeOpaque } from './opaque.js';
import type { Decoded, Int64 } from './proto-types.js';
import { schemaRoot } from './schema.js';

/** How much one read() asks for: fs.readSync refuses lengths of 2 GiB or more. */
const READ_CHUNK = 2 ** 30;

// O_NONBLOCK: should a FIFO slip past the checks, opening it must not wait for a writer.
// O_NOFOLLOW: the path opened is already resolved; a link swapped in afterwards is refused.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOFOLLOW ?? 0);

/**
 * Checks every tensor of the model stored as external data, wherever it is (initializers,
 * sparse initializers' values and indices, tensor and sparse tensor attributes of any
 * node, in subgraphs at any depth, model-local functions and training info), against the
 * rules below, reading only file metadata. Initializer and attribute tensors become
 * `deferred`: their bytes are read when something needs them (recognition, export), so a
 * tensor the conversion drops is never read. Tensors inside functions and training info,
 * which qlstm carries as encoded messages, are read now and stored inline.
 *
 * Rules: the location is relative, has no "..", and names a regular file inside `baseDir`
 * (after following links); offset and length are whole numbers that agree with the
 * tensor's type and shape and with the file's size; the tensor has at most 2^31 elements
 * and fits in a protobuf message. Anything else is an InputError naming the model, where
 * the tensor is, and the file. Returns every file a tensor is stored in, as checked.
 */
export function loadExternalData(model: Model, baseDir: string): ExternalFile[] {
  let root: string;
  try {
    root = fs.realpathSync(baseDir);
  } catch (error) {
    throw new InputError(`the model's folder "${baseDir}" cannot be read (${(error as NodeJS.ErrnoException).code})`, { file: model.source });
  }
  const files = new Map<string, ExternalFile>();
  const check = (tensor: TensorFacts, entries: [string, string][], at: ErrorLocation): ExternalSource => {
    const source = checkExternal(tensor, entries, root, at);
    if (!files.has(source.real)) files.set(source.real, { location: source.location, real: source.real });
    return source;
  };
  const defer = (tensor: Tensor, at: ErrorLocation): Tensor => {
    if (tensor.storage.kind !== 'external') return tensor;
    const where = { file: model.source, ...at };
    const source = check(tensor, tensor.storage.entries, where);
    let cached: Uint8Array | undefined;
    const read = () => (cached ??= readChecked(source, where));
    return new Tensor(tensor.dataType, tensor.dims, { kind: 'deferred', byteLength: source.length, read }, tensor.name, tensor.extras);
  };
  visitGraph(model.graph, defer);
  const inline = (label: string) => (proto: Decoded<'TensorProto'>, where: string) => {
    const at = { file: model.source, role: where ? `${label}: ${where}` : label };
    return readChecked(check(describeProto(proto), entriesOf(proto), at), at);
  };
  model.opaque.functions = model.opaque.functions.map((bytes) => {
    const message = decodeOpaque('FunctionProto', bytes);
    const changed = inlineTensorProtos(message, schemaRoot.lookupType('onnx.FunctionProto'), inline(`function "${message.name ?? ''}"`));
    return changed ? encodeOpaque('FunctionProto', message) : bytes;
  });
  model.opaque.trainingInfo = model.opaque.trainingInfo.map((bytes, i) => {
    const message = decodeOpaque('TrainingInfoProto', bytes);
    const changed = inlineTensorProtos(message, schemaRoot.lookupType('onnx.TrainingInfoProto'), inline(`training info ${i}`));
    return changed ? encodeOpaque('TrainingInfoProto', message) : bytes;
  });
  return [...files.values()];
}

/** A file that holds external data: its location as the model gives it, and its real path. */
export interface ExternalFile {
  location: string;
  real: string;
}

type Defer = (tensor: Tensor, at: ErrorLocation) => Tensor;

function visitGraph(graph: Graph, defer: Defer): void {
  for (const value of graph.initializers) {
    value.constant = defer(value.constant!, { role: `initializer "${value.name}"` });
  }
  for (const sparse of graph.sparseInitializers) {
    visitSparse(sparse, defer, `sparse initializer "${sparse.values?.name ?? ''}"`, {});
  }
  for (const node of graph.nodes) {
    const place = { node: node.name ?? '', opType: node.opType };
    for (const attribute of node.attributes) {
      const v = attribute.value;
      const role = `attribute "${attribute.name}"`;
      if (v.kind === 'tensor') v.value = defer(v.value, { ...place, role });
      if (v.kind === 'tensors') v.value = v.value.map((t, i) => defer(t, { ...place, role: `${role} (tensor ${i})` }));
      if (v.kind === 'sparse_tensor') visitSparse(v.value, defer, role, place);
      if (v.kind === 'sparse_tensors') v.value.forEach((s, i) => visitSparse(s, defer, `${role} (sparse tensor ${i})`, place));
      if (v.kind === 'graph') visitGraph(v.value, defer);
      if (v.kind === 'graphs') v.value.forEach((g) => visitGraph(g, defer));
    }
  }
}

function visitSparse(sparse: SparseTensor, defer: Defer, role: string, place: ErrorLocation): void {
  if (sparse.values) sparse.values = defer(sparse.values, { ...place, role: `${role} (values)` });
  if (sparse.indices) sparse.indices = defer(sparse.indices, { ...place, role: `${role} (indices)` });
}

/** What the checks need to know of a tensor, whichever form it comes in. */
interface TensorFacts {
  dataType: number;
  dims: readonly number[];
}

function describeProto(proto: Decoded<'TensorProto'>): TensorFacts {
  return { dataType: proto.dataType ?? 0, dims: proto.dims.map((d: Int64) => Number(int64ToBigInt(d))) };
}

function entriesOf(proto: Decoded<'TensorProto'>): [string, string][] {
  return proto.externalData.map((e) => [e.key ?? '', e.value ?? '']);
}

/** A checked stretch of a regular file: where it is, and the file's identity when checked. */
interface ExternalSource {
  real: string;
  location: string;
  offset: number;
  length: number;
  dev: number;
  ino: number;
}

function checkExternal(tensor: TensorFacts, entries: [string, string][], root: string, at: ErrorLocation): ExternalSource {
  const fail = (problem: string): never => {
    throw new InputError(`external data ${problem}`, at);
  };
  for (const key of ['location', 'offset', 'length']) {
    if (entries.filter(([k]) => k === key).length > 1) fail(`gives "${key}" more than once`);
  }
  const field = (key: string) => entries.find(([k]) => k === key)?.[1];
  const location = field('location') ?? fail('has no location');
  if (location === '' || location.includes('\0')) fail(`location ${JSON.stringify(location)} is not a file name`);
  if (path.isAbsolute(location)) fail(`location "${location}" is absolute; only paths inside the model's folder are read`);
  const target = path.resolve(root, location);
  if (path.relative(root, target) === '') fail(`location "${location}" is the model's folder, not a file`);
  if (!isInside(root, target)) fail(`location "${location}" points outside the model's folder`);
  if (location.split(/[\\/]/).includes('..')) fail(`location "${location}" uses ".."; only plain paths inside the model's folder are read`);

  const count = elementCount(tensor.dims);
  const shape = `[${tensor.dims.join(', ')}]`;
  if (!Number.isSafeInteger(count) || count > MAX_ELEMENTS) fail(`of shape ${shape}: more than ${MAX_ELEMENTS} elements`);
  const needed = rawByteLength(tensor.dataType, count) ?? fail(`of element type ${dataTypeName(tensor.dataType)}: only fixed-width types can be stored as raw bytes`);
  if (needed > PROTOBUF_LIMIT) fail(`of shape ${shape} takes ${needed} bytes, more than protobuf's 2 GiB limit for a whole model`);
  const offsetText = field('offset') ?? '0';
  const offset = parseWhole(offsetText) ?? fail(`offset "${offsetText}" is not a whole number`);
  const lengthText = field('length');
  const length = lengthText === undefined ? needed : (parseWhole(lengthText) ?? fail(`length "${lengthText}" is not a whole number`));
  if (length !== needed) fail(`length ${length} does not match the ${needed} bytes its shape needs`);

  let real: string;
  try {
    real = fs.realpathSync(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' ? `file "${location}" does not exist` : `file "${location}" cannot be opened (${code})`);
  }
  if (!isInside(root, real)) fail(`location "${location}" links outside the model's folder`);
  const stat = fs.lstatSync(real, { throwIfNoEntry: false }) ?? fail(`file "${location}" does not exist`);
  if (!stat.isFile()) fail(`file "${location}" ${kindOf(stat)}, not a regular file`);

  const source: ExternalSource = { real, location, offset, length, dev: stat.dev, ino: stat.ino };
  withOpenFile(source, at, (_, size) => {
    if (offset + length > size) fail(`bytes ${offset} to ${offset + length} lie beyond the end of "${location}" (${size} bytes)`);
  });
  return source;
}

/** Opens a checked file without following links or waiting, and hands over its size if it is still the file that was checked. */
function withOpenFile<T>(source: ExternalSource, at: ErrorLocation, use: (fd: number, size: number) => T): T {
  const fail = (problem: string): never => {
    throw new InputError(`external data file "${source.location}" ${problem}`, at);
  };
  let fd: number;
  try {
    fd = fs.openSync(source.real, OPEN_FLAGS);
  } catch (error) {
    return fail(`cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.dev !== source.dev || stat.ino !== source.ino) fail('was replaced after it was checked');
    return use(fd, stat.size);
  } finally {
    fs.closeSync(fd);
  }
}

function readChecked(source: ExternalSource, at: ErrorLocation): Uint8Array {
  return withOpenFile(source, at, (fd, size) => {
    const { offset, length, location } = source;
    const fail = (problem: string): never => {
      throw new InputError(`external data file "${location}" ${problem}`, at);
    };
    if (offset + length > size) fail(`shrank to ${size} bytes after it was checked`);
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = fs.readSync(fd, bytes, done, Math.min(READ_CHUNK, length - done), offset + done);
      } catch (error) {
        return fail(`cannot be read (${(error as NodeJS.ErrnoException).code})`);
      }
      if (n === 0) fail('ended early');
      done += n;
    }
    return bytes;
  });
}

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'is a folder';
  if (stat.isFIFO()) return 'is a pipe (FIFO)';
  if (stat.isSocket()) return 'is a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'is a device';
  return 'is a link';
}

/**
 * Replaces, in a decoded message, the data of every TensorProto stored as external data
 * by the bytes `read` returns; tells whether it changed anything. Walks the schema, so a
 * tensor at any depth is found; `where` names the nodes and attributes on the way.
 */
function inlineTensorProtos(
  message: object,
  type: protobuf.Type,
  read: (proto: Decoded<'TensorProto'>, where: string) => Uint8Array,
  where: readonly string[] = [],
): boolean {
  const name = (message as { name?: string }).name;
  const here = type.name === 'NodeProto' || type.name === 'AttributeProto' || (type.name === 'TensorProto' && name)
    ? [...where, `${type.name === 'NodeProto' ? 'node' : type.name === 'AttributeProto' ? 'attribute' : 'tensor'} "${name ?? ''}"`]
    : where;
  let changed = false;
  if (type.fullName === '.onnx.TensorProto') {
    const proto = message as Decoded<'TensorProto'>;
    if (proto.dataLocation === 1) {
      proto.rawData = read(proto, here.join(': '));
      proto.externalData = [];
      delete proto.dataLocation;
      changed = true;
    }
  }
  for (const field of type.fieldsArray) {
    const fieldType = field.resolve().resolvedType;
    if (!(fieldType instanceof protobuf.Type)) continue;
    const value = (message as Record<string, unknown>)[field.name];
    const items = field.repeated ? ((value as object[] | undefined) ?? []) : value ? [value as object] : [];
    for (const item of items) changed = inlineTensorProtos(item, fieldType, read, here) || changed;
  }
  return changed;
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

function parseWhole(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
