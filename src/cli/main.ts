import chalk from 'chalk';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { LAYOUTS, type Layout } from '../scan/scan.js';
import { ExitCode, printable, QlstmError } from '../errors.js';
import { OPTIMIZATION_LEVELS, type OptimizationLevel } from '../run/session.js';
import { parseToleranceItem } from '../verify/tolerance.js';
import { convertCommand } from './commands/convert.js';
import { inspectCommand } from './commands/inspect.js';
import { verifyCommand } from './commands/verify.js';
import { commandHelp, EXIT_CODES } from './help.js';
import { errorJson, processOutput, type Failure, type Output } from './output.js';
import { VERSION } from '../version.js';

/**
 * The only place that catches: runs one command line and turns every outcome into an exit
 * code and at most one line on stderr (plus a stack trace with --debug or QLSTM_DEBUG=1).
 * With --json a failure is also one JSON object on stdout (see errorJson).
 */
export async function main(argv: readonly string[], io: Output = processOutput, env = process.env): Promise<number> {
  let exitCode: number = ExitCode.ok;
  let debug = env.QLSTM_DEBUG === '1';
  if (env.NO_COLOR) chalk.level = 0; // https://no-color.org
  const end = argv.indexOf('--');
  const wantsJson = (end < 0 ? argv : argv.slice(0, end)).includes('--json');
  const program = buildProgram(io, (code) => (exitCode = code), (on) => (debug ||= on));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.ok;
      if (wantsJson) io.out(errorJson({ exitCode: ExitCode.usage, kind: 'usage', message: commanderMessage(error.message) }));
      return ExitCode.usage;
    }
    const failure = describeFailure(error);
    io.err(`qlstm: ${failure.message}`);
    if (debug) io.err(debugDetails(error));
    if (wantsJson) io.out(errorJson(failure));
    return failure.exitCode;
  }
}

function describeFailure(error: unknown): Failure {
  if (error instanceof QlstmError) {
    return { exitCode: error.exitCode, kind: error.kind, message: printable(error.message), at: error.at };
  }
  const message = printable(`internal error: ${(error as Error)?.message ?? String(error)} (this is a bug; rerun with --debug for details)`);
  return { exitCode: ExitCode.internal, kind: 'internal', message };
}

/** The stack without the message (already printed, escaped), then each cause, escaped too. */
function debugDetails(error: unknown): string {
  const lines: string[] = [];
  for (let e = error, depth = 0; e !== undefined && depth < 5; e = (e as Error)?.cause, depth++) {
    const text = e instanceof Error ? String(e.stack ?? e.message) : String(e);
    const head = e instanceof Error ? `${e.name}: ${e.message}` : text;
    const frames = text.startsWith(head) ? text.slice(head.length) : `\n${text}`;
    lines.push(`${depth ? 'caused by ' : ''}${printable(head)}${frames.split('\n').map((f) => printable(f, 1000)).join('\n')}`);
  }
  return lines.join('\n');
}

function commanderMessage(message: string): string {
  return printable(message.replace(/^error: /, ''));
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
      outputError: (s, write) => write(`qlstm: ${commanderMessage(s.trimEnd())}\n`),
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
    .option('--static-shapes', "keep the export's traced sequence length and batch (for FINN/qonnx); default: symbolic")
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'print the result as JSON (a failure too, on stdout)')
    .action(async (input: string, output: string, o: { layout: Layout; staticShapes?: boolean; json?: boolean; force?: boolean }) => {
      setExit(await convertCommand({ input, output, layout: o.layout, staticShapes: Boolean(o.staticShapes), json: Boolean(o.json), force: Boolean(o.force) }, io));
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

  for (const command of program.commands) command.addHelpText('after', commandHelp(command.name()));
  program.addHelpText('after', EXIT_CODES);
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
  if (parseToleranceItem(text) === null) {
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
