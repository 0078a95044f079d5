import fs from 'node:fs';
import path from 'node:path';
import { InputError, type ErrorLocation } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { byteSize, dataTypeName } from '../ir/data-type.js';
import { MAX_ELEMENTS, Tensor } from '../ir/tensor.js';

/**
 * Replaces every tensor stored as external data by the same tensor with its bytes inline,
 * read from files in `baseDir`. A location that is absolute or leaves `baseDir` is refused,
 * and sizes are checked against the shape before anything is read.
 */
export function loadExternalData(model: Model, baseDir: string): void {
  const root = fs.realpathSync(baseDir);
  const inline = (tensor: Tensor, at: ErrorLocation): Tensor =>
    tensor.storage.kind === 'external' ? readExternal(tensor, tensor.storage.entries, root, at) : tensor;
  visitGraph(model.graph, (tensor, at) => inline(tensor, { file: model.source, ...at }));
}

function visitGraph(graph: Graph, inline: (t: Tensor, at: ErrorLocation) => Tensor): void {
  for (const value of graph.initializers) {
    value.constant = inline(value.constant!, { role: `initializer "${value.name}"` });
  }
  for (const node of graph.nodes) {
    for (const attribute of node.attributes) {
      const v = attribute.value;
      const at = { node: node.name ?? node.opType, role: `attribute "${attribute.name}"` };
      if (v.kind === 'tensor') v.value = inline(v.value, at);
      if (v.kind === 'tensors') v.value = v.value.map((t) => inline(t, at));
      if (v.kind === 'graph') visitGraph(v.value, inline);
      if (v.kind === 'graphs') v.value.forEach((g) => visitGraph(g, inline));
    }
  }
}

function readExternal(tensor: Tensor, entries: [string, string][], root: string, at: ErrorLocation): Tensor {
  const fail = (problem: string): never => {
    throw new InputError(`external data of tensor "${tensor.name ?? ''}": ${problem}`, at);
  };
  const field = (key: string) => entries.find(([k]) => k === key)?.[1];
  const location = field('location') ?? fail('no location given');
  if (path.isAbsolute(location)) fail(`location "${location}" is absolute; only paths inside the model's folder are read`);
  const target = path.resolve(root, location);
  if (!isInside(root, target)) fail(`location "${location}" points outside the model's folder`);
  let real: string;
  try {
    real = fs.realpathSync(target);
  } catch {
    return fail(`file "${location}" does not exist`);
  }
  if (!isInside(root, real)) fail(`location "${location}" links outside the model's folder`);

  const width = byteSize(tensor.dataType) ?? fail(`element type ${dataTypeName(tensor.dataType)} is not supported`);
  const count = tensor.size;
  if (!Number.isSafeInteger(count) || count > MAX_ELEMENTS) fail(`shape [${tensor.dims.join(', ')}] is too large`);
  const needed = count * width;
  const offset = parseWhole(field('offset') ?? '0') ?? fail(`offset "${field('offset')}" is not a whole number`);
  const declared = field('length');
  const length = declared === undefined ? needed : (parseWhole(declared) ?? fail(`length "${declared}" is not a whole number`));
  if (length !== needed) fail(`length ${length} does not match the ${needed} bytes its shape needs`);

  const fd = fs.openSync(real, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (offset + length > size) fail(`bytes ${offset} to ${offset + length} lie beyond the end of "${location}" (${size} bytes)`);
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, bytes, done, length - done, offset + done);
      if (n === 0) fail(`"${location}" ended early`);
      done += n;
    }
    return new Tensor(tensor.dataType, tensor.dims, { kind: 'raw', bytes }, tensor.name, tensor.extras);
  } finally {
    fs.closeSync(fd);
  }
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

function parseWhole(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
