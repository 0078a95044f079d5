import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readModel } from '../src/onnx/files.js';
import { referenceCellsOf } from '../src/reference/from-export.js';
import { runReferenceCell } from '../src/reference/run.js';
import { followTrajectory } from '../src/reference/trajectory.js';
import type { ReferenceCell } from '../src/reference/types.js';

/**
 * node dist/bench/reference-speed.js [--steps T] [--batch B] [--old DIR --old-steps T']
 *
 * The reference on the corpus' two-layer H=512 model (big_l2_i256_h512) with seeded random
 * inputs: each layer's hidden states come from the free-running reference, then
 * followTrajectory checks both layers against them (what verify's reference mode does), on
 * one thread (cpu time) and on two (wall time).
 * With --old DIR (a build of qlstm 0.1, whose dist/src/reference/lstm-cell.js holds the
 * free-running reference of 0.1's reference mode), times that on T' steps too and
 * extrapolates linearly to T (its cost per step is constant).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argument = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const steps = argument('--steps', 2000);
const batch = argument('--batch', 4);
const oldAt = process.argv.indexOf('--old');
const oldDir = oldAt < 0 ? null : process.argv[oldAt + 1]!;
const oldSteps = argument('--old-steps', 100);

const model = readModel(path.join(ROOT, 'fixtures/brevitas-corpus/big_l2_i256_h512.qcdq-int.onnx'));
const cells = referenceCellsOf(model).map((r) => r.cell);

/** Seeded inputs on an 8-bit grid, as the export's input quantizer gives. */
function randomInput(length: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.round(((s / 2 ** 32) * 2 - 1) * 127) / 128;
  }
  return out;
}

const x0 = randomInput(steps * batch * cells[0]!.inputSize, 1);
const zeros = (c: ReferenceCell) => new Float32Array(batch * c.hiddenSize);

const cpu = () => process.cpuUsage().user / 1e6;
let started = performance.now();
let startedCpu = cpu();
const first = runReferenceCell(cells[0]!, x0, steps, batch, zeros(cells[0]!), zeros(cells[0]!));
const second = runReferenceCell(cells[1]!, first.hiddenStates, steps, batch, zeros(cells[1]!), zeros(cells[1]!));
const freeRun = (performance.now() - started) / 1000;
const freeRunCpu = cpu() - startedCpu;

const follow = (threads: number) => {
  started = performance.now();
  startedCpu = cpu();
  const reports = [
    followTrajectory(cells[0]!, { steps, batch, x: x0, h0: zeros(cells[0]!), c0: zeros(cells[0]!), observedHidden: first.hiddenStates, observedLastCell: first.lastCell }, { threads }),
    followTrajectory(cells[1]!, { steps, batch, x: first.hiddenStates, h0: zeros(cells[1]!), c0: zeros(cells[1]!), observedHidden: second.hiddenStates, observedLastCell: second.lastCell }, { threads }),
  ];
  return { reports, wall: (performance.now() - started) / 1000, cpu: cpu() - startedCpu };
};
const single = follow(1);
const parallel = follow(2);
console.log(`big_l2_i256_h512, T ${steps}, B ${batch}: free-running reference (2 layers, makes the observed states) ${freeRun.toFixed(1)} s (cpu ${freeRunCpu.toFixed(1)} s)`);
console.log(`followTrajectory (2 layers), 1 thread: ${single.wall.toFixed(1)} s (cpu ${single.cpu.toFixed(1)} s); 2 threads: ${parallel.wall.toFixed(1)} s (cpu ${parallel.cpu.toFixed(1)} s)`);
for (const r of single.reports) console.log(`  elements ${r.elements} nominal ${r.nominal} ties ${r.ties} certified ${r.certifiedTies} unexplained ${r.unexplained} last cell ${r.lastCell}`);
const trajectory = parallel.wall;
const trajectoryCpu = single.cpu;

if (oldDir) {
  const old = await import(pathToFileURL(path.join(oldDir, 'dist/src/reference/lstm-cell.js')).href);
  const x = x0.subarray(0, oldSteps * batch * cells[0]!.inputSize);
  started = performance.now();
  startedCpu = cpu();
  const a = old.runReferenceCell(cells[0], x, oldSteps, batch, zeros(cells[0]!), zeros(cells[0]!));
  old.runReferenceCell(cells[1], a.hiddenStates, oldSteps, batch, zeros(cells[1]!), zeros(cells[1]!));
  const seconds = (performance.now() - started) / 1000;
  const secondsCpu = cpu() - startedCpu;
  const extrapolated = (seconds * steps) / oldSteps;
  const extrapolatedCpu = (secondsCpu * steps) / oldSteps;
  console.log(`qlstm 0.1 reference (2 layers), T ${oldSteps}: ${seconds.toFixed(1)} s (cpu ${secondsCpu.toFixed(1)} s), extrapolated to T ${steps}: ${extrapolated.toFixed(0)} s (cpu ${extrapolatedCpu.toFixed(0)} s)`);
  console.log(`ratio old / followTrajectory: ${(extrapolatedCpu / trajectoryCpu).toFixed(1)}x in cpu time (1 thread), ${(extrapolated / trajectory).toFixed(1)}x in wall time (2 threads)`);
}
