#!/usr/bin/env node
// Builds dist/ from scratch with the project's own TypeScript (npm run build, prepare,
// pretest, prestart): a stale file left in dist/ would otherwise ship in the package.
// npm runs prepare for `npm ci` here, before `npm pack`, and for `npm install git+...`
// (with the dev dependencies installed); `npm install -g git+...` is broken in npm itself
// (npm/cli#8440), see the Install notes for the route that works.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(path.join(root, 'package.json'));

let manifest;
try {
  manifest = require.resolve('typescript/package.json');
} catch {
  console.error('qlstm build: TypeScript is not installed; run "npm ci" (it installs the dev dependencies) first');
  process.exit(1);
}
const { bin } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
const tsc = path.join(path.dirname(manifest), typeof bin === 'string' ? bin : bin.tsc);

fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
