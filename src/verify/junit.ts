import { describeElement, formatNumber } from './elements.js';
import type { LevelReport, OutputReport, VerifyReport } from './report.js';

/**
 * The report as JUnit XML, for CI systems that show test results: one test case per output
 * and level (failing with its first unexplained element), and one per level for the
 * agreement of repeated onnxruntime runs. Deterministic: no timestamps or durations.
 * Written by hand: it is a handful of elements, and escaping is the only subtle part.
 */
export function junitXml(report: VerifyReport): string {
  const cases = report.levels.flatMap((level) => [...level.outputs.map((o) => outputCase(level, o)), runsCase(level)]);
  const failures = cases.filter((c) => c.failure).length;
  const suite = `qlstm verify ${report.mode === 'reference' ? `${report.original} ${report.model}` : report.model}`;
  const properties: [string, string][] = [
    ['qlstm', report.qlstm],
    ['onnxruntime', report.onnxruntime],
    ['mode', report.mode],
    ['model', report.model],
    ...(report.original === undefined ? [] : [['original', report.original] as [string, string]]),
    ['strict', String(report.strict)],
    ...report.checked.map((c): [string, string] => ['checked', c]),
    ...report.notChecked.map((c): [string, string] => ['not checked', c]),
  ];
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="qlstm verify" tests="${cases.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="${attribute(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property name="${attribute(name)}" value="${attribute(value)}"/>`),
    '    </properties>',
  ];
  for (const c of cases) {
    const open = `    <testcase classname="qlstm.verify.${attribute(c.level)}" name="${attribute(c.name)}"`;
    if (!c.failure) lines.push(`${open}/>`);
    else {
      lines.push(`${open}>`);
      lines.push(`      <failure type="${c.failure.type}" message="${attribute(c.failure.message)}">${text(c.failure.details)}</failure>`);
      lines.push('    </testcase>');
    }
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

interface Case {
  level: string;
  name: string;
  failure: { type: string; message: string; details: string } | null;
}

function outputCase(level: LevelReport, o: OutputReport): Case {
  const name = `${o.name} (${level.level})`;
  if (o.passed) return { level: level.level, name, failure: null };
  const first = o.unexplained.first;
  const message = first
    ? `${o.unexplained.count} unexplained element(s) of ${o.elements}; first at ${describeElement(first)}`
    : `${o.unexplained.count} unexplained element(s) of ${o.elements}`;
  const details = [
    `shape [${o.shape.join(', ')}], expected [${o.expectedShape.join(', ')}]`,
    `exact ${o.exact} of ${o.elements} (${o.percentExact.toFixed(2)}%), within tolerance ${o.withinTolerance}, certified ties ${o.ties.count}, unexplained ${o.unexplained.count}`,
    `max error ${formatNumber(o.maxErrorLsb)} LSB, ${formatNumber(o.maxErrorAbs)} absolute; LSB ${o.lsb ?? 'none (float output)'}`,
    `judged: ${o.analysis}`,
  ].join('\n');
  return { level: level.level, name, failure: { type: 'unexplained', message, details } };
}

function runsCase(level: LevelReport): Case {
  const name = `onnxruntime gives the same results on every run (${level.level})`;
  if (level.runsAgree) return { level: level.level, name, failure: null };
  const d = level.runDisagreements[0]!;
  const message = `run ${d.run} of the session at level ${level.level} differs from run 1 in ${d.elements} element(s) of ${d.output} (${d.model})`;
  const details = level.runDisagreements.map((x) => `run ${x.run}: ${x.output}: ${x.elements} element(s) (${x.model})`).join('\n');
  return { level: level.level, name, failure: { type: 'nondeterministic runtime', message, details } };
}

/** XML 1.0 forbids most control characters even escaped: they become U+FFFD. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function text(s: string): string {
  return clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attribute(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}
