import type { Gate, QuantizerName } from '../recognize/description.js';

/** Which quantizer follows each gate's accumulation, and which its activation. */
export const ACC_QUANTIZER: Record<Gate, QuantizerName> = {
  input: 'input_acc',
  forget: 'forget_acc',
  cell: 'cell_acc',
  output: 'output_acc',
};

export const ACTIVATION_QUANTIZER: Record<Gate, QuantizerName> = {
  input: 'input_sigmoid',
  forget: 'forget_sigmoid',
  cell: 'cell_tanh',
  output: 'output_sigmoid',
};

export const ACTIVATION: Record<Gate, 'Sigmoid' | 'Tanh'> = {
  input: 'Sigmoid',
  forget: 'Sigmoid',
  cell: 'Tanh',
  output: 'Sigmoid',
};
