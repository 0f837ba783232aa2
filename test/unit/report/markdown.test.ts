// report.md: the table of runs with projected and measured figures, changes against a baseline.
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../../harness/report/markdown.js';
import { MAIN, sampleReport, scaleRun } from '../../helpers/report-fixtures.js';

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
