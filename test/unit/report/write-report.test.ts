// The report folder: every output written, no temporary files or stale charts left.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReportDir } from '../../../harness/report/write-report.js';
import { MAIN, sampleReport, scaleRun } from '../../helpers/report-fixtures.js';

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
