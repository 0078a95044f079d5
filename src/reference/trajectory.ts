/**
 * Follows an observed hidden-state sequence through the reference cell and says, element by
 * element, whether it is what Brevitas' arithmetic gives (nominal), what it gives once some
 * certified ties fall the other way (ties), or something no float32 implementation of the cell
 * can produce (unexplained).
 *
 * Each step reads the OBSERVED previous hidden state, so every (step, batch) row is independent
 * except through the cell state, which is never observed until the end: per unit the reference
 * keeps the set of cell states still possible (usually one). Accumulator decisions come from
 * accumulate.ts (any float32 summation order), activation decisions from activation.ts (any
 * certified sigmoid/tanh); products, the cell-state sum and every quantizer applied to them
 * are single IEEE float32 operations and therefore exact.
 *
 * Units are independent too (each has its own cell state), so large runs are split by unit
 * across worker threads (trajectory-parallel.ts).
 */
import { InputError } from '../errors.js';
import { accumulate, tieDistance, type AccumulatorBlock, type AccumulatorTie } from './accumulate.js';
import { CellArithmetic, decisionDistance, type Decision } from './cell-arithmetic.js';
import { followInParallel, threadsFor } from './trajectory-parallel.js';
import { SAMPLE_LIMIT, type ReferenceCell, type ReferenceQuantizerName, type TieRecord, type TrajectoryInput, type TrajectoryReport, type UnexplainedRecord } from './types.js';

/** Cell states kept per unit at most; more are cut (counted in candidateCapHits). */
export const CANDIDATE_CAP = 8;
/** Rows (step, batch) whose accumulators are computed together. */
const ROWS_PER_BLOCK = 64;

export interface TrajectoryOptions {
  onProgress?: (done: number, total: number) => void;
  /** worker threads; default: up to 2 when the run is large enough to repay starting them */
  threads?: number;
}

/** Units first..first+count-1 of the cell. */
export interface UnitRange {
  first: number;
  count: number;
}

export function followTrajectory(cell: ReferenceCell, input: TrajectoryInput, options: TrajectoryOptions = {}): TrajectoryReport {
  checkInput(cell, input);
  const threads = options.threads ?? threadsFor(cell, input);
  if (threads > 1 && cell.hiddenSize > 1) return followInParallel(cell, input, Math.min(threads, cell.hiddenSize), options.onProgress);
  return followUnits(cell, input, { first: 0, count: cell.hiddenSize }, options.onProgress);
}

/** The trajectory of a range of units (what each worker runs). */
export function followUnits(cell: ReferenceCell, input: TrajectoryInput, range: UnitRange, onProgress?: (done: number, total: number) => void): TrajectoryReport {
  return new Follower(cell, input, range, onProgress).run();
}

function checkInput(cell: ReferenceCell, input: TrajectoryInput): void {
  const { steps: T, batch: B } = input;
  const H = cell.hiddenSize;
  const expect = (what: string, array: Float32Array | undefined, length: number) => {
    if (array && array.length !== length) throw new InputError(`${what} holds ${array.length} values, expected ${length} for cell "${cell.name}" (T ${T}, B ${B})`);
  };
  if (!Number.isInteger(T) || !Number.isInteger(B) || T < 0 || B < 0) throw new InputError(`steps ${T} and batch ${B} must be non-negative integers`);
  expect('x', input.x, T * B * cell.inputSize);
  expect('h0', input.h0, B * H);
  expect('c0', input.c0, B * H);
  expect('observed hidden states', input.observedHidden, T * B * H);
  expect('observed last cell state', input.observedLastCell, B * H);
}

/** One value a gate can take at an element, and what it takes to get there. */
interface GateOption {
  value: number;
  /** non-nominal decisions behind it (0 to 2) */
  cost: number;
  gate: number;
  acc: number;
  tie: AccumulatorTie | undefined;
  decision: Decision;
  activation: number;
}

interface Candidate {
  /** cell-state code */
  code: number;
  /** non-nominal decisions that lead to this cell state and are not counted yet */
  pending: TieRecord[];
}

interface Combination {
  hidden: number;
  cell: number;
  /** non-nominal decisions, including the candidate's pending ones */
  cost: number;
  candidate: Candidate;
  i: GateOption;
  f: GateOption | null;
  g: GateOption;
  o: GateOption;
  tanh: Decision;
  tanhCode: number;
}

class Follower {
  private readonly arithmetic: CellArithmetic;
  private readonly T: number;
  private readonly B: number;
  private readonly H: number;
  /** [h0, observed step 0, ..., observed step T-1] */
  private readonly hidden: Float32Array;
  /** cell-state code of the first candidate of each (batch, unit) */
  private readonly primary: Int32Array;
  /** units with more than one candidate, or whose candidate has pending ties */
  private readonly extra = new Map<number, Candidate[]>();
  private readonly report: TrajectoryReport;
  private lastStep = -1;

  constructor(
    private readonly cell: ReferenceCell,
    private readonly input: TrajectoryInput,
    private readonly range: UnitRange,
    private readonly onProgress?: (done: number, total: number) => void,
  ) {
    this.arithmetic = new CellArithmetic(cell, range.first, range.count);
    this.T = input.steps;
    this.B = input.batch;
    this.H = cell.hiddenSize;
    const plane = this.B * this.H;
    this.hidden = new Float32Array((this.T + 1) * plane);
    this.hidden.set(input.h0, 0);
    this.hidden.set(input.observedHidden, plane);
    this.primary = new Int32Array(plane);
    for (let u = 0; u < plane; u++) this.primary[u] = this.initialCode(u);
    this.report = {
      elements: this.T * this.B * range.count,
      nominal: 0,
      ties: 0,
      tieSamples: [],
      unexplained: 0,
      unexplainedSamples: [],
      lastCell: 'not observed',
      certifiedTies: 0,
      candidateCapHits: 0,
    };
  }

  /** c0 as a cell-state code: the export quantizes it with the cell-state quantizer (traced zeros are code zp). */
  private initialCode(u: number): number {
    const q = this.cell.cellState;
    const c = this.input.c0[u]!;
    const code = Math.round(c / q.scale) + q.zeroPoint;
    if (this.arithmetic.cellValue(code) !== c) {
      throw new InputError(`initial cell state ${c} (batch ${Math.floor(u / this.H)}, unit ${u % this.H}) of cell "${this.cell.name}" is not a value of its cell-state quantizer (scale ${q.scale})`);
    }
    return code;
  }

  run(): TrajectoryReport {
    const { T, B, H } = this;
    const I = this.cell.inputSize;
    const order = Array.from({ length: T }, (_, s) => (this.cell.reverse ? T - 1 - s : s));
    const stepsPerBlock = Math.max(1, Math.floor(ROWS_PER_BLOCK / Math.max(B, 1)));
    for (let start = 0; start < T; start += stepsPerBlock) {
      const steps = order.slice(start, start + stepsPerBlock);
      const rows = steps.length * B;
      const xOffsets = new Int32Array(rows);
      const hOffsets = new Int32Array(rows);
      steps.forEach((t, s) => {
        // the hidden state step t reads: the observed one of the step that ran before it
        const previous = this.cell.reverse ? (t === T - 1 ? -1 : t + 1) : t - 1;
        for (let b = 0; b < B; b++) {
          xOffsets[s * B + b] = (t * B + b) * I;
          hOffsets[s * B + b] = ((previous + 1) * B + b) * H;
        }
      });
      const block = accumulate(this.arithmetic.packed, rows, this.input.x, xOffsets, this.hidden, hOffsets);
      steps.forEach((t, s) => this.step(t, s * B, block));
      this.onProgress?.(Math.min(start + stepsPerBlock, T), T);
    }
    this.checkLastCell();
    return this.report;
  }

  private step(t: number, firstRow: number, block: AccumulatorBlock): void {
    const { B, H } = this;
    const { first, count } = this.range;
    const a = this.arithmetic;
    const units = a.packed.units;
    const { input: gi, forget: gf, cell: gc, output: go } = a.index;
    const observedBase = (t + 1) * B * H;
    for (let b = 0; b < B; b++) {
      const base = (firstRow + b) * units;
      for (let j = first; j < first + count; j++) {
        const u = b * H + j;
        const k = base + (j - first);
        const observed = this.hidden[observedBase + u]!;
        if (!this.extra.has(u)) {
          // the usual case: every gate has one possible value and the unit one cell state
          const i = this.value(block, gi, k + gi * count);
          const g = this.value(block, gc, k + gc * count);
          const o = this.value(block, go, k + go * count);
          const f = gf < 0 ? a.forgetOf(i) : this.value(block, gf, k + gf * count);
          if (i === i && g === g && o === o && f === f) {
            const next = a.nextCell(f, a.cellValue(this.primary[u]!), i, g);
            const tanh = a.tanhOfCell(next);
            if (!tanh.alternatives.length && a.output(o, tanh.value) === observed) {
              this.report.nominal++;
              this.primary[u] = next;
              continue;
            }
          }
        }
        this.general(t, b, j, observed, block, k);
      }
    }
    this.lastStep = t;
  }

  /** Gate value at block index k (gate g), or NaN when a tie leaves several. */
  private value(block: AccumulatorBlock, g: number, k: number): number {
    const code = block.codes[k]!;
    if (!block.tied[k]) return this.arithmetic.gateValue(g, code, code, code);
    const tie = block.ties.get(k)!;
    return this.arithmetic.gateValue(g, code, tie.low, tie.high);
  }

  /**
   * Gate g's possible values at one element: for each accumulator code the tie allows, the
   * activation decision's codes; each with the number of non-nominal decisions behind it
   * (records are made only for the explanation that is kept).
   */
  private gateOptions(g: number, code: number, tie: AccumulatorTie | undefined): GateOption[] {
    const a = this.arithmetic;
    const options: GateOption[] = [];
    const low = tie ? tie.low : code;
    const high = tie ? tie.high : code;
    for (let acc = low; acc <= high; acc++) {
      const d = a.activation(g, acc);
      const accCost = acc === code ? 0 : 1;
      addOption(options, { value: d.value, cost: accCost, gate: g, acc, tie, decision: d, activation: d.nominal });
      for (const alt of d.alternatives) addOption(options, { value: alt.value, cost: accCost + 1, gate: g, acc, tie, decision: d, activation: alt.code });
    }
    return options.sort((x, y) => x.cost - y.cost);
  }

  private records(t: number, b: number, j: number, option: GateOption): TieRecord[] {
    const gate = this.arithmetic.gates[option.gate]!;
    const out: TieRecord[] = [];
    if (option.tie && option.acc !== option.tie.nominal) {
      out.push(tieRecord(t, b, j, gate.accName, option.tie.nominal, option.acc, tieDistance(option.tie, option.acc)));
    }
    if (option.activation !== option.decision.nominal) {
      out.push(tieRecord(t, b, j, gate.activationName, option.decision.nominal, option.activation, decisionDistance(option.decision, option.activation)));
    }
    return out;
  }

  /** Every combination of the element's possible gate values and cell states, matched against the observation. */
  private general(t: number, b: number, j: number, observed: number, block: AccumulatorBlock, k: number): void {
    const a = this.arithmetic;
    const count = this.range.count;
    const u = b * this.H + j;
    const options = a.gates.map((_, g) => this.gateOptions(g, block.codes[k + g * count]!, block.tied[k + g * count] ? block.ties.get(k + g * count) : undefined));
    const { input: gi, forget: gf, cell: gc, output: go } = a.index;
    const candidates = this.extra.get(u) ?? [{ code: this.primary[u]!, pending: [] }];
    const combinations: Combination[] = [];
    let hiddenTied = false;
    candidates.forEach((candidate, n) => {
      const c = a.cellValue(candidate.code);
      for (const i of options[gi]!) {
        const forgets = gf < 0 ? [{ ...i, value: a.forgetOf(i.value), cost: 0 }] : options[gf]!;
        for (const f of forgets) {
          for (const g of options[gc]!) {
            const next = a.nextCell(f.value, c, i.value, g.value);
            const tanh = a.tanhOfCell(next);
            if (n === 0 && tanh.alternatives.length) hiddenTied = true;
            const cost = candidate.pending.length + i.cost + f.cost + g.cost;
            const forget = gf < 0 ? null : f;
            for (const o of options[go]!) {
              combinations.push({ hidden: a.output(o.value, tanh.value), cell: next, cost: cost + o.cost, candidate, i, f: forget, g, o, tanh, tanhCode: tanh.nominal });
              for (const alt of tanh.alternatives) {
                combinations.push({ hidden: a.output(o.value, alt.value), cell: next, cost: cost + o.cost + 1, candidate, i, f: forget, g, o, tanh, tanhCode: alt.code });
              }
            }
          }
        }
      }
    });
    this.report.certifiedTies += options.filter((o) => o.length > 1).length + (hiddenTied ? 1 : 0);
    const explain = (c: Combination): TieRecord[] => [
      ...c.candidate.pending,
      ...[c.i, c.f, c.g, c.o].flatMap((option) => (option && option.cost ? this.records(t, b, j, option) : [])),
      ...(c.tanhCode === c.tanh.nominal ? [] : [tieRecord(t, b, j, 'hidden_state_tanh', c.tanh.nominal, c.tanhCode, decisionDistance(c.tanh, c.tanhCode))]),
    ];
    const matches = combinations.filter((c) => c.hidden === observed);
    let children: Candidate[];
    if (matches.length === 0) {
      this.unexplained({ step: t, batch: b, unit: j, what: 'hidden state', observed, candidates: [...new Set(combinations.map((c) => c.hidden))].slice(0, 8) });
      children = distinctCells(combinations).map((c) => ({ code: c.cell, pending: c.cost ? explain(c) : [] }));
    } else {
      const cells = distinctCells(matches);
      const best = cells[0]!;
      const committed = best.cost ? explain(best) : [];
      if (committed.length === 0) this.report.nominal++;
      else {
        this.report.ties += committed.length;
        for (const tie of committed) if (this.report.tieSamples.length < SAMPLE_LIMIT) this.report.tieSamples.push(tie);
      }
      // the other cell states stay possible, with the decisions that lead to them beyond the committed ones
      const taken = new Set(committed);
      children = cells.map((c) => ({ code: c.cell, pending: c === best || !c.cost ? [] : explain(c).filter((x) => !taken.has(x)) }));
    }
    if (children.length > CANDIDATE_CAP) {
      children.length = CANDIDATE_CAP;
      this.report.candidateCapHits++;
    }
    this.primary[u] = children[0]!.code;
    if (children.length === 1 && children[0]!.pending.length === 0) this.extra.delete(u);
    else this.extra.set(u, children);
  }

  private unexplained(record: UnexplainedRecord): void {
    this.report.unexplained++;
    if (this.report.unexplainedSamples.length < SAMPLE_LIMIT) this.report.unexplainedSamples.push(record);
  }

  private checkLastCell(): void {
    const observed = this.input.observedLastCell;
    if (!observed) return;
    let consistent = true;
    for (let b = 0; b < this.B; b++) {
      for (let j = this.range.first; j < this.range.first + this.range.count; j++) {
        const u = b * this.H + j;
        const values = (this.extra.get(u) ?? [{ code: this.primary[u]! }]).map((c) => this.arithmetic.cellValue(c.code));
        if (!values.includes(observed[u]!)) {
          consistent = false;
          this.unexplained({ step: this.lastStep, batch: b, unit: j, what: 'last cell state', observed: observed[u]!, candidates: values });
        }
      }
    }
    this.report.lastCell = consistent ? 'consistent' : 'inconsistent';
  }
}

function tieRecord(step: number, batch: number, unit: number, quantizer: ReferenceQuantizerName, nominal: number, taken: number, distanceUlps: number): TieRecord {
  return { step, batch, unit, quantizer, codes: [nominal, taken], distanceUlps };
}

function addOption(options: GateOption[], option: GateOption): void {
  const same = options.find((o) => o.value === option.value);
  if (!same) options.push(option);
  else if (option.cost < same.cost) Object.assign(same, option);
}

/** One combination per distinct cell state, the one with the fewest non-nominal decisions; fewest first. */
function distinctCells(combinations: Combination[]): Combination[] {
  const byCell = new Map<number, Combination>();
  for (const c of combinations) {
    const known = byCell.get(c.cell);
    if (!known || c.cost < known.cost) byCell.set(c.cell, c);
  }
  return [...byCell.values()].sort((x, y) => x.cost - y.cost);
}
