import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { ROOT } from './corpus.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured output (fast; for most tests). */
export async function qlstm(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(['--no-color', ...argv], {
    out: (s) => (stdout += s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => (stderr += s.endsWith('\n') ? s : `${s}\n`),
  }, {});
  return { code, stdout, stderr };
}

/** Runs bin/qlstm.js as a separate process, as a user or a pipeline would. */
export function qlstmProcess(argv: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const run = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'qlstm.js'), ...argv], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

export function temporaryDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `qlstm-${label}-`));
}
