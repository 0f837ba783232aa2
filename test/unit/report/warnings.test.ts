// The reference's empty-test-split warning in the reports: said once per scenario, and reports without warnings still read.
import { describe, expect, it } from 'vitest';
import { reportSchema, type Report } from '../../../src/core/report.js';
import { renderHtml } from '../../../harness/report/html.js';
import { renderMarkdown } from '../../../harness/report/markdown.js';
import { sampleReport } from '../../helpers/report-fixtures.js';

describe("the reference's empty test split in the reports", () => {
  it('the reports say a warning once per scenario however many strategies and rungs repeat it, and read reports without warnings', async () => {
    const base = sampleReport();
    const text = 'first: With 3 unique split_by tuple(s) and ratios [0.5, 0.25, 0.25], the test split is empty';
    const scenario = base.runs[0]!.scenario;
    const report: Report = { ...base, runs: base.runs.map((run) => (run.scenario === scenario ? { ...run, warnings: [text] } : run)) };
    expect(report.runs.filter((run) => run.warnings).length).toBeGreaterThan(1);
    const md = renderMarkdown(report);
    expect(md.split('\n').filter((l) => l.includes(text))).toEqual([`- ${scenario} / ${text}`]);
    const html = await renderHtml(report);
    expect(html.match(/<ul id="warnings"[\s\S]*?<\/ul>/)?.[0].match(/<li>/g)).toHaveLength(1);
    expect(renderMarkdown(base)).not.toMatch(/Warnings/);
    // A report written before runs carried warnings still reads; one with them keeps them.
    expect(reportSchema.parse(JSON.parse(JSON.stringify(base))).runs.some((run) => 'warnings' in run)).toBe(false);
    expect(reportSchema.parse(JSON.parse(JSON.stringify(report))).runs[0]?.warnings).toEqual([text]);
  });
});
