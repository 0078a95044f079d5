/** The text after each command's option list in --help: an example and the exit codes. */
import { ERROR_SCHEMA } from './output.js';

const EXAMPLES: Record<string, string[]> = {
  convert: [
    'qlstm convert model.qcdq.onnx out/model.onnx',
    'qlstm convert model.qonnx.onnx out/model.onnx --layout plain --force --json',
  ],
  verify: [
    'qlstm verify out/model.onnx --inputs x.npy --expected y.npy h.npy c.npy',
    'qlstm verify model.qcdq.onnx out/model.onnx --seed 7 --sequence-length 50',
  ],
  inspect: ['qlstm inspect model.qcdq.onnx', 'qlstm inspect out/model.onnx --json'],
};

const CODES: Record<string, [number, string][]> = {
  convert: [
    [0, 'converted and written'],
    [2, 'bad command line, unreadable or invalid input, output path refused (exists without --force, not a regular file, not writable)'],
    [3, 'a valid model qlstm cannot convert exactly'],
    [4, 'internal error, including a converted model onnxruntime refuses (please report it)'],
  ],
  verify: [
    [0, 'every output within tolerance at every level'],
    [1, 'some output differs beyond the tolerance'],
    [2, 'bad command line, or a file that is missing or invalid'],
    [3, 'a model whose cells qlstm cannot check'],
    [4, 'internal error (please report it)'],
  ],
  inspect: [
    [0, 'described'],
    [2, 'bad command line, or a file that is missing or invalid'],
    [3, 'a cell qlstm cannot read'],
    [4, 'internal error (please report it)'],
  ],
};

export function commandHelp(command: string): string {
  const examples = EXAMPLES[command] ?? [];
  const codes = CODES[command] ?? [];
  return [
    '',
    'Examples:',
    ...examples.map((e) => `  $ ${e}`),
    '',
    'Exit codes:',
    ...codes.map(([code, meaning]) => `  ${code}  ${meaning}`),
    '',
    `With --json a failure (exit 2, 3, 4) is also printed on stdout as {"schema": "${ERROR_SCHEMA}", "error": {...}}.`,
  ].join('\n');
}

export const EXIT_CODES = [
  '',
  'Exit codes: 0 success, 1 verify found a difference, 2 usage or input error,',
  '3 a model qlstm cannot convert exactly, 4 internal error. Run "qlstm help <command>" for details.',
].join('\n');
