import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { corpusCase, ROOT } from './helpers/corpus.js';
import { temporaryDir } from './helpers/cli.js';

const dir = temporaryDir('install');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const TWO_MB = 2 * 1024 * 1024;

/**
 * The environment of an npm run by this test: none of the npm_* variables `npm test` sets
 * (npm would read npm_config_local_prefix and others as its own configuration, and act
 * on this repository), except the cache, which `npm ci` has filled.
 */
function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
  return { ...env, NO_COLOR: '1', ...extra };
}

function run(command: string, args: string[], cwd: string, env = npmEnv()): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 5 * 60_000 });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe('the package', { timeout: 10 * 60_000 }, () => {
  let tarball = '';
  let project = '';

  it('packs into a small tarball with the built code, the sources, LICENSE and README only', () => {
    // --ignore-scripts: `npm test` has just built dist/; a rebuild here would rewrite the
    // files other test files are running from.
    const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
    const [info] = JSON.parse(r.stdout) as { filename: string; size: number; files: { path: string }[] }[];
    tarball = path.join(dir, info!.filename);
    assert.equal(info!.filename, `qlstm-${pkg.version}.tgz`);
    assert.ok(info!.size < TWO_MB, `${info!.size} bytes`);
    const files = info!.files.map((f) => f.path).sort();
    for (const required of ['LICENSE', 'README.md', 'package.json', 'bin/qlstm.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js']) {
      assert.ok(files.includes(required), required);
    }
    const outside = files.filter((f) => !/^(LICENSE|README\.md|package\.json|bin\/qlstm\.js|src\/.*\.ts|dist\/src\/.*\.(js|d\.ts|js\.map))$/.test(f));
    assert.deepEqual(outside, [], 'nothing else: no fixtures, tests, benchmarks or CI files');
    const sources = new Set(files.filter((f) => f.startsWith('src/')).map((f) => f.replace(/\.ts$/, '')));
    const stale = files.filter((f) => f.startsWith('dist/src/') && !sources.has(f.replace(/^dist\//, '').replace(/\.(js|d\.ts|js\.map)$/, '')));
    assert.deepEqual(stale, [], 'every built file has its source (run "npm run build" to clear dist/)');
    assert.ok(!pkg.private, 'publishable');
    assert.equal(pkg.license, 'MIT');
    assert.match(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4} qlstm contributors\n/);
  });

  it('installs offline from the npm cache, with the onnxruntime-node download skipped', () => {
    assert.ok(tarball, 'packed');
    // The lock file of a project that depends on the tarball: this repository's own
    // locked versions, so that npm needs nothing but the tarballs `npm ci` cached.
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    const packages: Record<string, unknown> = {
      '': { name: 'consumer', dependencies: { qlstm: `file:${tarball}` } },
      'node_modules/qlstm': {
        version: pkg.version,
        resolved: `file:${tarball}`,
        integrity: `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`,
        license: pkg.license,
        dependencies: pkg.dependencies,
        bin: pkg.bin,
        engines: pkg.engines,
      },
    };
    for (const [where, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
      if (where !== '' && !entry.dev) packages[where] = entry;
    }
    project = path.join(dir, 'consumer');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies: { qlstm: `file:${tarball}` } }));
    fs.writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }));
    run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--prefix', project], project, npmEnv({ ONNXRUNTIME_NODE_INSTALL: 'skip' }));
    assert.ok(fs.existsSync(path.join(project, 'node_modules', '.bin', 'qlstm')));
  });

  it('the installed qlstm converts and verifies the seed model', () => {
    assert.ok(project, 'installed');
    const bin = path.join(project, 'node_modules', '.bin', 'qlstm');
    assert.equal(run(bin, ['--version'], project).stdout.trim(), pkg.version);
    const seed = corpusCase('seed_i10_h20');
    const out = path.join(project, 'out', 'seed.onnx');
    const converted = run(bin, ['convert', seed.file('qcdq'), out], project);
    assert.match(converted.stdout, /^converted .* -> .*seed\.onnx \(\d+\.\d KiB\)\n/);
    const arrays = (files: { file: string }[]) => files.map((f) => path.join(path.dirname(seed.file('qcdq')), f.file));
    const verified = run(bin, ['verify', out, '--inputs', ...arrays(seed.meta.inputs), '--expected', ...arrays(seed.meta.outputs)], project);
    assert.match(verified.stdout, /^PASS: 3 output\(s\) within tolerance at disabled, basic, extended, all$/m);
  });

  it('npx qlstm runs the installed command', () => {
    const r = run('npx', ['--offline', '--no-install', 'qlstm', 'inspect', corpusCase('seed_i10_h20').file('qcdq'), '--json'], project);
    assert.equal(JSON.parse(r.stdout).kind, 'brevitas-export');
  });

  it("the installed library's convert does not load onnxruntime", () => {
    const script = `
      import fs from 'node:fs';
      import { convert } from 'qlstm';
      const { bytes } = convert(fs.readFileSync(${JSON.stringify(corpusCase('seed_i10_h20').file('qcdq'))}), { source: 'seed' });
      console.log(bytes.length > 0, fs.readFileSync('/proc/self/maps', 'utf8').includes('libonnxruntime'));
    `;
    const r = run(process.execPath, ['--input-type=module', '-e', script], project);
    assert.equal(r.stdout.trim(), 'true false');
  });
});
