// The chart configuration function the HTML page runs is self-contained: its source text, as
// the page embeds it, evaluated in an empty node:vm context (no module scope, no Node globals)
// builds every kind of chart the reports draw, and every callback in it runs; and TypeScript's
// checker, given only the ES library, finds no name it does not declare, on any branch. A
// reference to anything outside the shipped text (an import, a module constant) works in Node
// and the PNGs, and breaks only in a browser.
import { describe, expect, it } from 'vitest';
import { checkShipped, everySpec, undeclaredNames } from '../../helpers/chart-config.js';
import { chartConfigScript } from '../../../harness/report/chart-config.js';
import type { LinesSpec } from '../../../harness/report/chart-spec.js';
import { renderHtml } from '../../../harness/report/html.js';
import { sampleReport } from '../../helpers/report-fixtures.js';

describe('the chart configuration shipped in report.html', () => {
  it('covers every spec kind the reports produce', () => {
    const specs = everySpec();
    const lines = specs.filter((s): s is LinesSpec => s.kind === 'lines');
    expect(lines.some((s) => s.lanes.length > 0)).toBe(true);
    expect(lines.some((s) => s.xIntegers)).toBe(true);
    expect(lines.some((s) => (s.notes ?? []).length > 0)).toBe(true);
    expect(lines.some((s) => s.datasets.some((d) => d.dashed && d.faint))).toBe(true);
    expect(lines.some((s) => s.datasets.some((d) => d.stepped))).toBe(true);
    const bars = specs.filter((s) => s.kind === 'bars');
    expect(bars.some((s) => s.categoryBudgets.length > 0 && s.groups.some((g) => g.over.includes(true)))).toBe(true);
    expect(bars.some((s) => s.notes.some((n) => n !== null))).toBe(true);
    expect(bars.some((s) => s.groups.some((g) => g.intervals?.some((i) => i !== null)))).toBe(true);
  });

  it('is what the page embeds', async () => {
    expect(await renderHtml(sampleReport())).toContain(`var chartConfigFromSpec = ${chartConfigScript()};`);
  });

  it('runs in an empty context: builds every configuration and every callback runs', () => {
    checkShipped(chartConfigScript());
  });

  it('uses no name it does not declare, on any branch', () => {
    expect(undeclaredNames(chartConfigScript())).toEqual([]);
  });

  it('fails on a reference to something outside the shipped text, even one only a callback makes', () => {
    const leaky = chartConfigScript().replace(
      'g.fillRect(0, 0, chart.width, chart.height);',
      'g.fillRect(0, 0, chart.width, outsideName);',
    );
    expect(leaky).not.toBe(chartConfigScript());
    expect(() => checkShipped(leaky)).toThrow(/outsideName is not defined/);
    // A branch no spec takes is beyond the run; not beyond the checker.
    const untaken = chartConfigScript().replace(
      'return `${weight} ${size}px ${FONT}`;',
      'return size > 999 ? outsideName : `${weight} ${size}px ${FONT}`;',
    );
    expect(untaken).not.toBe(chartConfigScript());
    expect(() => checkShipped(untaken)).not.toThrow();
    expect(undeclaredNames(untaken)).toEqual(["Cannot find name 'outsideName'."]);
  });
});
