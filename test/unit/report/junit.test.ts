// junit.xml: one test case per scenario × strategy × budget, failures and errors where they belong.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderJunit, xmlEscape } from '../../../harness/report/junit.js';
import { sampleReport } from '../../helpers/report-fixtures.js';

describe('junit.xml', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-junit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has one test case per scenario × strategy × budget; budget failures as <failure>, died runs as <error>', () => {
    const r = sampleReport();
    const xml = renderJunit(r);
    const expectedTests = r.runs.reduce((a, run) => a + Math.max(1, run.budgets.length), 0);
    const expectedErrors = r.runs.filter((run) => run.status !== 'ok').reduce((a, run) => a + Math.max(1, run.budgets.length), 0);
    const expectedFailures = r.runs.filter((run) => run.status === 'ok').reduce((a, run) => a + run.budgets.filter((b) => !b.ok).length, 0);
    expect(xml.match(/<testcase /g)).toHaveLength(expectedTests);
    expect(xml.match(/<failure /g)).toHaveLength(expectedFailures);
    expect(xml.match(/<error /g)).toHaveLength(expectedErrors);
    expect(xml).toMatch(
      new RegExp(
        `<testsuites name="cellbudget" tests="${expectedTests}" failures="${expectedFailures}" errors="${expectedErrors}" time="[0-9.]+">`,
      ),
    );
    expect(xml.match(/<testsuite /g)).toHaveLength(r.scenarios.length);
    expect(xml).toContain('name="eager: peak ≤ 400 GB" classname="cellbudget.tahoe-sciplex-2x132GB"');
    expect(xml).toContain('exceeds the budget of 150 GB &amp; &lt;more&gt;.');
    // ANSI escapes from stderr are not legal XML characters.
    expect(xml).not.toContain('\u001b');
    expect(xmlEscape('a"b\'<&>\u0007')).toBe('a&quot;b&apos;&lt;&amp;&gt;');
  });
});
