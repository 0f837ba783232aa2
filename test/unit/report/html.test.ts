// report.html is one self-contained file: Chart.js, the data and the chart specs inline.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../../harness/report/html.js';
import { reportChartSpecs } from '../../../harness/report/charts.js';
import { sampleReport, scaleRun, MAIN } from '../../helpers/report-fixtures.js';

describe('report.html', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-html-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is one self-contained file: Chart.js, data and specs inline, no external references', async () => {
    const report = sampleReport();
    const html = await renderHtml(report, { baseline: scaleRun(report, MAIN, 'sequential', 0.8) });
    expect(html).toContain('Content-Security-Policy');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).toContain('id="cellbudget-report"');
    expect(html).toContain('Δ peak');
    // Every chart has its canvas.
    for (const { spec } of reportChartSpecs(report)) expect(html).toContain(`id="${spec.id}"`);
  });
});
