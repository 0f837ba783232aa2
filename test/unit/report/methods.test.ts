// Every place that says what a measurement method's figures are says it in the same words:
// those of core/methods.ts. A surface that grows its own description again fails here.
import { describe, expect, it } from 'vitest';
import { METHOD_TEXT, baselineNote, methodText } from '../../../src/core/methods.js';
import { measureMethodSchema, type MeasureMethod, type Report } from '../../../src/core/report.js';
import { formatRunTable } from '../../../src/cli/run.js';
import { reportChartSpecs } from '../../../harness/report/chart-spec.js';
import { renderHtml } from '../../../harness/report/html.js';
import { renderMarkdown } from '../../../harness/report/markdown.js';
import { describeMeasurement, type MemoryMeasurement } from '../../../src/vitest/index.js';
import { sampleReport } from '../../helpers/report-fixtures.js';

const METHODS = measureMethodSchema.options;

function reportMeasuredWith(method: MeasureMethod): Report {
  const r = sampleReport();
  r.environment.method = method;
  for (const run of r.runs) run.method = method;
  return r;
}

const html = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

describe('the words for each measurement method', () => {
  it('exist for every method the report format knows, and tell the methods apart', () => {
    expect(Object.keys(METHOD_TEXT).sort()).toEqual([...METHODS].sort());
    for (const field of ['name', 'peak', 'stepPeak', 'explanation'] as const)
      expect(new Set(METHODS.map((m) => METHOD_TEXT[m][field])).size, field).toBe(METHODS.length);
  });

  it.each(METHODS)('%s: the charts, report.md, report.html and the CLI table use them', async (method) => {
    const t = methodText(method);
    const report = reportMeasuredWith(method);
    const subtitles = (kind: string) =>
      reportChartSpecs(report)
        .filter((c) => c.spec.id.startsWith(kind))
        .map((c) => c.spec.subtitle ?? '');
    for (const s of subtitles('timeline-')) {
      expect(s).toContain(`line: ${t.line}`);
      expect(s).toContain(`markers: ${t.stepPeak}`);
      expect(s).toContain(baselineNote(method));
    }
    for (const s of subtitles('peaks-')) expect(s).toContain(`peak: ${t.peak};`);
    for (const s of subtitles('family-')) expect(s).toContain(`peak: ${t.peak}; final: RSS at the end; ${baselineNote(method)};`);
    expect(subtitles('timeline-').length * subtitles('peaks-').length * subtitles('family-').length).toBeGreaterThan(0);
    for (const { spec } of reportChartSpecs(report))
      expect(spec.yLabel.replace(/\(.?B\)/, '(unit)'), spec.id).toBe(`memory at full scale (unit), ${baselineNote(method)}`);

    const md = renderMarkdown(report);
    expect(md).toContain(`Figures are ${baselineNote(method)}`);
    expect(md).toContain(`Peak: ${t.peak};`);

    const page = await renderHtml(report);
    expect(page).toContain(`Peak: ${html(t.peak)};`);
    expect(page).toContain(`<b>${method}</b>: ${html(t.explanation)}<br>`);

    expect(formatRunTable(report.runs)).toContain(`${method}: peak = ${t.peak}, ${baselineNote(method)}.`);
  });

  it.each(['kernel-hwm', 'sampled-rss'] as const)('%s: the vitest matcher names it in its failure text', (method) => {
    const m: MemoryMeasurement = {
      method,
      baselineBytes: 50e6,
      peakBytes: 20e6,
      endBytes: 10e6,
      retainedBytes: 0,
      deltas: { heapUsedBytes: 0, externalBytes: 0, arrayBuffersBytes: 0, wasmBytes: 0 },
      peaksAtGc: { heapUsedBytes: 0, externalBytes: 0 },
      gcCount: 0,
      durationMs: 1,
      value: null,
    };
    expect(describeMeasurement(m, 'over')).toContain(`method:   ${METHOD_TEXT[method].name}\n`);
  });
});
