import { GATES, GATE_QUANTIZERS, type CellDescription, type Gate, type Quantizer } from '../recognize/description.js';
import type { ReferenceCell, ReferenceGate, ReferenceQuantizer } from './lstm-cell.js';

function quantizer(q: Quantizer): ReferenceQuantizer {
  return { scale: q.scale, zeroPoint: q.zeroPoint, min: q.min, max: q.max };
}

/** The reference cell for a recognised export's parameters. */
export function referenceCellOf(cell: CellDescription): ReferenceCell {
  const gate = (g: Gate): ReferenceGate => ({
    inputWeight: cell.inputWeights[g].values,
    recurrentWeight: cell.recurrentWeights[g].values,
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
