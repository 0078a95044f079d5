import chalk from 'chalk';

/** Where a command writes: stdout for results, stderr for the one-line error. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

export const style = {
  ok: (s: string) => chalk.green(s),
  bad: (s: string) => chalk.red(s),
  dim: (s: string) => chalk.dim(s),
  strong: (s: string) => chalk.bold(s),
};

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
