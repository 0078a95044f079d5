import fs from 'node:fs';
import { convert } from '../src/convert.js';

/**
 * Converts one file in a fresh process and reports the time of the conversion itself and the
 * process's peak resident memory, before and after: `node convert-probe.js FILE`.
 */
const file = process.argv[2]!;

/**
 * Peak resident memory of this process. Linux's VmHWM starts afresh with each program, where
 * getrusage's maxrss would carry over the peak of the (large) process that started this one.
 */
function peakResidentBytes(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux: fall back below
  }
  return process.resourceUsage().maxRSS * 1024;
}

const baseline = peakResidentBytes();
const bytes = fs.readFileSync(file);
const start = process.hrtime.bigint();
const result = convert(bytes, { source: file });
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const peak = peakResidentBytes();
process.stdout.write(JSON.stringify({ ms, fileBytes: bytes.length, outputBytes: result.bytes.length, baselineRss: baseline, peakRss: peak }));
