import { GATES, GATE_QUANTIZERS, type CellDescription, type Gate, type QuantizedWeight, type Quantizer } from '../recognize/description.js';
import type { ReferenceCell, ReferenceGate, ReferenceQuantizer } from './lstm-cell.js';

function quantizer(q: Quantizer): ReferenceQuantizer {
  return { scale: q.scale, zeroPoint: q.zeroPoint, min: q.min, max: q.max };
}

/** (q - zero point) * scale in float32, row by row: the weight Brevitas multiplies with. */
function dequantize(w: QuantizedWeight): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) {
    const p = w.scale.length === 1 ? 0 : r;
    for (let c = 0; c < w.cols; c++) out[r * w.cols + c] = Math.fround((w.values[r * w.cols + c]! - w.zeroPoint[p]!) * w.scale[p]!);
  }
  return out;
}

/** The reference cell for a recognised export's parameters. */
export function referenceCellOf(cell: CellDescription): ReferenceCell {
  const gate = (g: Gate): ReferenceGate => ({
    inputWeight: dequantize(cell.inputWeights[g]),
    recurrentWeight: dequantize(cell.recurrentWeights[g]),
    bias: cell.biases ? cell.biases[g] : null,
    acc: quantizer(cell.quantizers[GATE_QUANTIZERS[g].acc]),
    activation: quantizer(cell.quantizers[GATE_QUANTIZERS[g].activation]),
  });
  const [input, forget, cellGate, output] = GATES.map(gate);
  return {
    inputSize: cell.inputSize,
    hiddenSize: cell.hiddenSize,
    reverse: cell.reverse,
    cifg: cell.cifg,
    input: input!,
    forget: forget!,
    cell: cellGate!,
    output: output!,
    cellState: quantizer(cell.quantizers.cell_state),
    hiddenStateTanh: quantizer(cell.quantizers.hidden_state_tanh),
    outputQuant: quantizer(cell.quantizers.output),
  };
}
