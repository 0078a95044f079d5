/**
 * The parts of Brevitas' step that follow the gate accumulators (see types.ts for the cell):
 * activation decisions (certified by ACTIVATION_ULPS), the cell-state update and the output,
 * each a fixed sequence of IEEE float32 operations.
 */
import { packGates, type PackedGates } from './accumulate.js';
import { activationRange, trueActivation, type ActivationKind } from './activation.js';
import { f32, ulp32 } from './float32.js';
import { boundaryBetween } from './accumulate.js';
import { codeOf, quantize, valueOf } from './quantizer.js';
import type { ReferenceCell, ReferenceGate, ReferenceQuantizer, ReferenceQuantizerName } from './types.js';

export interface Alternative {
  code: number;
  value: number;
}

/** The quantizer decision on an activation's output: the nominal code and any others a certified implementation may give. */
export interface Decision {
  nominal: number;
  value: number;
  alternatives: Alternative[];
  /** activation input, for the distance of an alternative */
  input: number;
  kind: ActivationKind;
  quantizer: ReferenceQuantizer;
}

/** Distance of the true activation value from the boundary towards code `taken`, in float32 ulps. */
export function decisionDistance(d: Decision, taken: number): number {
  const { low, high } = activationRange(d.kind, d.input);
  const boundary = boundaryBetween(d.quantizer, taken < d.nominal ? d.nominal - 1 : d.nominal, low, high);
  return Math.abs(trueActivation(d.kind, d.input) - boundary) / ulp32(boundary);
}

export interface GateArithmetic {
  gate: ReferenceGate;
  kind: ActivationKind;
  accName: ReferenceQuantizerName;
  activationName: ReferenceQuantizerName;
  /** activation decision per accumulator code (index code - acc.min) */
  decisions: (Decision | undefined)[];
}

const GATE_NAMES = {
  input: ['input_acc', 'input_sigmoid', 'sigmoid'],
  forget: ['forget_acc', 'forget_sigmoid', 'sigmoid'],
  cell: ['cell_acc', 'cell_tanh', 'tanh'],
  output: ['output_acc', 'output_sigmoid', 'sigmoid'],
} as const;

export class CellArithmetic {
  readonly gates: GateArithmetic[];
  readonly packed: PackedGates;
  /** Q_input_sigmoid(1), CIFG's "one" */
  readonly one: number;
  /** index of each gate in `gates` (forget: -1 for CIFG) */
  readonly index: { input: number; forget: number; cell: number; output: number };
  /** hidden-state tanh decision per cell-state code (index code - cellState.min) */
  private readonly hiddenTanh: (Decision | undefined)[] = [];

  /** The arithmetic of units first..first+count-1 of the cell (all by default). */
  constructor(
    readonly cell: ReferenceCell,
    first = 0,
    count = cell.hiddenSize,
  ) {
    const present = (['input', 'forget', 'cell', 'output'] as const).filter((g) => g !== 'forget' || !cell.cifg);
    this.gates = present.map((name) => {
      const [accName, activationName, kind] = GATE_NAMES[name];
      return { gate: cell[name] as ReferenceGate, kind, accName, activationName, decisions: [] };
    });
    this.index = {
      input: present.indexOf('input'),
      forget: present.indexOf('forget'),
      cell: present.indexOf('cell'),
      output: present.indexOf('output'),
    };
    this.packed = packGates(
      this.gates.map((g) => ({ inputWeight: g.gate.inputWeight, recurrentWeight: g.gate.recurrentWeight, bias: g.gate.bias, acc: g.gate.acc })),
      cell.inputSize,
      cell.hiddenSize,
      first,
      count,
    );
    this.one = quantize(cell.input.activation, 1);
  }

  /** The activation decision of gate g for accumulator code `code`. */
  activation(g: number, code: number): Decision {
    const gate = this.gates[g]!;
    const at = code - gate.gate.acc.min;
    let d = gate.decisions[at];
    if (!d) {
      d = decide(gate.kind, valueOf(gate.gate.acc, code), gate.gate.activation);
      gate.decisions[at] = d;
    }
    return d;
  }

  /** The hidden-state tanh decision for a cell state code. */
  tanhOfCell(code: number): Decision {
    const at = code - this.cell.cellState.min;
    let d = this.hiddenTanh[at];
    if (!d) {
      d = decide('tanh', valueOf(this.cell.cellState, code), this.cell.hiddenStateTanh);
      this.hiddenTanh[at] = d;
    }
    return d;
  }

  /**
   * The single value gate g can take for accumulator code `code` (or any code low..high of a
   * tie), or NaN when a certified tie leaves more than one.
   */
  gateValue(g: number, code: number, low: number, high: number): number {
    const d = this.activation(g, code);
    if (d.alternatives.length) return NaN;
    for (let c = low; c <= high; c++) {
      if (c === code) continue;
      const other = this.activation(g, c);
      if (other.alternatives.length || other.value !== d.value) return NaN;
    }
    return d.value;
  }

  /** The code of c' = Q_cs(Q_cs(f c) + Q_cs(i g)). */
  nextCell(f: number, c: number, i: number, g: number): number {
    const q = this.cell.cellState;
    return codeOf(q, f32(quantize(q, f32(f * c)) + quantize(q, f32(i * g))));
  }

  cellValue(code: number): number {
    return valueOf(this.cell.cellState, code);
  }

  /** h' = Q_out(o t) */
  output(o: number, t: number): number {
    return quantize(this.cell.outputQuant, f32(o * t));
  }

  /** CIFG's forget gate from the input gate's value. */
  forgetOf(i: number): number {
    return f32(this.one - i);
  }
}

function decide(kind: ActivationKind, x: number, q: ReferenceQuantizer): Decision {
  const { low, high, nearest } = activationRange(kind, x);
  const nominal = codeOf(q, nearest);
  const decision: Decision = { nominal, value: valueOf(q, nominal), alternatives: [], input: x, kind, quantizer: q };
  const lowCode = codeOf(q, low);
  const highCode = codeOf(q, high);
  for (let code = lowCode; code <= highCode; code++) if (code !== nominal) decision.alternatives.push({ code, value: valueOf(q, code) });
  return decision;
}
