import { attr, type Attribute } from '../ir/attribute.js';
import { DataType } from '../ir/data-type.js';
import { Node, Value, type Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { NameAuthority } from '../ir/names.js';
import { Tensor } from '../ir/tensor.js';
import { integerRange } from '../reference/quantizer.js';

/** Domains a qonnx Quant node comes in (Brevitas before 0.12 used onnx.brevitas). */
export const QUANT_NODE_DOMAINS = ['qonnx.custom_op.general', 'onnx.brevitas'];

export function isQuant(node: Node): boolean {
  return node.opType === 'Quant' && QUANT_NODE_DOMAINS.includes(node.domain);
}

/**
 * qonnx's Quant in float32 ONNX operators, written from qonnx's `int_quant` and nothing in
 * qlstm's own lowering (src/surgery), so that checking a converted model against an original
 * lowered here does not share the code that produced the converted model:
 *
 *   y = x / scale + zeropt;  y = clip(y, min_int, max_int);  y = rounding(y);  (y - zeropt) * scale
 *
 * (qonnx clamps before rounding; with integer bounds and monotone rounding it is the same as
 * rounding first.) Returns the reason when a node cannot be lowered, else null; the graph
 * changes only when every Quant node can be lowered.
 */
export function lowerQuantNodes(model: Model, names: NameAuthority): string | null {
  const graph = model.graph;
  const plans: { node: Node; bits: number; signed: boolean; narrow: boolean; rounding: string }[] = [];
  for (const node of graph.nodes.filter(isQuant)) {
    const label = `Quant node ${node.label()}`;
    if (node.inputs.length !== 4 || node.outputs.length !== 1) return `${label} has ${node.inputs.length} inputs and ${node.outputs.length} outputs, qonnx's Quant has 4 and 1`;
    const bits = constantScalar(graph, node.input(3));
    if (bits === null || !Number.isInteger(bits) || bits < 2 || bits > 32) return `${label}: bit width is not a constant integer from 2 to 32`;
    const signed = flag(node, 'signed');
    const narrow = flag(node, 'narrow');
    if (signed === null || narrow === null) return `${label}: attributes signed and narrow must be 0 or 1`;
    const roundingAttribute = node.attribute('rounding_mode')?.value;
    const rounding = roundingAttribute?.kind === 'string' ? new TextDecoder().decode(roundingAttribute.value).toUpperCase() : 'ROUND';
    if (!(rounding in ROUNDING)) return `${label}: rounding mode ${rounding} is not one qonnx defines`;
    plans.push({ node, bits, signed, narrow, rounding });
  }
  for (const plan of plans) lowerOne(graph, names, plan);
  return null;
}

function lowerOne(graph: Graph, names: NameAuthority, plan: { node: Node; bits: number; signed: boolean; narrow: boolean; rounding: string }): void {
  const { node } = plan;
  const prefix = `${node.name || 'Quant'}/verify`;
  const [x, scale, zeroPoint] = [node.input(0)!, node.input(1)!, node.input(2)!];
  const output = node.outputs[0]!;
  const added: Node[] = [];
  const op = (opType: string, inputs: Value[], attributes: Attribute[] = [], into?: Value): Value => {
    const result = into ?? new Value(names.fresh(`${prefix}/${opType}_output`));
    added.push(new Node({ opType, name: names.fresh(`${prefix}/${opType}`), inputs, outputs: [result], attributes }));
    return result;
  };
  const constant = (label: string, value: number): Value => {
    const v = graph.addInitializer(names.fresh(`${prefix}/${label}`), Tensor.float32([], [value]));
    return v;
  };
  const { min, max } = integerRange(plan.bits, plan.signed, plan.narrow);
  const at = graph.nodes.indexOf(node);
  node.detach();
  graph.nodes.splice(at, 1);
  const zero = op('Cast', [zeroPoint], [attr.int('to', DataType.FLOAT)]);
  const shifted = op('Add', [op('Div', [x, scale]), zero]);
  const clamped = op('Clip', [shifted, constant('min_int', min), constant('max_int', max)]);
  const rounded = ROUNDING[plan.rounding]!(clamped, op, constant);
  op('Mul', [op('Sub', [rounded, zero]), scale], [], output);
  graph.nodes.splice(at, 0, ...added);
}

type Op = (opType: string, inputs: Value[]) => Value;
type Constant = (label: string, value: number) => Value;

/** qonnx's resolve_rounding_mode, operator by operator (numpy float32 semantics). */
const ROUNDING: Record<string, (y: Value, op: Op, constant: Constant) => Value> = {
  ROUND: (y, op) => op('Round', [y]),
  HALF_EVEN: (y, op) => op('Round', [y]),
  CEIL: (y, op) => op('Ceil', [y]),
  FLOOR: (y, op) => op('Floor', [y]),
  UP: (y, op) => op('Mul', [op('Sign', [y]), op('Ceil', [op('Abs', [y])])]),
  DOWN: (y, op) => op('Mul', [op('Sign', [y]), op('Floor', [op('Abs', [y])])]),
  HALF_UP: (y, op, c) => op('Mul', [op('Sign', [y]), op('Floor', [op('Add', [op('Abs', [y]), c('half', 0.5)])])]),
  HALF_DOWN: (y, op, c) => op('Mul', [op('Sign', [y]), op('Ceil', [op('Sub', [op('Abs', [y]), c('half', 0.5)])])]),
};

function flag(node: Node, name: string): boolean | null {
  const a = node.attribute(name)?.value;
  if (a?.kind !== 'int' || (a.value !== 0n && a.value !== 1n)) return null;
  return a.value === 1n;
}

/** The single number held by an initializer or a Constant node, else null. */
function constantScalar(graph: Graph, value: Value | null): number | null {
  let tensor: Tensor | null = value?.constant ?? null;
  const producer = value?.producer;
  if (!tensor && producer?.opType === 'Constant' && producer.domain === '' && graph.nodes.includes(producer)) {
    const v = producer.attribute('value')?.value;
    if (v?.kind === 'tensor') tensor = v.value;
  }
  if (!tensor || tensor.size !== 1) return null;
  try {
    return tensor.numbers()[0]!;
  } catch {
    return null;
  }
}
