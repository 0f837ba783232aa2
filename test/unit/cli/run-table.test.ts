// The run table's footer says which scales each scenario's full-scale figures come from: once
// per set of scales, so a family's members (same ladder) share one entry.
import { describe, expect, it } from 'vitest';
import { formatRunTable } from '../../../src/cli/run.js';
import { projectionOf } from '../../../harness/report/projection.js';
import { sampleReport } from '../../helpers/report-fixtures.js';

describe('run table footer', () => {
  it('names scenarios on the same ladder together, each ladder once', () => {
    const runs = sampleReport().runs.filter((r) => projectionOf(r).method === 'ladder');
    expect(runs.length).toBeGreaterThan(0);
    const family = ['fam-N1', 'fam-N2', 'fam-N3'].flatMap((scenario) => runs.map((r) => ({ ...r, scenario })));
    const footer = formatRunTable(family)
      .split('\n')
      .find((l) => l.startsWith('Full scale:'))!;
    expect(footer).toContain(`(fam-N1, fam-N2, fam-N3 from scales `);
    expect(footer.split('from scales').length - 1).toBe(new Set(runs.map((r) => projectionOf(r).scales.join(','))).size);
  });
});

describe('run table rows', () => {
  it("a died run's peak step is the step it died in", () => {
    const report = sampleReport();
    const died = report.runs.find((x) => x.status !== 'ok')!;
    expect(died.failure?.step).toBeTruthy();
    const row = formatRunTable([died]).split('\n')[2]!;
    expect(row).toContain(`${died.failure!.step!} (${died.status})`);
  });
});
