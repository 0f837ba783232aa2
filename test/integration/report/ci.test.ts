import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareReports, medianRuns, type Tier } from '../../../harness/report/compare.js';
import { renderJunit, xmlEscape } from '../../../harness/report/junit.js';
import { renderMarkdown } from '../../../harness/report/markdown.js';
import { createProgress, progressWanted, underCi } from '../../../harness/run/progress.js';
import type { Report } from '../../../src/core/report.js';
import { writeReportDir } from '../../../harness/report/write-report.js';
import { main } from '../../../src/cli/main.js';
import { MAIN, reproject, sampleReport, scaleRun } from '../../helpers/report-fixtures.js';
import { capture } from '../../helpers/cli.js';

const PY = '/usr/bin/python3';

describe('report.md', () => {
  it('has one row per scenario × strategy with projected and measured figures and ✅/❌ budgets', () => {
    const r = sampleReport();
    const md = renderMarkdown(r);
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Scenario'));
    expect(rows).toHaveLength(r.runs.length);
    const seq = rows.find((l) => l.includes(`| ${MAIN} | sequential |`));
    // The projection with the half-width of its interval; what was measured at the scenario's scale in small type.
    expect(seq).toMatch(/\| 332 GB ±\d\.\d% <sub>\(332 MB at 0\.001\)<\/sub> \|/);
    expect(md).toContain('projected from a ladder of scales (0.001, 0.0005, 0.00025)');
    expect(seq).toContain('✅ peak ≤ 400 GB');
    const eager = rows.find((l) => l.includes(`| ${MAIN} | eager |`));
    expect(eager).toContain('❌ peak ≤ 400 GB');
    // n-datasets-N2 / eager peaks at exactly 400 GB: its interval straddles the budget.
    expect(md).toContain('❌ **4 of 12 budget checks failed**, 1 uncertain, 1 run did not finish');
    expect(rows.find((l) => l.includes('| n-datasets-N2 | eager |'))).toContain('❔ peak ≤ 400 GB (uncertain)');
    expect(md).toMatch(/💥 died in prepare d3/);
  });

  it('shows the change against a baseline with warn/fail marks', () => {
    const r = sampleReport();
    const base = scaleRun(scaleRun(r, MAIN, 'sequential', 1 / 1.2), MAIN, 'streaming', 1 / 1.07);
    const md = renderMarkdown(r, { baseline: base });
    expect(md).toContain('| Δ peak | Δ final |');
    const seq = md.split('\n').find((l) => l.includes(`| ${MAIN} | sequential |`));
    expect(seq).toMatch(/\+20\.0% ❌ \| \+20\.0% ❌ \|$/);
    const str = md.split('\n').find((l) => l.includes(`| ${MAIN} | streaming |`));
    expect(str).toMatch(/\+7\.0% ⚠️/);
    expect(md).toContain('Against the baseline: 2 at the fail tier (over +10% or did not finish) ❌, 1 at the warn tier (over +5%) ⚠️.');
    expect(md).toContain('exceeds the budget of 150 GB &amp; &lt;more&gt;.');
  });

  it('escapes table syntax in names', () => {
    const r = sampleReport();
    r.runs = r.runs.slice(0, 1);
    if (r.runs[0]) r.runs[0].scenario = 'a|b';
    expect(renderMarkdown(r)).toContain('| a\\|b |');
  });
});

// The shape of the Jenkins/Ant JUnit schema (junit-10.xsd) that CI systems read.
const JUNIT_XSD = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="failure"><xs:complexType mixed="true"><xs:attribute name="type" type="xs:string"/><xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>
  <xs:element name="error"><xs:complexType mixed="true"><xs:attribute name="type" type="xs:string"/><xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>
  <xs:element name="skipped"><xs:complexType mixed="true"><xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>
  <xs:element name="system-out" type="xs:string"/>
  <xs:element name="system-err" type="xs:string"/>
  <xs:element name="property"><xs:complexType><xs:attribute name="name" type="xs:string" use="required"/><xs:attribute name="value" type="xs:string" use="required"/></xs:complexType></xs:element>
  <xs:element name="properties"><xs:complexType><xs:sequence><xs:element ref="property" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="testcase"><xs:complexType>
    <xs:sequence><xs:choice minOccurs="0" maxOccurs="unbounded"><xs:element ref="skipped"/><xs:element ref="error"/><xs:element ref="failure"/><xs:element ref="system-out"/><xs:element ref="system-err"/></xs:choice></xs:sequence>
    <xs:attribute name="name" type="xs:string" use="required"/><xs:attribute name="assertions" type="xs:string"/><xs:attribute name="time" type="xs:decimal"/><xs:attribute name="classname" type="xs:string"/><xs:attribute name="status" type="xs:string"/>
  </xs:complexType></xs:element>
  <xs:element name="testsuite"><xs:complexType>
    <xs:sequence><xs:element ref="properties" minOccurs="0"/><xs:element ref="testcase" minOccurs="0" maxOccurs="unbounded"/><xs:element ref="system-out" minOccurs="0"/><xs:element ref="system-err" minOccurs="0"/></xs:sequence>
    <xs:attribute name="name" type="xs:string" use="required"/><xs:attribute name="tests" type="xs:nonNegativeInteger" use="required"/><xs:attribute name="failures" type="xs:nonNegativeInteger"/><xs:attribute name="errors" type="xs:nonNegativeInteger"/>
    <xs:attribute name="time" type="xs:decimal"/><xs:attribute name="disabled" type="xs:nonNegativeInteger"/><xs:attribute name="skipped" type="xs:nonNegativeInteger"/>
    <xs:attribute name="timestamp"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"/></xs:restriction></xs:simpleType></xs:attribute>
    <xs:attribute name="hostname" type="xs:string"/><xs:attribute name="id" type="xs:string"/><xs:attribute name="package" type="xs:string"/>
  </xs:complexType></xs:element>
  <xs:element name="testsuites"><xs:complexType>
    <xs:sequence><xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
    <xs:attribute name="name" type="xs:string"/><xs:attribute name="time" type="xs:decimal"/><xs:attribute name="tests" type="xs:nonNegativeInteger"/><xs:attribute name="failures" type="xs:nonNegativeInteger"/><xs:attribute name="disabled" type="xs:nonNegativeInteger"/><xs:attribute name="errors" type="xs:nonNegativeInteger"/>
  </xs:complexType></xs:element>
</xs:schema>
`;

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

  it.skipIf(!existsSync(PY))('parses and validates against the JUnit schema', async () => {
    const xmlPath = join(dir, 'junit.xml');
    const xsdPath = join(dir, 'junit.xsd');
    await writeFile(xmlPath, renderJunit(sampleReport()));
    await writeFile(xsdPath, JUNIT_XSD);
    const script = `
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall('./testsuite/testcase')
print('parsed', len(cases), len(root.findall('.//failure')), len(root.findall('.//error')))
try:
    from lxml import etree
except ImportError:
    print('no-lxml'); sys.exit(0)
schema = etree.XMLSchema(etree.parse(sys.argv[2]))
doc = etree.parse(sys.argv[1])
print('valid' if schema.validate(doc) else 'invalid: ' + str(schema.error_log))
`;
    const res = spawnSync(PY, ['-c', script, xmlPath, xsdPath], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^parsed 12 3 1$/m);
    // CI installs python3-lxml: there the schema check must run, not skip.
    if (underCi()) expect(res.stdout, 'CI needs python3-lxml for the schema check').not.toContain('no-lxml');
    if (res.stdout.includes('no-lxml'))
      console.warn('report-ci: python3-lxml absent; schema validation skipped (well-formedness checked).');
    else expect(res.stdout).toMatch(/^valid$/m);
  });
});

describe('compare and median', () => {
  const tierOf = (factor: number, opts = { warn: 0.05, fail: 0.1 }): Tier => {
    const base = sampleReport();
    const next = scaleRun(base, MAIN, 'sequential', factor);
    const row = compareReports(base, next, opts).rows.find((x) => x.scenario === MAIN && x.strategy === 'sequential');
    return row?.tier ?? 'ok';
  };

  it('puts peak/final growth into ok, warn and fail tiers, and drops into improved', () => {
    expect(tierOf(1.03)).toBe('ok');
    expect(tierOf(1.07)).toBe('warn');
    expect(tierOf(1.12)).toBe('fail');
    expect(tierOf(0.9)).toBe('improved');
    expect(tierOf(1.07, { warn: 0.1, fail: 0.2 })).toBe('ok');
  });

  it('compares at full scale, refuses to compare across scales, ignores sub-threshold noise, and flags runs that die', () => {
    const base = sampleReport();
    // Measured ÷ scale at another scale differs by the fixed runtime cost ÷ scale (DESIGN §7): no comparison.
    const rescaled = structuredClone(base);
    for (const r of rescaled.runs) {
      r.scale *= 2;
      r.peak_bytes *= 2;
      r.final_bytes *= 2;
    }
    const across = compareReports(base, rescaled, { warn: 0.05, fail: 0.1 });
    expect(across.rows.filter((r) => r.note?.includes('scale changed')).length).toBe(base.runs.length - 1); // all but the run that died in both
    expect(across.problems.join(' ')).toMatch(/another scale than their baseline/);
    const same = compareReports(base, structuredClone(base), { warn: 0.05, fail: 0.1 });
    expect(same.failures).toBe(1); // only the run that died in both
    expect(same.rows.filter((r) => r.peak).every((r) => Math.abs(r.peak?.ratio ?? 1) < 1e-12)).toBe(true);

    const tiny = structuredClone(base);
    const t = tiny.runs.find((r) => r.scenario === MAIN && r.strategy === 'streaming');
    if (!t) throw new Error('fixture');
    t.final_bytes += 500_000; // +0.5 MB measured: noise under the default 1 MB floor
    for (const g of t.ladder?.rungs ?? []) g.final_bytes += 500_000 * (g.scale / t.scale);
    tiny.runs = tiny.runs.map((r) => (r === t ? reproject(r) : r));
    expect(compareReports(base, tiny).rows.find((r) => r.scenario === MAIN && r.strategy === 'streaming')?.final?.tier).toBe('ok');
    expect(
      compareReports(base, tiny, { warn: 0.001, fail: 0.002, min_delta_bytes: 0 }).rows.find(
        (r) => r.scenario === MAIN && r.strategy === 'streaming',
      )?.final?.tier,
    ).toBe('fail');

    const died = structuredClone(base);
    const d = died.runs.find((r) => r.scenario === MAIN && r.strategy === 'eager');
    if (!d) throw new Error('fixture');
    d.status = 'died';
    const c = compareReports(base, died);
    expect(c.rows.find((r) => r.scenario === MAIN && r.strategy === 'eager')).toMatchObject({
      tier: 'fail',
      note: expect.stringContaining('died'),
    });

    const fewer = structuredClone(base);
    fewer.runs = fewer.runs.filter((r) => r.strategy !== 'streaming');
    expect(compareReports(base, fewer).rows.find((r) => r.strategy === 'streaming')).toMatchObject({ presence: 'base-only', tier: 'warn' });
    expect(compareReports(fewer, base).rows.find((r) => r.strategy === 'streaming')).toMatchObject({ presence: 'next-only', tier: 'ok' });
  });

  it('merges repeated runs by the median and re-checks budgets on it', () => {
    const a = sampleReport();
    const b = scaleRun(a, MAIN, 'sequential', 1.3);
    const c = scaleRun(a, MAIN, 'sequential', 0.9);
    const m = medianRuns([b, a, c]);
    const seq = m.runs.find((r) => r.scenario === MAIN && r.strategy === 'sequential');
    const orig = a.runs.find((r) => r.scenario === MAIN && r.strategy === 'sequential');
    expect(seq?.peak_bytes).toBe(orig?.peak_bytes);
    expect(seq?.steps[5]?.peak_bytes).toBe(orig?.steps[5]?.peak_bytes);
    expect(seq?.budgets.find((x) => x.metric === 'peak')).toMatchObject({ ok: true, message: expect.stringContaining('median of 3 runs') });
    // Three runs over budget and close together: exceeded. Two of three over, one far below: the
    // median is over budget, but the runs' spread is noise the interval carries, so it is uncertain.
    const over = medianRuns([
      scaleRun(a, MAIN, 'sequential', 1.3),
      scaleRun(a, MAIN, 'sequential', 1.28),
      scaleRun(a, MAIN, 'sequential', 1.29),
    ]);
    expect(
      over.runs.find((r) => r.scenario === MAIN && r.strategy === 'sequential')?.budgets.find((x) => x.metric === 'peak'),
    ).toMatchObject({ ok: false, verdict: 'exceeded' });
    const spread = medianRuns([scaleRun(a, MAIN, 'sequential', 1.3), scaleRun(a, MAIN, 'sequential', 1.25), a]);
    const sp = spread.runs.find((r) => r.scenario === MAIN && r.strategy === 'sequential');
    expect(sp?.projected?.peak_bytes).toBeCloseTo(1.25 * 332e9, -6);
    expect(sp?.budgets.find((x) => x.metric === 'peak')).toMatchObject({ ok: true, verdict: 'uncertain' });
    // A death is never averaged away.
    const dead = structuredClone(a);
    const d = dead.runs.find((r) => r.scenario === MAIN && r.strategy === 'streaming');
    if (d) d.status = 'died';
    const md = medianRuns([a, dead, a]).runs.find((r) => r.scenario === MAIN && r.strategy === 'streaming');
    expect(md?.status).toBe('died');
    expect(md?.failure?.reason).toContain('(1 of 3 runs)');
  });
});

describe('cellbudget compare', () => {
  let dir: string;
  let basePath: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-compare-'));
    basePath = join(dir, 'base.json');
    await writeFile(basePath, JSON.stringify(sampleReport()));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const write = async (name: string, r: Report | string): Promise<string> => {
    const p = join(dir, name);
    await writeFile(p, typeof r === 'string' ? r : JSON.stringify(r));
    return p;
  };

  it('exits 0 within thresholds, 1 on a fail-tier regression, and prints a table', async () => {
    const ok = await write('ok.json', scaleRun(sampleReport(), MAIN, 'sequential', 1.07));
    const cap = capture();
    // The died run in the family fails in both; compare only the main scenario's runs.
    const only = (r: Report): Report => ({ ...r, runs: r.runs.filter((x) => x.scenario === MAIN) });
    await writeFile(basePath, JSON.stringify(only(sampleReport())));
    await writeFile(ok, JSON.stringify(only(scaleRun(sampleReport(), MAIN, 'sequential', 1.07))));
    expect(await main(['node', 'cellbudget', 'compare', basePath, ok], cap.io)).toBe(0);
    expect(cap.out()).toMatch(/sequential\s+332 GB ±[\d.]+% → 355\.2\d GB ±[\d.]+% \(\+7\.0%\)/);
    expect(cap.out()).toContain('WARN');

    const bad = await write('bad.json', only(scaleRun(sampleReport(), MAIN, 'sequential', 1.12)));
    const cap2 = capture();
    expect(await main(['node', 'cellbudget', 'compare', basePath, bad], cap2.io)).toBe(1);
    expect(cap2.out()).toContain('FAIL');
    const cap3 = capture();
    expect(await main(['node', 'cellbudget', 'compare', basePath, bad, '--fail', '15%', '--warn', '5%'], cap3.io)).toBe(0);

    const cap4 = capture();
    expect(await main(['node', 'cellbudget', 'compare', basePath, bad, '--json'], cap4.io)).toBe(1);
    const json = JSON.parse(cap4.out()) as { failures: number; rows: Array<{ strategy: string; tier: string }> };
    expect(json.failures).toBe(1);
    expect(json.rows.find((r) => r.strategy === 'sequential')?.tier).toBe('fail');
  });

  it('exits 2 on missing or invalid files and bad thresholds', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['node', 'cellbudget', 'compare', basePath, join(dir, 'nope.json')], /FILE_NOT_FOUND/],
      [['node', 'cellbudget', 'compare', basePath, await write('garbage.json', '{ not json')], /REPORT_INVALID.*not JSON/],
      [
        ['node', 'cellbudget', 'compare', basePath, await write('other.json', JSON.stringify({ version: 2, runs: [] }))],
        /REPORT_INVALID.*version/,
      ],
      [['node', 'cellbudget', 'compare', basePath, basePath, '--warn', '20%', '--fail', '10%'], /USAGE/],
      [['node', 'cellbudget', 'compare', basePath, basePath, '--warn', 'lots'], /USAGE/],
    ];
    for (const [argv, message] of cases) {
      const cap = capture();
      expect(await main(argv, cap.io), argv.join(' ')).toBe(2);
      expect(cap.err()).toMatch(message);
    }
  });
});

describe('report directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-dir-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes report.json, report.md, junit.xml, report.html and the PNGs, leaving no temporary files or stale charts', async () => {
    await writeFile(join(dir, 'timeline-gone.png'), 'stale');
    const r = sampleReport();
    const out = await writeReportDir(r, dir, { baseline: scaleRun(r, MAIN, 'eager', 0.5) });
    const names = (await readdir(dir)).sort();
    for (const f of [
      'report.json',
      'report.md',
      'junit.xml',
      'report.html',
      'timeline-tahoe-sciplex-2x132gb.png',
      'peaks-tahoe-sciplex-2x132gb.png',
      'family-n-datasets.png',
    ])
      expect(names).toContain(f);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(names).not.toContain('timeline-gone.png');
    expect(out.files[out.files.length - 1]).toBe(join(dir, 'report.json'));
    expect(JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'))).toEqual(r);
    expect(await readFile(join(dir, 'report.md'), 'utf8')).toContain('Δ peak');
    expect(out.comparison?.failures).toBeGreaterThan(0);
  });
});

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
