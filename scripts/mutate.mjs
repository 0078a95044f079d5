#!/usr/bin/env node
// Mutation testing (issue #13, "Tests that bite"): plants each bug of mutations/mutations.json in
// the source, one at a time, rebuilds, runs the test files declared with it, and records whether a
// test that passes on the real code fails on the mutant (killed) or none does (survived).
//
//   npm run mutate [-- [options] [ID...]]
//     --full          run the whole suite for each mutation instead of its declared test files
//     --all-files     run every declared test file even after one has killed the mutant
//     --no-baseline   skip the run on the unmutated code (then any failing test counts as a kill)
//     --timeout S     seconds one test run may take before it is stopped (default 900; counts as a kill)
//     --json FILE     also write the results as JSON
//     --check         only check that every mutation applies exactly once, then exit
//     --list          print the mutations and exit
//
// Exit 0 when every mutation is killed, 1 when any survives, 2 when the list or the build is
// broken (a mutation that does not match exactly once, does not compile, or an unknown test file).
//
// A mutated file is never left behind: the original is restored in a `finally` and on SIGINT,
// SIGTERM and SIGHUP, and a journal (.scratch/mutate/journal.json) lets the next run restore it
// should this process be killed outright. Each mutant carries a `/* qlstm-mutant:ID */` marker, so
// a leftover is also found by test/bites-mutations.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const LIST = path.join(ROOT, 'mutations', 'mutations.json');
const JOURNAL = path.join(ROOT, '.scratch', 'mutate', 'journal.json');
const LOCK = path.join(ROOT, '.scratch', 'mutate', 'lock');
const MARKER = (id) => `/* qlstm-mutant:${id} */`;

function parseOptions(argv) {
  const o = { full: false, allFiles: false, baseline: true, timeout: 900, json: null, check: false, list: false, ids: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--full') o.full = true;
    else if (a === '--all-files') o.allFiles = true;
    else if (a === '--no-baseline') o.baseline = false;
    else if (a === '--check') o.check = true;
    else if (a === '--list') o.list = true;
    else if (a === '--timeout') o.timeout = Number(argv[++i]);
    else if (a === '--json') o.json = argv[++i];
    else if (a === '--help' || a === '-h') {
      const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
      console.log(lines.slice(4, lines.findIndex((l) => l.startsWith('// A mutated file'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else o.ids.push(...a.split(',').filter(Boolean));
  }
  if (!Number.isFinite(o.timeout) || o.timeout <= 0) usage('--timeout needs a number of seconds');
  if (o.json === undefined) usage('--json needs a file');
  return o;
}

function usage(problem) {
  console.error(`mutate: ${problem} (see npm run mutate -- --help)`);
  process.exit(2);
}

/** Reads and checks the list: every field present, ids unique, files and test files exist. */
function readMutations(file = LIST) {
  const problems = [];
  let list;
  try {
    list = JSON.parse(fs.readFileSync(file, 'utf8')).mutations;
  } catch (error) {
    return { mutations: [], problems: [`${path.relative(ROOT, file)}: ${error.message}`] };
  }
  if (!Array.isArray(list)) return { mutations: [], problems: ['mutations.json has no "mutations" array'] };
  const seen = new Set();
  for (const [k, m] of list.entries()) {
    const where = `mutation ${m?.id ?? `#${k}`}`;
    for (const key of ['id', 'layer', 'file', 'find', 'why']) if (typeof m?.[key] !== 'string' || m[key] === '') problems.push(`${where}: "${key}" must be a non-empty string`);
    if (typeof m?.replace !== 'string') problems.push(`${where}: "replace" must be a string (it may be empty)`);
    if (!Array.isArray(m?.tests) || m.tests.length === 0) problems.push(`${where}: "tests" must list at least one test file`);
    if (typeof m?.id !== 'string') continue;
    if (!/^[a-z0-9-]+$/.test(m.id)) problems.push(`${where}: an id is lower-case letters, digits and dashes`);
    if (seen.has(m.id)) problems.push(`${where}: the id is used twice`);
    seen.add(m.id);
    if (m.find === m.replace) problems.push(`${where}: "replace" equals "find"`);
    if (typeof m.file === 'string' && !fs.existsSync(path.join(ROOT, m.file))) problems.push(`${where}: ${m.file} does not exist`);
    for (const t of m.tests ?? []) {
      const { file: testFile } = splitTest(t);
      if (!/^test\/[^/]+\.test\.ts$/.test(testFile) || !fs.existsSync(path.join(ROOT, testFile))) problems.push(`${where}: test ${t} is not a test/*.test.ts file of the repository`);
    }
  }
  return { mutations: list, problems };
}

/** "test/x.test.ts" or "test/x.test.ts#name pattern" (node --test-name-pattern). */
function splitTest(entry) {
  const at = entry.indexOf('#');
  return at < 0 ? { file: entry, pattern: null } : { file: entry.slice(0, at), pattern: entry.slice(at + 1) };
}

function occurrences(text, find) {
  let count = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) count++;
  return count;
}

/** Every mutation must match its file exactly once: else the list has rotted, and says where. */
function checkMatches(mutations) {
  const problems = [];
  for (const m of mutations) {
    const text = fs.readFileSync(path.join(ROOT, m.file), 'utf8');
    const n = occurrences(text, m.find);
    if (n !== 1) problems.push(`mutation ${m.id}: its "find" text occurs ${n} times in ${m.file}, expected exactly once (update mutations/mutations.json)`);
  }
  return problems;
}

let applied = null; // { file, original }
let child = null;

function writeJournal(entry) {
  fs.mkdirSync(path.dirname(JOURNAL), { recursive: true });
  fs.writeFileSync(JOURNAL, JSON.stringify(entry));
}

function restore() {
  if (!applied) return;
  fs.writeFileSync(applied.file, applied.original);
  applied = null;
  fs.rmSync(JOURNAL, { force: true });
}

/** One run at a time per tree: two would restore each other's files. A lock of a dead process is stale. */
function takeLock() {
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  if (fs.existsSync(LOCK)) {
    const pid = Number(fs.readFileSync(LOCK, 'utf8'));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      // no such process: the lock is stale
    }
    if (alive) usage(`another mutate run (pid ${pid}) is working in this tree`);
  }
  fs.writeFileSync(LOCK, String(process.pid));
  process.on('exit', () => fs.rmSync(LOCK, { force: true }));
}

/** A previous run killed outright leaves its journal: put the original back before anything else. */
function recoverFromJournal() {
  if (!fs.existsSync(JOURNAL)) return;
  const entry = JSON.parse(fs.readFileSync(JOURNAL, 'utf8'));
  fs.writeFileSync(entry.file, entry.original);
  fs.rmSync(JOURNAL, { force: true });
  console.error(`mutate: restored ${path.relative(ROOT, entry.file)}, left mutated by a run that was stopped (dist/ may still hold the mutant: npm run build)`);
}

function leftoverMarkers() {
  const found = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && fs.readFileSync(p, 'utf8').includes('qlstm-mutant:')) found.push(path.relative(ROOT, p));
    }
  };
  walk(path.join(ROOT, 'src'));
  return found;
}

function onSignal(signal) {
  process.stderr.write(`\nmutate: ${signal}: stopping, restoring the source and rebuilding dist/\n`);
  if (child) killGroup(child);
  restore();
  build(true);
  process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[signal] ?? 0));
}

function tscPath() {
  const require = createRequire(path.join(ROOT, 'package.json'));
  const manifest = require.resolve('typescript/package.json');
  const { bin } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  return path.join(path.dirname(manifest), typeof bin === 'string' ? bin : bin.tsc);
}

/** tsc -p . into dist/ (clean: the project's own build script, which empties dist/ first). */
function build(clean = false) {
  const args = clean ? [path.join(ROOT, 'scripts', 'build.mjs')] : [tscPath(), '-p', '.'];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function killGroup(proc) {
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs one test file (node --test, TAP); returns the failing tests' full names. */
function runTests(files, pattern, timeoutSeconds) {
  const args = ['--test', '--test-reporter=tap', ...(pattern ? ['--test-name-pattern', pattern] : []), ...files];
  return new Promise((resolve) => {
    const started = Date.now();
    // its own process group, so that a timeout or a signal stops the tests' children too
    child = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutSeconds * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      child = null;
      resolve({ code, timedOut, failing: failingTests(out), seconds: (Date.now() - started) / 1000, tail: `${out}\n${err}`.trim().split('\n').slice(-15).join('\n') });
    });
  });
}

/** The failing leaf tests of a TAP stream, as "suite > test" (children print before their parents). */
function failingTests(tap) {
  const stack = [];
  const failing = [];
  const lines = tap.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const indent = line.length - line.trimStart().length;
    const depth = Math.floor(indent / 4);
    const subtest = /^\s*# Subtest: (.*)$/.exec(line);
    if (subtest) {
      stack.length = depth;
      stack[depth] = subtest[1];
      continue;
    }
    const notOk = /^\s*not ok \d+ - (.*?)(?: # .*)?$/.exec(line);
    if (!notOk) continue;
    let failureType = '';
    for (let j = i + 1; j < lines.length && j < i + 12; j++) {
      const m = /failureType: '(\w+)'/.exec(lines[j]);
      if (m) {
        failureType = m[1];
        break;
      }
      if (/^\s*\.\.\.$/.test(lines[j])) break;
    }
    if (failureType === 'subtestsFailed') continue;
    failing.push([...stack.slice(0, depth), notOk[1]].join(' > '));
  }
  return failing;
}

const distOf = (testFile) => path.join('dist', testFile.replace(/\.ts$/, '.js'));

/** Every built test file: what npm test runs. */
function allTestFiles() {
  return fs.readdirSync(path.join(ROOT, 'dist', 'test')).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join('dist', 'test', f));
}

async function runMutation(m, o, baselineFailures) {
  const file = path.join(ROOT, m.file);
  const original = fs.readFileSync(file, 'utf8');
  const started = Date.now();
  const result = { id: m.id, layer: m.layer, file: m.file, issue: m.issue ?? null, status: '', killedBy: null, failingTests: [], ranFiles: [], seconds: 0 };
  try {
    if (occurrences(original, m.find) !== 1) {
      result.status = 'no match';
      return result;
    }
    writeJournal({ file, original });
    applied = { file, original };
    fs.writeFileSync(file, original.replace(m.find, () => `${MARKER(m.id)}${m.replace}`));
    const built = build();
    if (!built.ok) {
      result.status = 'does not compile';
      result.killedBy = { run: 'tsc', test: built.output.split('\n').slice(0, 3).join(' | '), more: 0 };
      return result;
    }
    const runs = o.full ? [{ files: allTestFiles(), pattern: null, label: 'whole suite' }] : m.tests.map(splitTest).map((t, k) => ({ files: [distOf(t.file)], pattern: t.pattern, label: m.tests[k] }));
    for (const run of runs) {
      const r = await runTests(run.files, run.pattern, o.timeout);
      result.ranFiles.push({ label: run.label, seconds: r.seconds, code: r.code });
      const fresh = r.failing.filter((name) => !baselineFailures.has(name));
      let killer = null;
      if (r.timedOut) killer = { run: run.label, test: `timed out after ${o.timeout} s`, more: 0 };
      else if (fresh.length) killer = { run: run.label, test: fresh[0], more: fresh.length - 1 };
      else if (r.code !== 0 && r.failing.length === 0) killer = { run: run.label, test: `exit ${r.code} without a failing test (${r.tail.split('\n').pop()})`, more: 0 };
      if (killer) {
        result.killedBy ??= killer;
        result.failingTests.push(...fresh.map((name) => `${run.label}: ${name}`));
        if (!o.allFiles) break;
      }
    }
    result.status = result.killedBy ? 'killed' : 'SURVIVED';
    return result;
  } finally {
    restore();
    result.seconds = (Date.now() - started) / 1000;
  }
}

function formatSeconds(s) {
  const whole = Math.round(s);
  return s >= 60 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

/** "file: test (+n more)", the test named by its own name without the suites around it. */
function describeKiller(k, short = true) {
  if (!k) return '-';
  const test = short ? k.test.split(' > ').pop() : k.test;
  return `${k.run}: ${test}${k.more ? ` (+${k.more} more)` : ''}`;
}

function table(results) {
  const rows = [['#', 'mutation', 'layer', 'result', 'time', 'killed by (test file: first failing test)']];
  results.forEach((r, k) => rows.push([String(k + 1), r.id, r.layer, r.status, formatSeconds(r.seconds), describeKiller(r.killedBy)]));
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => (c === 5 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

async function main() {
  const o = parseOptions(process.argv.slice(2));
  takeLock();
  recoverFromJournal();
  const leftovers = leftoverMarkers();
  if (leftovers.length) usage(`mutant markers found in ${leftovers.join(', ')}: restore them (git checkout) first`);

  const { mutations: all, problems } = readMutations();
  problems.push(...(problems.length ? [] : checkMatches(all)));
  const unknown = o.ids.filter((id) => !all.some((m) => m.id === id));
  if (unknown.length) problems.push(`no mutation named ${unknown.join(', ')}`);
  if (problems.length) {
    for (const p of problems) console.error(`mutate: ${p}`);
    process.exit(2);
  }
  const mutations = o.ids.length ? all.filter((m) => o.ids.includes(m.id)) : all;
  if (o.list) {
    for (const m of mutations) console.log(`${m.id.padEnd(34)} ${m.layer.padEnd(10)} ${m.file}\n${''.padEnd(34)} ${m.why}\n${''.padEnd(34)} tests: ${m.tests.join(', ')}`);
    return 0;
  }
  if (o.check) {
    console.log(`mutate: all ${all.length} mutations apply exactly once`);
    return 0;
  }

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => onSignal(signal));
  const started = Date.now();
  console.log(`mutate: ${mutations.length} mutation(s), ${o.full ? 'the whole suite' : 'declared test files'} for each; building`);
  const clean = build(true); // from an empty dist/: a stale test file must not run
  if (!clean.ok) {
    console.error(`mutate: the unmutated source does not build:\n${clean.output}`);
    return 2;
  }

  // Tests that fail on the real code kill nothing: a run records them first.
  const baselineFailures = new Set();
  if (o.baseline) {
    const entries = o.full ? [{ file: null, pattern: null }] : [...new Set(mutations.flatMap((m) => m.tests))].map(splitTest);
    const byFile = new Map();
    for (const e of entries) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e.pattern]);
    console.log(`mutate: baseline: ${o.full ? 'the whole suite' : `${byFile.size} test file(s)`} on the unmutated code`);
    for (const [file, patterns] of byFile) {
      const files = file === null ? allTestFiles() : [distOf(file)];
      const pattern = patterns.includes(null) ? null : patterns.join('|');
      const r = await runTests(files, pattern, o.timeout);
      for (const name of r.failing) baselineFailures.add(name);
      if (r.timedOut) console.error(`mutate: baseline: ${file ?? 'the suite'} timed out`);
    }
    if (baselineFailures.size) {
      console.log(`mutate: baseline: ${baselineFailures.size} test(s) fail on the unmutated code and are ignored:`);
      for (const name of baselineFailures) console.log(`  - ${name}`);
    }
  }

  const results = [];
  for (const [k, m] of mutations.entries()) {
    const r = await runMutation(m, o, baselineFailures);
    results.push(r);
    console.log(`[${k + 1}/${mutations.length}] ${r.status.padEnd(8)} ${m.id} (${formatSeconds(r.seconds)})${r.killedBy ? `: ${describeKiller(r.killedBy, false)}` : ''}`);
  }
  const rebuilt = build(true);
  if (!rebuilt.ok) console.error('mutate: the final clean build failed; run npm run build');

  const killed = results.filter((r) => r.status === 'killed').length;
  const survived = results.filter((r) => r.status === 'SURVIVED');
  const broken = results.filter((r) => r.status !== 'killed' && r.status !== 'SURVIVED');
  const seconds = (Date.now() - started) / 1000;
  console.log(`\n${table(results)}\n`);
  const summary = `mutate: ${killed}/${results.length} killed, ${survived.length} survived${broken.length ? `, ${broken.length} broken (${broken.map((r) => `${r.id}: ${r.status}`).join('; ')})` : ''} in ${formatSeconds(seconds)} (${o.full ? 'whole suite' : 'declared tests'}${o.baseline ? '' : ', no baseline'})`;
  console.log(summary);
  if (survived.length) console.log(`survivors: ${survived.map((r) => r.id).join(', ')}`);
  if (o.json) fs.writeFileSync(o.json, `${JSON.stringify({ summary, seconds, full: o.full, baselineFailures: [...baselineFailures], results }, null, 2)}\n`);
  return broken.length ? 2 : survived.length ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      restore();
      console.error(`mutate: ${error.stack ?? error}`);
      process.exit(2);
    },
  );
}
