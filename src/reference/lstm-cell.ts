/**
 * An independent implementation of Brevitas' QuantLSTM cell, written from the arithmetic in
 * the corpus README and nothing in src/build: it shares no code with the graph builder, so a
 * builder bug cannot hide in it. Every operation is float32, as in PyTorch:
 *
 *   i = Q_is(sigmoid(Q_ia(W_ii x + W_hi h + b_i)))      f likewise (CIFG: f = Q_is(1) - i)
 *   g = Q_ct(tanh(Q_ca(W_ic x + W_hc h + b_c)))          o likewise with sigmoid
 *   c' = Q_cs(Q_cs(f c) + Q_cs(i g))      h' = Q_out(o Q_hst(tanh(c')))
 *
 * A dot product accumulates in index order with a fused multiply-add per term (one rounding
 * per term), which is what the float GEMM kernels of PyTorch and onnxruntime compute.
 */

const f32 = Math.fround;

export interface ReferenceQuantizer {
  scale: number;
  zeroPoint: number;
  min: number;
  max: number;
}

/** Weight rows as float32 values [rows * cols], already dequantized. */
export interface ReferenceGate {
  inputWeight: Float32Array; // [H, I]
  recurrentWeight: Float32Array; // [H, H]
  bias: Float32Array | null; // [H]
  acc: ReferenceQuantizer;
  activation: ReferenceQuantizer;
}

export interface ReferenceCell {
  inputSize: number;
  hiddenSize: number;
  reverse: boolean;
  cifg: boolean;
  input: ReferenceGate;
  forget: ReferenceGate;
  cell: ReferenceGate;
  output: ReferenceGate;
  cellState: ReferenceQuantizer;
  hiddenStateTanh: ReferenceQuantizer;
  outputQuant: ReferenceQuantizer;
}

export interface ReferenceResult {
  /** [T, B, H], each step at its own index */
  hiddenStates: Float32Array;
  lastHidden: Float32Array; // [B, H]
  lastCell: Float32Array; // [B, H]
}

function roundTiesToEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function fakeQuantize(v: number, q: ReferenceQuantizer): number {
  let n = roundTiesToEven(f32(v / q.scale)) + q.zeroPoint;
  n = Math.min(q.max, Math.max(q.min, n));
  return f32((n - q.zeroPoint) * q.scale);
}

/** sum_k a[k] * b[k] in float32, one rounding per multiply-add (an FMA chain). */
function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, n: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) {
    // x * y of two float32 is exact in a double; the double sum then rounds once more.
    const product = a[aOffset + k]! * b[bOffset + k]!;
    const sum = product + acc;
    const rounded = f32(sum);
    const mirrored = sum + (sum - rounded);
    acc = rounded === sum || f32(mirrored) !== mirrored ? rounded : breakTie(product, acc, sum, rounded, mirrored);
  }
  return acc;
}

/**
 * The double sum fell exactly halfway between two float32 values, where rounding twice can
 * differ from rounding once: the exact sum lies on the side its rounding error points to.
 */
function breakTie(product: number, acc: number, sum: number, rounded: number, other: number): number {
  const bVirtual = sum - product;
  const error = product - (sum - bVirtual) + (acc - bVirtual);
  if (error === 0) return rounded;
  return error > 0 === other > rounded ? other : rounded;
}

function sigmoid(x: number): number {
  return f32(1 / (1 + Math.exp(-x)));
}

/**
 * Runs the cell over a sequence x [T, B, I] (time-first) from states h0, c0 [B, H].
 */
export function runReferenceCell(cell: ReferenceCell, x: Float32Array, steps: number, batch: number, h0: Float32Array, c0: Float32Array): ReferenceResult {
  const { inputSize: I, hiddenSize: H } = cell;
  let h = Float32Array.from(h0);
  let c = Float32Array.from(c0);
  const hiddenStates = new Float32Array(steps * batch * H);
  const oneQ = fakeQuantize(1, cell.input.activation);

  const preActivation = (gate: ReferenceGate, xOffset: number, hOffset: number, j: number): number => {
    const fromInput = dot(x, xOffset, gate.inputWeight, j * I, I);
    const fromHidden = dot(h, hOffset, gate.recurrentWeight, j * H, H);
    const sum = f32(fromInput + fromHidden);
    return gate.bias ? f32(sum + gate.bias[j]!) : sum;
  };
  const gateValue = (gate: ReferenceGate, act: (v: number) => number, xOffset: number, hOffset: number, j: number) =>
    fakeQuantize(act(fakeQuantize(preActivation(gate, xOffset, hOffset, j), gate.acc)), gate.activation);

  for (let s = 0; s < steps; s++) {
    const t = cell.reverse ? steps - 1 - s : s;
    const nextH = new Float32Array(batch * H);
    const nextC = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) {
      const xOffset = (t * batch + b) * I;
      const hOffset = b * H;
      for (let j = 0; j < H; j++) {
        const i = gateValue(cell.input, sigmoid, xOffset, hOffset, j);
        const f = cell.cifg ? f32(oneQ - i) : gateValue(cell.forget, sigmoid, xOffset, hOffset, j);
        const g = gateValue(cell.cell, (v) => f32(Math.tanh(v)), xOffset, hOffset, j);
        const o = gateValue(cell.output, sigmoid, xOffset, hOffset, j);
        const keep = fakeQuantize(f32(f * c[hOffset + j]!), cell.cellState);
        const write = fakeQuantize(f32(i * g), cell.cellState);
        const cNew = fakeQuantize(f32(keep + write), cell.cellState);
        const squashed = fakeQuantize(f32(Math.tanh(cNew)), cell.hiddenStateTanh);
        nextC[hOffset + j] = cNew;
        nextH[hOffset + j] = fakeQuantize(f32(o * squashed), cell.outputQuant);
      }
    }
    h = nextH;
    c = nextC;
    hiddenStates.set(h, t * batch * H);
  }
  return { hiddenStates, lastHidden: h, lastCell: c };
}
