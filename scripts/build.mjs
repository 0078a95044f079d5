#!/usr/bin/env node
// Builds dist/ from scratch with the project's own TypeScript (npm run build, prepare,
// pretest, prestart). A stale file in dist/ would otherwise ship in the package.
//
// `npm install -g git+...` runs prepare in a clone without its dev dependencies, because
// the global flag leaks into npm's own install of them (npm/cli#8440); then this script
// installs them itself, from the lock file, before building.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(path.join(root, 'package.json'));

function compiler() {
  let manifest;
  try {
    manifest = require.resolve('typescript/package.json');
  } catch {
    return undefined;
  }
  const { bin } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  return path.join(path.dirname(manifest), typeof bin === 'string' ? bin : bin.tsc);
}

function run(command, args, env = process.env) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!compiler()) {
  if (process.env.npm_config_global !== 'true') {
    console.error('qlstm build: TypeScript is not installed; run "npm ci" (it installs the dev dependencies) first');
    process.exit(1);
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(global|prefix|location)$/i.test(k)));
  run('npm', ['ci', '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund'], env);
}
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
run(process.execPath, [compiler(), '-p', '.']);
