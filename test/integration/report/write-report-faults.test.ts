// The report folder is one unit: a write that fails on a full disk keeps the old report whole,
// and a writer killed (SIGTERM) between two reports leaves the files of one of them; the next
// writer removes the temporaries a killed one left. Runs the built writer in a child.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReportDir } from '../../../harness/report/write-report.js';
import type { Report } from '../../../src/core/report.js';
import { runCli as cli } from '../../helpers/cli.js';
import { writeTwoDatasetScenario } from '../../helpers/scenarios.js';
import { sampleReport } from '../../helpers/report-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'cb-write-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cache = join(dir, 'cache');
function scenarioFile(
  name: string,
  body: { scale?: number; extra?: string; pipeline?: string; size?: string; features?: number } = {},
): string {
  return writeTwoDatasetScenario(join(dir, `${name}.yaml`), name, {
    scale: body.scale ?? 0.00002,
    features: body.features ?? 10,
    strategies: '[selective]',
    ...(body.size !== undefined ? { size: body.size } : {}),
    ...(body.pipeline !== undefined ? { pipeline: body.pipeline } : {}),
    ...(body.extra !== undefined ? { extra: body.extra } : {}),
  });
}
const deadPid = (): number => {
  const r = spawnSync('true');
  return r.pid!;
};

describe('a failed write loses nothing', () => {
  it.skipIf(!canMountTmpfs())('a full disk: refused before measuring, and a write that fails keeps the old report whole', async () => {
    const mnt = mkdtempSync(join(tmpdir(), 'cb-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    try {
      const out = join(mnt, 'report');
      const first = sampleReport();
      await writeReportDir(first, out, { charts: false });
      const before = Object.fromEntries(readdirSync(out).map((n) => [n, readFileSync(join(out, n), 'utf8')]));
      // Fill the disk to within a few kilobytes.
      try {
        writeFileSync(join(mnt, 'filler'), Buffer.alloc(4 * 1024 * 1024));
      } catch {
        // ENOSPC: the filler took what there was
      }
      const second = { ...sampleReport(), created: '2027-01-01T00:00:00.000Z' };
      await expect(writeReportDir(second, out, { charts: true })).rejects.toMatchObject({ code: 'OUTPUT_UNWRITABLE' });
      const after = Object.fromEntries(readdirSync(out).map((n) => [n, readFileSync(join(out, n), 'utf8')]));
      expect(after).toEqual(before);

      const r = await cli(['run', scenarioFile('full-disk'), '--out', out, '--cache', cache]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/OUTPUT_UNWRITABLE.*the disk is full|RESOURCES_INSUFFICIENT.*report folder .* free/);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('the report folder is one unit; stale temporaries are removed', () => {
  it('SIGTERM between two writes leaves report.json, report.md, report.html, junit.xml and charts of one report', async () => {
    const out = join(dir, 'sigterm');
    const src = join(dir, 'sigterm-report.json');
    writeFileSync(src, JSON.stringify(sampleReport()));
    // The child writes report A, then report B with SIGTERM delivered the moment B's report.md
    // is in place (node:fs/promises patched before the writer is loaded): the old writer died
    // there with B's junit.xml, report.md and charts beside A's report.json and report.html.
    const script = join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
const base = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rename = fsp.rename;
let armed = false;
fsp.rename = async (a, b) => {
  await rename(a, b);
  if (armed && String(b).endsWith('report.md')) process.kill(process.pid, 'SIGTERM');
};
syncBuiltinESMExports();
const { writeReportDir } = await import(${JSON.stringify(join(process.cwd(), 'dist/harness/report/write-report.js'))});
await writeReportDir({ ...base, created: '2027-01-01T00:00:01.000Z' }, process.argv[3], { charts: true });
const first = readFileSync(process.argv[3] + '/timeline-tahoe-sciplex-2x132gb.png');
armed = true;
const second = structuredClone(base);
second.runs[0].peak_bytes *= 3;
for (const st of second.runs[0].steps) st.peak_bytes *= 3;
await writeReportDir({ ...second, created: '2027-01-01T00:00:02.000Z' }, process.argv[3], { charts: true });
`,
    );
    const child = spawnSync(process.execPath, [script, src, out], { encoding: 'utf8' });
    expect(child.signal === 'SIGTERM' || child.status === 0, child.stderr).toBe(true);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    for (const f of ['report.md', 'report.html']) expect(readFileSync(join(out, f), 'utf8'), f).toContain(report.created);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain(report.created.slice(0, 19));
    // The charts belong to the same report: re-rendered from report.json they are byte-identical.
    const again = join(dir, 'sigterm-again');
    await writeReportDir(report, again, { charts: true });
    for (const png of readdirSync(out).filter((n) => n.endsWith('.png')))
      expect(readFileSync(join(out, png)).equals(readFileSync(join(again, png))), png).toBe(true);
    // The next writer removes what a killed one left half-written.
    writeFileSync(join(out, `report.html.${deadPid()}.abc123.tmp`), 'stale');
    writeFileSync(join(out, `.junit.xml.cellbudget-${deadPid()}-abc123.tmp`), 'stale');
    await writeReportDir(sampleReport(), out, { charts: false });
    expect(readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 60_000);
});

function canMountTmpfs(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'cb-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
