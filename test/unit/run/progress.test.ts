// The progress line of `run`: plain lines off a terminal and under CI, one rewritten line on one.
import { describe, expect, it } from 'vitest';
import { createProgress, progressWanted, underCi } from '../../../harness/run/progress.js';
import { MAIN } from '../../helpers/report-fixtures.js';

describe('progress line', () => {
  it('draws no line off a terminal and under CI, but prints each logged line plainly', () => {
    expect(progressWanted({ write: () => true, isTTY: false }, {})).toBe(false);
    expect(progressWanted({ write: () => true, isTTY: true }, { CI: 'true' })).toBe(false);
    expect(progressWanted({ write: () => true, isTTY: true }, {})).toBe(true);
    // One reading of CI for the progress line, synth's bar and the tests that need CI's tools.
    expect(['true', '1', 'yes', 'TRUE'].map((CI) => underCi({ CI }))).toEqual([true, true, true, true]);
    expect(['', '0', 'false', 'False'].map((CI) => underCi({ CI }))).toEqual([false, false, false, false]);
    expect(underCi({})).toBe(false);
    let written = '';
    const p = createProgress({ stream: { write: (s: string) => (written += s), isTTY: false }, env: {} });
    p.startRun({ scenario: 's', strategy: 'eager' });
    p.step('load d1');
    p.log('s / eager: done');
    p.stop();
    expect(written).toBe('s / eager: done\n');
  });

  it('rewrites one line with scenario, strategy, step and elapsed time, and clears it at the end', () => {
    let written = '';
    let t = 1000;
    const p = createProgress({
      stream: { write: (s: string) => (written += s), isTTY: true, columns: 120 },
      env: {},
      now: () => t,
      intervalMs: 0,
    });
    p.startRun({ scenario: MAIN, strategy: 'sequential', run: 2, runs: 4 });
    t += 2500;
    p.step('prepare sciplex');
    const last = written.split('\r\u001b[2K').pop();
    expect(last).toBe(`[2/4]  ${MAIN}  sequential  › prepare sciplex  2.5s`);
    p.log('sequential: ok');
    expect(written).toContain('\r\u001b[2Ksequential: ok\n');
    p.stop();
    expect(written.endsWith('\r\u001b[2K')).toBe(true);
  });
});
