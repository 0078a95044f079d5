import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { main } from '../src/cli/main.js';
import { corpusCase } from './helpers/corpus.js';

/**
 * Exit 4 is qlstm's own fault (README, exit codes). Anything thrown that is not one of qlstm's
 * typed errors is such a fault: here the output stream fails mid-command with a plain Error.
 */
describe('an unexpected exception is an internal error', () => {
  it('exit 4, one line on stderr that says it is a bug; with --json a JSON error too', async () => {
    const seed = corpusCase('seed_i10_h20').file('qcdq');
    for (const json of [false, true]) {
      let stderr = '';
      let stdout = '';
      let writes = 0;
      const io = {
        out: (s: string) => {
          // the first write (the command's result) fails; a --json error report afterwards goes through
          if (writes++ === 0) throw new Error('the stream broke');
          stdout += s;
        },
        err: (s: string) => void (stderr += s.endsWith('\n') ? s : `${s}\n`),
      };
      const code = await main(['--no-color', 'inspect', seed, ...(json ? ['--json'] : [])], io, {});
      assert.equal(code, 4, stderr);
      assert.equal(stderr, 'qlstm: internal error: the stream broke (this is a bug; rerun with --debug for details)\n');
      if (json) assert.deepEqual([JSON.parse(stdout).error.code, JSON.parse(stdout).error.kind], [4, 'internal']);
    }
  });
});
