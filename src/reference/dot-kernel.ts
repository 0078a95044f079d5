/**
 * The reference's one hot loop, sum_k w_k a_k in double over float32 weights and rows, as a
 * small WebAssembly SIMD function (f64x2 lanes: each float32 pair is widened exactly, so
 * every product is exact and only the double additions round, as in the JavaScript loop it
 * replaces, about 3x faster). The module is assembled below from its few instructions; the
 * tests compare it with the plain JavaScript loop (`dotRowsJs`), which remains the fallback
 * where WebAssembly SIMD is missing.
 *
 * gemm(w, a, out, outAbs, units, groups, kBytes): for each of `units` weight rows at w (kBytes
 * each, consecutive) and each group of 4 rows at a (kBytes each, consecutive), stores the 4
 * sums sum_k w_k a_k as f64 at out and the 4 sums sum_k |w_k a_k| at outAbs, advancing both by
 * 32 bytes per group. kBytes must be a multiple of 8.
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

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function name(s: string): number[] {
  return [...leb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
}

// locals: params 0..6, then i32 locals, then v128 locals
const P = { w: 0, a: 1, out: 2, outAbs: 3, units: 4, groups: 5, kBytes: 6 } as const;
const L = { n: 7, g: 8, k: 9, a0: 10, a1: 11, a2: 12, a3: 13, wRow: 14 } as const;
const V = { acc0: 15, acc1: 16, acc2: 17, acc3: 18, abs0: 19, abs1: 20, abs2: 21, abs3: 22, weights: 23, product: 24 } as const;

function body(): number[] {
  const get = (i: number) => [op.localGet, i];
  const set = (i: number) => [op.localSet, i];
  const addConst = (i: number, c: number) => [...get(i), op.i32Const, ...leb(c), op.i32Add, ...set(i)];
  const zeroAcc = (i: number) => [...simd.v128Const, ...new Array(16).fill(0), ...set(i)];
  const loadPair = (base: number) => [...get(base), ...get(L.k), op.i32Add, ...simd.load64Zero, 3, 0, ...simd.promoteLow];
  const accumulate = (acc: number, abs: number, row: number) => [
    ...loadPair(row), ...get(V.weights), ...simd.f64x2Mul, op.localTee, V.product,
    ...get(acc), ...simd.f64x2Add, ...set(acc),
    ...get(V.product), ...simd.f64x2Abs, ...get(abs), ...simd.f64x2Add, ...set(abs),
  ];
  const store = (base: number, acc: number, offset: number) => [...get(base), ...get(acc), ...simd.f64x2ExtractLane, 0, ...get(acc), ...simd.f64x2ExtractLane, 1, op.f64Add, op.f64Store, 3, ...leb(offset)];
  const rows = [L.a0, L.a1, L.a2, L.a3];
  const accs = [V.acc0, V.acc1, V.acc2, V.acc3];
  const abss = [V.abs0, V.abs1, V.abs2, V.abs3];
  const code = [
    op.i32Const, 0, ...set(L.n),
    ...get(P.w), ...set(L.wRow),
    op.loop, op.void, // units
    op.i32Const, 0, ...set(L.g),
    ...get(P.a), ...set(L.a0),
    op.loop, op.void, // groups
    ...get(L.a0), ...get(P.kBytes), op.i32Add, op.localTee, L.a1, ...get(P.kBytes), op.i32Add, op.localTee, L.a2, ...get(P.kBytes), op.i32Add, ...set(L.a3),
    ...[...accs, ...abss].flatMap(zeroAcc),
    op.i32Const, 0, ...set(L.k),
    op.loop, op.void, // k, two floats at a time
    ...loadPair(L.wRow), ...set(V.weights),
    ...accs.flatMap((acc, i) => accumulate(acc, abss[i]!, rows[i]!)),
    ...addConst(L.k, 8),
    ...get(L.k), ...get(P.kBytes), op.i32LtU, op.brIf, 0,
    op.end,
    ...accs.flatMap((acc, i) => store(P.out, acc, 8 * i)),
    ...abss.flatMap((abs, i) => store(P.outAbs, abs, 8 * i)),
    ...addConst(P.out, 32),
    ...addConst(P.outAbs, 32),
    ...get(L.a3), ...get(P.kBytes), op.i32Add, ...set(L.a0),
    ...addConst(L.g, 1),
    ...get(L.g), ...get(P.groups), op.i32LtU, op.brIf, 0,
    op.end,
    ...get(L.wRow), ...get(P.kBytes), op.i32Add, ...set(L.wRow),
    ...addConst(L.n, 1),
    ...get(L.n), ...get(P.units), op.i32LtU, op.brIf, 0,
    op.end,
    op.end,
  ];
  const locals = [2, 8, 0x7f, 10, 0x7b]; // 2 groups: 8 i32, 10 v128
  const full = [...locals, ...code];
  return [...leb(full.length), ...full];
}

function moduleBytes(): Uint8Array {
  const i32 = 0x7f;
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 7, i32, i32, i32, i32, i32, i32, i32, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [2, ...name('gemm'), 0x00, 0, ...name('memory'), 0x02, 0]),
    ...section(10, [1, ...body()]),
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

/** sums[r] = sum_k W[w + k] A[r K + k] and absSums[r] = sum_k |W[w + k] A[r K + k]|, in double. */
export function dotRowsJs(W: Float32Array, w: number, A: Float32Array, K: number, rows: number, sums: Float64Array, absSums: Float64Array, offset = 0): void {
  for (let r = 0; r < rows; r++) {
    const a = r * K;
    let s = 0;
    let t = 0;
    for (let k = 0; k < K; k++) {
      const p = W[w + k]! * A[a + k]!;
      s += p;
      t += Math.abs(p);
    }
    sums[offset + r] = s;
    absSums[offset + r] = t;
  }
}

/**
 * All weight rows against all data rows: out[n * rowsPadded + r] = sum_k W[n][k] A[r][k].
 * Weights are copied into the kernel once; rows per call.
 */
export class DotKernel {
  readonly kPadded: number;
  private readonly memory: WasmMemory | null;
  private readonly gemm: ((w: number, a: number, out: number, outAbs: number, units: number, groups: number, kBytes: number) => void) | null;
  private readonly weightsOffset = 0;
  private capacityRows = 0;

  constructor(
    private readonly weights: Float32Array,
    readonly units: number,
    readonly K: number,
    useWasm = true,
  ) {
    this.kPadded = Math.ceil(K / 2) * 2;
    const module = useWasm ? wasmModule() : null;
    if (!module) {
      this.memory = null;
      this.gemm = null;
      return;
    }
    const instance = new wasm!.Instance(module);
    this.memory = instance.exports.memory as WasmMemory;
    this.gemm = instance.exports.gemm as DotKernel['gemm'];
    this.reserve(0);
    const view = new Float32Array(this.memory.buffer, this.weightsOffset, units * this.kPadded);
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
    const padded = Math.ceil(rows / 4) * 4;
    const needed = this.rowsOffset + align(padded * this.kPadded * 4) + 2 * this.units * padded * 8;
    if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
    this.capacityRows = Math.max(this.capacityRows, padded);
  }

  /** Sums of every weight row with each of `rows` rows of A (rows of K floats, consecutive), and of their absolute products. Results [units][stride]. */
  run(A: Float32Array, rows: number): { sums: Float64Array; absSums: Float64Array; stride: number } {
    const padded = Math.ceil(rows / 4) * 4;
    if (!this.gemm) {
      const sums = new Float64Array(this.units * padded);
      const absSums = new Float64Array(this.units * padded);
      for (let n = 0; n < this.units; n++) dotRowsJs(this.weights, n * this.K, A, this.K, rows, sums, absSums, n * padded);
      return { sums, absSums, stride: padded };
    }
    this.reserve(rows);
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
    const absAt = outAt + this.units * padded * 8;
    this.gemm(this.weightsOffset, rowsAt, outAt, absAt, this.units, padded / 4, this.kPadded * 4);
    return { sums: new Float64Array(memory.buffer, outAt, this.units * padded), absSums: new Float64Array(memory.buffer, absAt, this.units * padded), stride: padded };
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
