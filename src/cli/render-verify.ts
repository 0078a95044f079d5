import type { Mismatch, OutputReport } from '../verify/compare.js';
import type { VerifyReport } from '../verify/report.js';
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

function number(n: number | null): string {
  if (n === null) return '-';
  if (n === Infinity) return 'inf';
  return Number.isInteger(n) ? String(n) : n.toPrecision(3);
}

function describeMismatch(m: Mismatch): string {
  const where = m.axes ? m.index.map((i, k) => `${m.axes![k] ?? `axis ${k}`} ${i}`).join(', ') : `[${m.index.join(', ')}]`;
  const size = m.errorLsb !== null ? `${number(m.errorLsb)} LSB` : number(m.errorAbs);
  return `${where}: got ${m.got}, expected ${m.expected} (${size})`;
}

function row(level: string, o: OutputReport): string[] {
  const shape = o.shape.join('x') === o.expectedShape.join('x') ? `[${o.shape.join(', ')}]` : `[${o.shape.join(', ')}] vs [${o.expectedShape.join(', ')}]`;
  return [o.name, shape, level, `${o.percentExact.toFixed(2)}%`, number(o.maxErrorLsb), number(o.maxErrorAbs), o.passed ? style.ok('ok') : style.bad('FAIL')];
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => stripAnsi(r[c]!).length)));
  return rows.map((r) => '  ' + r.map((cell, c) => cell + ' '.repeat(widths[c]! - stripAnsi(cell).length)).join('  ').trimEnd());
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

export function renderVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  const against = report.mode === 'golden' ? 'expected outputs' : `the reference cell on ${report.original}'s parameters`;
  lines.push(`verify ${report.model} against ${against}; tolerance ${report.tolerance.lsb} LSB${report.tolerance.abs ? `, ${report.tolerance.abs} absolute` : ''}`);
  const rows = [['output', 'shape', 'level', 'exact', 'max LSB', 'max abs', '']];
  const names = report.levels[0]?.outputs.map((o) => o.name) ?? [];
  for (const name of names) {
    const perLevel = report.levels.map((l) => ({ level: l.level, output: l.outputs.find((o) => o.name === name)! }));
    const first = perLevel[0]!.output;
    const alike = perLevel.every(({ output: o }) => o.exact === first.exact && o.maxErrorLsb === first.maxErrorLsb && o.maxErrorAbs === first.maxErrorAbs && o.passed === first.passed);
    if (alike) rows.push(row(perLevel.length > 1 ? `all ${perLevel.length} levels` : perLevel[0]!.level, first));
    else for (const p of perLevel) rows.push(row(p.level, p.output));
  }
  lines.push(...table(rows));

  for (const name of names) {
    const perLevel = report.levels.map((l) => ({ level: l.level, output: l.outputs.find((o) => o.name === name)! }));
    const worst = perLevel.reduce((a, b) => ((b.output.maxErrorLsb ?? b.output.maxErrorAbs) > (a.output.maxErrorLsb ?? a.output.maxErrorAbs) ? b : a));
    const steps = worst.output.maxErrorPerStep;
    if (steps) {
      const unit = worst.output.lsb !== null ? 'LSB' : 'abs';
      lines.push(`  ${name}: error per time step (${worst.level}): ${sparkline(steps)} max ${number(Math.max(0, ...steps))} ${unit}`);
    }
    const failing = perLevel.find((p) => p.output.firstMismatch);
    if (failing) lines.push(`  ${name}: first difference (${failing.level}) at ${describeMismatch(failing.output.firstMismatch!)}`);
  }
  const outputs = names.length;
  const levels = report.levels.map((l) => l.level).join(', ');
  lines.push(
    report.passed
      ? style.ok(`PASS: ${outputs} output(s) within tolerance at ${levels}`)
      : style.bad(`FAIL: outputs differ at ${report.levels.filter((l) => !l.passed).map((l) => l.level).join(', ')}`),
  );
  return lines.join('\n');
}
