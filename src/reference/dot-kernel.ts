/**
 * The reference's hot loops as a small WebAssembly SIMD module (f64x2 lanes: each float32 pair
 * is widened exactly, so every product is exact and only the double additions round, as in the
 * JavaScript loops it replaces, which remain the fallback where WebAssembly SIMD is missing).
 * The module is assembled below from its few instructions; the tests compare it with the
 * JavaScript loops.
 *
 * gemm(w, a, out, units, groups, kBytes): for each of `units` weight rows at w (kBytes each,
 * consecutive) and each group of ROWS rows at a (kBytes each, consecutive), stores the ROWS
 * sums sum_k w_k a_k as f64 at out, advancing out by 8 ROWS bytes per group.
 * absdot(w, a, kBytes): sum_k |w_k a_k| of one weight row and one row.
 * kBytes must be a multiple of 8.
 */

const SIMD = 0xfd;
const op = {
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32Add: 0x6a,
  i32LtU: 0x49,
  f64Add: 0xa0,
  f64Store: 0x39,
  void: 0x40,
} as const;
const simd = {
  v128Const: [SIMD, 0x0c],
  load64Zero: [SIMD, 0x5d],
  promoteLow: [SIMD, 0x5f],
  f64x2Add: [SIMD, 0xf0, 0x01],
  f64x2Mul: [SIMD, 0xf2, 0x01],
  f64x2Abs: [SIMD, 0xec, 0x01],
  f64x2ExtractLane: [SIMD, 0x21],
} as const;

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128, as i32.const takes its operand. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function name(s: string): number[] {
  return [...leb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
}

/** Rows per group of gemm: four share each weight load (more spill registers, measured no faster). */
const ROWS = 4;

const get = (i: number) => [op.localGet, i];
const set = (i: number) => [op.localSet, i];
const addConst = (i: number, c: number) => [...get(i), op.i32Const, ...sleb(c), op.i32Add, ...set(i)];
const zero = (i: number) => [...simd.v128Const, ...new Array(16).fill(0), ...set(i)];
/** two float32 at base + k, widened to f64x2 */
const loadPair = (base: number, k: number) => [...get(base), ...get(k), op.i32Add, ...simd.load64Zero, 3, 0, ...simd.promoteLow];
const laneSum = (v: number) => [...get(v), ...simd.f64x2ExtractLane, 0, ...get(v), ...simd.f64x2ExtractLane, 1, op.f64Add];

/** Locals: parameters w, a, out, units, groups, kBytes; i32 n, g, k, wRow, a_0..a_{R-1}; v128 acc_0..acc_{R-1}, weights. */
function gemmBody(): number[] {
  const R = ROWS;
  const P = { w: 0, a: 1, out: 2, units: 3, groups: 4, kBytes: 5 };
  const L = { n: 6, g: 7, k: 8, wRow: 9, a: 10 };
  const rows = Array.from({ length: R }, (_, i) => L.a + i);
  const accs = Array.from({ length: R }, (_, i) => L.a + R + i);
  const weights = L.a + 2 * R;
  const accumulate = (i: number) => [...get(accs[i]!), ...loadPair(rows[i]!, L.k), ...get(weights), ...simd.f64x2Mul, ...simd.f64x2Add, ...set(accs[i]!)];
  const store = (acc: number, offset: number) => [...get(P.out), ...laneSum(acc), op.f64Store, 3, ...leb(offset)];
  const rowAddresses = rows.slice(1).flatMap((row, i) => [...get(rows[i]!), ...get(P.kBytes), op.i32Add, ...set(row)]);
  const code = [
    op.i32Const, 0, ...set(L.n),
    ...get(P.w), ...set(L.wRow),
    op.loop, op.void, // units
    op.i32Const, 0, ...set(L.g),
    ...get(P.a), ...set(rows[0]!),
    op.loop, op.void, // groups of R rows
    ...rowAddresses,
    ...accs.flatMap(zero),
    op.i32Const, 0, ...set(L.k),
    op.loop, op.void, // k, two floats at a time
    ...loadPair(L.wRow, L.k), ...set(weights),
    ...rows.flatMap((_, i) => accumulate(i)),
    ...addConst(L.k, 8),
    ...get(L.k), ...get(P.kBytes), op.i32LtU, op.brIf, 0,
    op.end,
    ...accs.flatMap((acc, i) => store(acc, 8 * i)),
    ...addConst(P.out, 8 * R),
    ...get(rows[R - 1]!), ...get(P.kBytes), op.i32Add, ...set(rows[0]!),
    ...addConst(L.g, 1),
    ...get(L.g), ...get(P.groups), op.i32LtU, op.brIf, 0,
    op.end,
    ...get(L.wRow), ...get(P.kBytes), op.i32Add, ...set(L.wRow),
    ...addConst(L.n, 1),
    ...get(L.n), ...get(P.units), op.i32LtU, op.brIf, 0,
    op.end,
    op.end,
  ];
  return functionBody([4 + R, 0x7f, R + 1, 0x7b], code);
}

/** Locals: parameters w, a, kBytes; i32 k; v128 acc. */
function absdotBody(): number[] {
  const P = { w: 0, a: 1, kBytes: 2 };
  const L = { k: 3, acc: 4 };
  const code = [
    ...zero(L.acc),
    op.i32Const, 0, ...set(L.k),
    op.loop, op.void,
    ...get(L.acc), ...loadPair(P.a, L.k), ...loadPair(P.w, L.k), ...simd.f64x2Mul, ...simd.f64x2Abs, ...simd.f64x2Add, ...set(L.acc),
    ...addConst(L.k, 8),
    ...get(L.k), ...get(P.kBytes), op.i32LtU, op.brIf, 0,
    op.end,
    ...laneSum(L.acc),
    op.end,
  ];
  return functionBody([1, 0x7f, 1, 0x7b], code);
}

/** locals: [count, type] pairs */
function functionBody(locals: number[], code: number[]): number[] {
  const full = [locals.length / 2, ...locals, ...code];
  return [...leb(full.length), ...full];
}

function moduleBytes(): Uint8Array {
  const i32 = 0x7f;
  const f64 = 0x7c;
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, 0x60, 6, i32, i32, i32, i32, i32, i32, 0, 0x60, 3, i32, i32, i32, 1, f64]),
    ...section(3, [2, 0, 1]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [3, ...name('gemm'), 0x00, 0, ...name('absdot'), 0x00, 1, ...name('memory'), 0x02, 0]),
    ...section(10, [2, ...gemmBody(), ...absdotBody()]),
  ]);
}

/** The part of the WebAssembly JavaScript API used here (the project's lib settings do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;

function wasmModule(): object | null {
  if (compiled === undefined) {
    const bytes = moduleBytes();
    compiled = wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled;
}

/** sums[offset + r] = sum_k W[w + k] A[r K + k], in double. */
export function dotRowsJs(W: Float32Array, w: number, A: Float32Array, K: number, rows: number, sums: Float64Array, offset = 0): void {
  for (let r = 0; r < rows; r++) {
    const a = r * K;
    let s = 0;
    for (let k = 0; k < K; k++) s += W[w + k]! * A[a + k]!;
    sums[offset + r] = s;
  }
}

/** sum_k |W[w + k] A[a + k]| in double. */
export function absDotJs(W: Float32Array, w: number, A: Float32Array, a: number, K: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.abs(W[w + k]! * A[a + k]!);
  return s;
}

type Gemm = (w: number, a: number, out: number, units: number, groups: number, kBytes: number) => void;
type AbsDot = (w: number, a: number, kBytes: number) => number;

/**
 * Every weight row against rows of A: sums[n * stride + r] = sum_k W[n][k] A[r][k]; and, for
 * one weight row and one row of the last call, sum_k |W[n][k] A[r][k]|. Weights are copied
 * into the kernel's memory once; rows per call.
 */
export class DotKernel {
  private readonly kPadded: number;
  private readonly memory: WasmMemory | null = null;
  private readonly gemm: Gemm | null = null;
  private readonly absdot: AbsDot | null = null;
  private rows: Float32Array | null = null;

  constructor(
    private readonly weights: Float32Array,
    readonly units: number,
    readonly K: number,
    useWasm = true,
  ) {
    this.kPadded = Math.ceil(K / 2) * 2;
    const module = useWasm ? wasmModule() : null;
    if (!module) return;
    const instance = new wasm!.Instance(module);
    this.memory = instance.exports.memory as WasmMemory;
    this.gemm = instance.exports.gemm as Gemm;
    this.absdot = instance.exports.absdot as AbsDot;
    this.reserve(0);
    const view = new Float32Array(this.memory.buffer, 0, units * this.kPadded);
    for (let n = 0; n < units; n++) view.set(weights.subarray(n * K, (n + 1) * K), n * this.kPadded);
  }

  get usesWasm(): boolean {
    return this.gemm !== null;
  }

  private get rowsOffset(): number {
    return align(this.units * this.kPadded * 4);
  }

  private reserve(rows: number): void {
    const memory = this.memory!;
    const needed = this.rowsOffset + align(rows * this.kPadded * 4) + this.units * rows * 8;
    if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
  }

  /** Sums of every weight row with each of `rows` rows of A (rows of K floats, consecutive). Result [units][stride]. */
  run(A: Float32Array, rows: number): { sums: Float64Array; stride: number } {
    const padded = Math.ceil(rows / ROWS) * ROWS;
    if (!this.gemm) {
      this.rows = A;
      const sums = new Float64Array(this.units * padded);
      for (let n = 0; n < this.units; n++) dotRowsJs(this.weights, n * this.K, A, this.K, rows, sums, n * padded);
      return { sums, stride: padded };
    }
    this.reserve(padded);
    const memory = this.memory!;
    const rowsAt = this.rowsOffset;
    const rowView = new Float32Array(memory.buffer, rowsAt, padded * this.kPadded);
    if (this.kPadded === this.K) rowView.set(A.subarray(0, rows * this.K));
    else {
      for (let r = 0; r < rows; r++) {
        rowView.set(A.subarray(r * this.K, (r + 1) * this.K), r * this.kPadded);
        rowView[r * this.kPadded + this.K] = 0; // the pad column; memory may hold older data there
      }
    }
    rowView.fill(0, rows * this.kPadded);
    const outAt = rowsAt + align(padded * this.kPadded * 4);
    this.gemm(0, rowsAt, outAt, this.units, padded / ROWS, this.kPadded * 4);
    return { sums: new Float64Array(memory.buffer, outAt, this.units * padded), stride: padded };
  }

  /** sum_k |W[n][k] A[r][k]| for row r of the last run. */
  absDot(n: number, r: number): number {
    if (!this.absdot) return absDotJs(this.weights, n * this.K, this.rows!, r * this.K, this.K);
    return this.absdot(n * this.kPadded * 4, this.rowsOffset + r * this.kPadded * 4, this.kPadded * 4);
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
