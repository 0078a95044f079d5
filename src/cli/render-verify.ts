import { describeElement, formatNumber } from '../verify/elements.js';
import type { OutputReport, TieSample, VerifyReport } from '../verify/report.js';
import { style } from './output.js';

const BARS = '▁▂▃▄▅▆▇█';
const CHART_WIDTH = 60;

/**
 * One character per time step (or per group of steps, at most 60): '·' where every element
 * is exact, else a bar whose height is the step's largest error relative to the worst step.
 */
export function sparkline(values: readonly number[], width = CHART_WIDTH): string {
  const groups = Math.min(width, values.length);
  const max = Math.max(0, ...values);
  let line = '';
  for (let g = 0; g < groups; g++) {
    const from = Math.floor((g * values.length) / groups);
    const to = Math.floor(((g + 1) * values.length) / groups);
    const worst = Math.max(...values.slice(from, to));
    line += worst === 0 ? '·' : BARS[Math.min(BARS.length - 1, Math.floor((worst / max) * (BARS.length - 1)))];
  }
  return line;
}

function describeTie(t: TieSample): string {
  const by = t.takenBy ? `, taken by the ${t.takenBy === 'model' ? "model's" : "goldens'"} trajectory` : '';
  return `${t.cell} time ${t.step}, batch ${t.batch}, unit ${t.unit}: ${t.quantizer} codes ${t.codes[0]}/${t.codes[1]}, ${formatNumber(t.distanceUlps)} ulps from the boundary${by}`;
}

function row(level: string, o: OutputReport): string[] {
  const shape = o.shape.join('x') === o.expectedShape.join('x') ? `[${o.shape.join(', ')}]` : `[${o.shape.join(', ')}] vs [${o.expectedShape.join(', ')}]`;
  return [
    o.name,
    shape,
    level,
    `${o.percentExact.toFixed(2)}%`,
    String(o.ties.count),
    String(o.unexplained.count),
    formatNumber(o.maxErrorLsb),
    formatNumber(o.maxErrorAbs),
    o.passed ? style.ok('ok') : style.bad('FAIL'),
  ];
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => stripAnsi(r[c]!).length)));
  return rows.map((r) => '  ' + r.map((cell, c) => cell + ' '.repeat(widths[c]! - stripAnsi(cell).length)).join('  ').trimEnd());
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

function sameResult(a: OutputReport, b: OutputReport): boolean {
  return a.exact === b.exact && a.ties.count === b.ties.count && a.unexplained.count === b.unexplained.count && a.maxErrorLsb === b.maxErrorLsb && a.maxErrorAbs === b.maxErrorAbs && a.passed === b.passed;
}

/** " (12 differences are certified ties)" when ties explain some differences, else "". */
function tieNote(report: VerifyReport): string {
  // Counted per cell trajectory: several outputs (hidden states, last states) show the same tie.
  const ties = Math.max(0, ...report.levels.map((l) => l.cells.reduce((n, c) => n + c.ties, 0)));
  return ties ? ` (the trajectories took ${ties} certified tie(s) the other way)` : '';
}

export function renderVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  const against = report.mode === 'golden' ? 'expected outputs' : `the reference cell and the rest of ${report.original}`;
  const tolerance = report.strict ? 'strict (bit equality)' : `tolerance ${report.tolerance.lsb} LSB${report.tolerance.abs ? `, ${report.tolerance.abs} absolute` : ''}${Object.keys(report.tolerance.perOutput).length ? ' (some per output)' : ''}`;
  lines.push(`verify ${report.model} against ${against}; ${tolerance}; qlstm ${report.qlstm}, onnxruntime ${report.onnxruntime}`);
  const rows = [['output', 'shape', 'level', 'exact', 'ties', 'unexplained', 'max LSB', 'max abs', '']];
  const names = [...new Set(report.levels.flatMap((l) => l.outputs.map((o) => o.name)))];
  const perLevelOf = (name: string) =>
    report.levels.flatMap((l) => {
      const output = l.outputs.find((o) => o.name === name);
      return output ? [{ level: l.level, output }] : [];
    });
  for (const name of names) {
    const perLevel = perLevelOf(name);
    const first = perLevel[0]!.output;
    if (perLevel.every(({ output }) => sameResult(output, first))) rows.push(row(perLevel.length > 1 ? `all ${perLevel.length} levels` : perLevel[0]!.level, first));
    else for (const p of perLevel) rows.push(row(p.level, p.output));
  }
  lines.push(...table(rows));

  for (const name of names) {
    const perLevel = perLevelOf(name);
    const worst = perLevel.reduce((a, b) => ((b.output.maxErrorLsb ?? b.output.maxErrorAbs) > (a.output.maxErrorLsb ?? a.output.maxErrorAbs) ? b : a));
    const steps = worst.output.maxErrorPerStep;
    if (steps && steps.length) {
      const unit = worst.output.lsb !== null ? 'LSB' : 'abs';
      lines.push(`  ${name}: error per time step (${worst.level}): ${sparkline(steps)} max ${formatNumber(Math.max(0, ...steps))} ${unit}`);
    }
    const tied = perLevel.find((p) => p.output.ties.samples.length);
    if (tied) lines.push(`  ${name}: ${tied.output.ties.count} certified tie(s) (${tied.level}), first at ${describeTie(tied.output.ties.samples[0]!)}`);
    const failing = perLevel.find((p) => p.output.unexplained.first);
    if (failing) lines.push(`  ${name}: first unexplained (${failing.level}) at ${describeElement(failing.output.unexplained.first!)}`);
    else {
      const differing = perLevel.find((p) => p.output.firstMismatch);
      if (differing) lines.push(`  ${name}: first difference (${differing.level}) at ${describeElement(differing.output.firstMismatch!)}`);
    }
  }
  for (const level of report.levels) {
    for (const d of level.runDisagreements) {
      lines.push(style.bad(`  onnxruntime gave different results on run ${d.run} of the session at level ${level.level}: ${d.output} differs from run 1 in ${d.elements} element(s) (${d.model})`));
    }
  }
  for (const c of report.checked) lines.push(`  checked: ${c}`);
  for (const c of report.notChecked) lines.push(`  not checked: ${c}`);
  const levels = report.levels.map((l) => l.level).join(', ');
  lines.push(
    report.passed
      ? style.ok(`PASS: ${names.length} output(s) ${report.strict ? 'bit-equal' : 'within tolerance'} at ${levels}${tieNote(report)}`)
      : style.bad(`FAIL: unexplained differences at ${report.levels.filter((l) => !l.passed).map((l) => l.level).join(', ')}`),
  );
  return lines.join('\n');
}
