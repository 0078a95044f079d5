import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ExitCode } from '../src/errors.js';
import { ROOT } from './helpers/corpus.js';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function quickStartCommands(): string[] {
  const section = readme.split('## Quick start')[1]!.split('\n## ')[0]!;
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block.trim().split('\n');
}

describe('the README', () => {
  it('prints the two quick-start commands, and CI runs them exactly as printed', () => {
    const commands = quickStartCommands();
    assert.deepEqual(commands, ['npm ci && npm start', 'npm test']);
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8').split('\n');
    for (const command of commands) assert.ok(ci.includes(command), `.ci/run runs "${command}"`);
  });

  it('documents every exit code the CLI uses', () => {
    const table = readme.split('## Exit codes')[1]!.split('\n## ')[0]!;
    const documented = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    assert.deepEqual(documented.sort(), Object.values(ExitCode).sort());
  });

  it('names every runtime dependency and says why', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const section = readme.split('## Dependencies and why')[1]!.split('\n## ')[0]!;
    for (const name of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]) {
      assert.match(section, new RegExp('`' + name.replace('/', '\\/') + '`'), name);
    }
  });
});
