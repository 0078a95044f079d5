import chalk from 'chalk';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { LAYOUTS, type Layout } from '../scan/scan.js';
import { ExitCode, QlstmError } from '../errors.js';
import { OPTIMIZATION_LEVELS, type OptimizationLevel } from '../run/session.js';
import { convertCommand } from './commands/convert.js';
import { inspectCommand } from './commands/inspect.js';
import { verifyCommand } from './commands/verify.js';
import { processOutput, type Output } from './output.js';
import { VERSION } from '../version.js';

/**
 * The only place that catches: runs one command line and turns every outcome into an exit
 * code and at most one line on stderr (plus a stack trace with --debug or QLSTM_DEBUG=1).
 */
export async function main(argv: readonly string[], io: Output = processOutput, env = process.env): Promise<number> {
  let exitCode: number = ExitCode.ok;
  let debug = env.QLSTM_DEBUG === '1';
  if (env.NO_COLOR) chalk.level = 0; // https://no-color.org
  const program = buildProgram(io, (code) => (exitCode = code), (on) => (debug ||= on));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof QlstmError) {
      io.err(`qlstm: ${error.message}`);
      if (debug) io.err(String(error.stack));
      return error.exitCode;
    }
    io.err(`qlstm: internal error: ${(error as Error)?.message ?? String(error)} (this is a bug; rerun with --debug for details)`);
    if (debug) io.err(String((error as Error)?.stack ?? error));
    return ExitCode.internal;
  }
}

function buildProgram(io: Output, setExit: (code: number) => void, setDebug: (on: boolean) => void): Command {
  const program = new Command('qlstm')
    .description('Convert Brevitas QuantLSTM exports to standard ONNX, bit-exact, and prove it.')
    .version(VERSION)
    .option('--debug', 'print stack traces on errors')
    .option('--no-color', 'plain output without colours')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(`qlstm: ${s.replace(/^error: /, '')}`),
    })
    .hook('preAction', (root) => {
      const globals = root.opts<{ debug?: boolean; color?: boolean }>();
      setDebug(Boolean(globals.debug));
      if (globals.color === false) chalk.level = 0;
    });

  const layout = new Option('--layout <layout>', 'graph layout of the Scan body').choices(LAYOUTS).default('fused');
  program
    .command('convert')
    .description('rewrite every QuantLSTMCell of a Brevitas export as a standard-ONNX Scan')
    .argument('<input>', 'Brevitas export (.onnx): QCDQ, QCDQ with int8 weights, or QONNX')
    .argument('<output>', 'where to write the converted model (.onnx)')
    .addOption(layout)
    .option('--json', 'print the result as JSON')
    .action(async (input: string, output: string, o: { layout: Layout; json?: boolean }) => {
      setExit(await convertCommand({ input, output, layout: o.layout, json: Boolean(o.json) }, io));
    });

  program
    .command('verify')
    .description('check a model against golden outputs, or a converted model against its Brevitas original')
    .argument('<models...>', 'MODEL (with --expected), or ORIGINAL CONVERTED')
    .option('--inputs <files...>', 'model inputs: .npy files in graph-input order, or one .npz')
    .option('--expected <files...>', 'expected outputs: .npy files in graph-output order (or --outputs order), or one .npz')
    .option('--outputs <names...>', 'compare only these graph outputs')
    .option('--tolerance-lsb <values...>', 'accepted difference in LSB of the output quantizer: N for all outputs, NAME=N for one', tolerance, [])
    .option('--tolerance-abs <values...>', 'accepted absolute difference (float outputs such as logits): X for all, NAME=X for one', tolerance, [])
    .option('--strict', 'demand bit equality: no certified ties, no tolerance')
    .addOption(
      new Option('--level <levels...>', 'onnxruntime graph optimization level(s) to run')
        .choices(OPTIMIZATION_LEVELS)
        .default([...OPTIMIZATION_LEVELS]),
    )
    .option('--seed <n>', 'seed of the random inputs (reference mode)', nonNegative, 1)
    .option('--sequence-length <n>', 'time steps of the random inputs (reference mode)', positive)
    .option('--batch <n>', 'batch size of the random inputs (reference mode)', positive)
    .option('--cast-inputs', 'convert float64 or integer input arrays to float32 instead of refusing them')
    .option('--json', 'print the report as JSON')
    .option('--report <file>', 'also write the report as JSON (schema version 1) to FILE')
    .option('--junit <file>', 'also write the result as JUnit XML to FILE')
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .action(async (models: string[], o: VerifyFlags) => {
      setExit(
        await verifyCommand(
          {
            models,
            inputs: o.inputs ?? [],
            expected: o.expected ?? [],
            outputs: o.outputs ?? [],
            toleranceLsb: o.toleranceLsb,
            toleranceAbs: o.toleranceAbs,
            strict: Boolean(o.strict),
            levels: o.level,
            seed: o.seed,
            castInputs: Boolean(o.castInputs),
            json: Boolean(o.json),
            progress: Boolean(o.progress),
            ...(o.report ? { report: o.report } : {}),
            ...(o.junit ? { junit: o.junit } : {}),
            ...(o.sequenceLength ? { sequenceLength: o.sequenceLength } : {}),
            ...(o.batch ? { batch: o.batch } : {}),
          },
          io,
        ),
      );
    });

  program
    .command('inspect')
    .description('show the inputs, outputs and LSTM cells of a Brevitas export or a converted model')
    .argument('<model>', 'model (.onnx)')
    .option('--json', 'print as JSON')
    .action(async (model: string, o: { json?: boolean }) => {
      setExit(await inspectCommand({ model, json: Boolean(o.json) }, io));
    });
  return program;
}

interface VerifyFlags {
  inputs?: string[];
  expected?: string[];
  outputs?: string[];
  toleranceLsb: string[];
  toleranceAbs: string[];
  strict?: boolean;
  level: OptimizationLevel[];
  seed: number;
  sequenceLength?: number;
  batch?: number;
  castInputs?: boolean;
  json?: boolean;
  report?: string;
  junit?: string;
  progress?: boolean;
}

/** One `X` or `NAME=X` of --tolerance-lsb / --tolerance-abs, collected. */
function tolerance(text: string, previous: string[]): string[] {
  const value = text.slice(text.lastIndexOf('=') + 1);
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || text.startsWith('=')) {
    throw new InvalidArgumentError('expected a number of 0 or more (such as 1e-6), or NAME=NUMBER for one output');
  }
  return [...previous, text];
}

function nonNegative(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number of 0 or more');
  return n;
}

function positive(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return n;
}
