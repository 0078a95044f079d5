/**
 * Every failure qlstm reports is one of these classes. Library code throws them; only the
 * CLI entry point catches, prints `message` and exits with `exitCode`.
 */

export const ExitCode = {
  ok: 0,
  /** verify: the model's outputs differ from the expected ones */
  mismatch: 1,
  /** bad command line, or an input file that is missing, unreadable or not what it claims */
  usage: 2,
  /** a valid model that qlstm cannot convert (unsupported cell, quantizer or parameter) */
  unsupported: 3,
  /** a bug in qlstm */
  internal: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Where a problem is: the file, the node, and which of its inputs. */
export interface ErrorLocation {
  file?: string;
  node?: string;
  opType?: string;
  input?: number;
  /** what that input is, for example "output zero point" */
  role?: string;
}

/** Longest node name a message quotes in full; the rest of the line must stay readable. */
/** Longest node name (or other name from a model) a message quotes. */
export const NODE_NAME_LIMIT = 160;

function describeLocation(at: ErrorLocation): string {
  const parts: string[] = [];
  if (at.file !== undefined) parts.push(at.file);
  if (at.node !== undefined) parts.push(`node "${printable(at.node, NODE_NAME_LIMIT)}"${at.opType ? ` (${printable(at.opType, NODE_NAME_LIMIT)})` : ''}`);
  if (at.input !== undefined) parts.push(`input ${at.input}${at.role ? ` (${at.role})` : ''}`);
  else if (at.role !== undefined) parts.push(at.role);
  return parts.join(': ');
}

export abstract class QlstmError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  /** The error's kind in JSON reports (qlstm.error/1). */
  abstract readonly kind: 'usage' | 'input' | 'unsupported' | 'internal';
  readonly detail: string;
  readonly at: ErrorLocation;

  constructor(detail: string, at: ErrorLocation = {}, options?: { cause?: unknown }) {
    const where = describeLocation(at);
    super(where ? `${where}: ${detail}` : detail, options);
    this.detail = detail;
    this.at = at;
    this.name = new.target.name;
  }
}

/** Command-line misuse: unknown option, wrong number of files, output path equal to input. */
export class UsageError extends QlstmError {
  readonly exitCode = ExitCode.usage;
  readonly kind = 'usage';
}

/** A file that cannot be read or is not a valid instance of its format. */
export class InputError extends QlstmError {
  readonly exitCode = ExitCode.usage;
  readonly kind = 'input';
}

/** A readable model that qlstm does not know how to convert exactly. */
export class UnsupportedModelError extends QlstmError {
  readonly exitCode = ExitCode.unsupported;
  readonly kind = 'unsupported';
}

/** Something qlstm itself got wrong; always a bug. */
export class InternalError extends QlstmError {
  readonly exitCode = ExitCode.internal;
  readonly kind = 'internal';
}

/** Longest message qlstm prints for one failure. */
export const MESSAGE_LIMIT = 2000;

// C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional
// overrides and isolates that can make text display in another order than it is stored.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from a model or a command line made safe for one line of a terminal: control
 * characters shown as escapes (`\n`, `\x1b`, `\u202e`), so that a node name cannot start a
 * line of its own or recolour the screen, and cut to `limit` characters with "…".
 */
export function printable(text: string, limit = MESSAGE_LIMIT): string {
  const escaped = text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
  return [...escaped].length <= limit ? escaped : `${[...escaped].slice(0, limit - 1).join('')}…`;
}
