import type { Gate } from '../recognize/description.js';

export const ACTIVATION: Record<Gate, 'Sigmoid' | 'Tanh'> = {
  input: 'Sigmoid',
  forget: 'Sigmoid',
  cell: 'Tanh',
  output: 'Sigmoid',
};
