import chalk from 'chalk';
import type { ErrorLocation, QlstmError } from '../errors.js';

/** Where a command writes: stdout for results, stderr for the one-line error. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/**
 * stdout and stderr of the process. A reader that goes away (`qlstm verify ... | head -1`)
 * is not an error of qlstm's: once a stream reports EPIPE, further text for it is dropped
 * and the exit code stays the command's.
 */
export const processOutput: Output = {
  out: (text) => write(process.stdout, text),
  err: (text) => write(process.stderr, text),
};

const closed = new WeakSet<NodeJS.WriteStream>();
const watched = new WeakSet<NodeJS.WriteStream>();

function write(stream: NodeJS.WriteStream, text: string): void {
  if (!watched.has(stream)) {
    watched.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      closed.add(stream);
    });
  }
  if (closed.has(stream)) return;
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

export const style = {
  ok: (s: string) => chalk.green(s),
  bad: (s: string) => chalk.red(s),
  dim: (s: string) => chalk.dim(s),
  strong: (s: string) => chalk.bold(s),
};

/**
 * JSON with the characters JSON.stringify leaves raw but terminals act on (DEL, C1
 * controls, line separators, bidirectional overrides) written as \u escapes: the same
 * values for a parser, nothing a model's names can do to a screen.
 */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A failure as the CLI reports it. */
export interface Failure {
  exitCode: number;
  kind: QlstmError['kind'];
  /** the line printed on stderr after "qlstm: ", control characters escaped, at most MESSAGE_LIMIT characters */
  message: string;
  at?: ErrorLocation;
}

/** Version of the JSON error object; changes only when a field changes meaning or goes away. */
export const ERROR_SCHEMA = 'qlstm.error/1';

/**
 * The JSON printed on stdout for a failure under --json:
 * `{"schema": "qlstm.error/1", "error": {"code", "kind", "message", "file", "node", "input", "role"}}`,
 * with null for a location that does not apply.
 */
export function errorJson(failure: Failure): string {
  const at = failure.at ?? {};
  return json({
    schema: ERROR_SCHEMA,
    error: {
      code: failure.exitCode,
      kind: failure.kind,
      message: failure.message,
      file: at.file ?? null,
      node: at.node ?? null,
      input: at.input ?? null,
      role: at.role ?? null,
    },
  });
}
