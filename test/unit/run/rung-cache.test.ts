// The rung cache (harness/run/rungs.ts): written once, reused, written again when the source
// changes (touched, or edited in place with its mtime put back) or the rung is damaged.
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCellbudgetError } from '../../../src/core/errors.js';
import { h5Ready } from '../../../src/h5ad/file.js';
import { withH5ad } from '../../../src/h5ad/source.js';
import { parsePipelineConfig } from '../../../src/pipeline/config.js';
import { rungFile, sourceIdentity, type RungRequest } from '../../../harness/run/rungs.js';
import { DATASETS } from '../../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-rung-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => h5Ready());

const pipeline = parsePipelineConfig(JSON.parse(readFileSync(join(DATASETS, 'strings.config.json'), 'utf8')));

function fresh(name: string): { request: RungRequest; source: string; cache: string } {
  const source = join(dir, `${name}.h5ad`);
  copyFileSync(join(DATASETS, 'strings.h5ad'), source);
  const cache = join(dir, `cache-${name}`);
  mkdirSync(cache);
  return { request: { dataset: { name, file: source }, pipeline, where: 'test' }, source, cache };
}

/** The first value of obsm/X_pca's row `row`, read back. */
function firstValue(file: string, row: number): number {
  return withH5ad(file, (s) => s.readRows(['obsm', 'X_pca'], row, row + 1).data[0]!);
}

describe('the rung cache', () => {
  it('writes a rung once and reuses it, with the same figures, until the source is touched', async () => {
    const { request, source, cache } = fresh('touch');
    const reasons: string[] = [];
    const phases = new Set<string>();
    const hooks = { onGenerate: (r: string) => reasons.push(r), onProgress: (p: { phase: string }) => phases.add(p.phase) };
    const first = await rungFile(request, 0.5, cache, hooks);
    expect(first.outcome).toEqual({ action: 'generated', reason: 'not generated yet' });
    expect([...phases]).toEqual(expect.arrayContaining(['select', 'layout', 'obs', 'matrix', 'done']));
    expect(first.reachedScale).toBe(first.cells / first.totalCells);
    expect(existsSync(first.file)).toBe(true);
    const written = statSync(first.file).mtimeMs;

    const again = await rungFile(request, 0.5, cache, hooks);
    expect(again.outcome).toEqual({ action: 'reused' });
    expect(again.file).toBe(first.file);
    expect({ ...again, outcome: null }).toEqual({ ...first, outcome: null });
    expect(statSync(first.file).mtimeMs).toBe(written);
    expect(reasons).toEqual(['not generated yet']);

    // Another scale or seed is another entry.
    const other = await rungFile(request, 0.8, cache);
    expect(other.file).not.toBe(first.file);

    const later = new Date(Date.now() + 5000);
    utimesSync(source, later, later);
    const touched = await rungFile(request, 0.5, cache, hooks);
    expect(touched.outcome.action).toBe('generated');
    expect(reasons[1]).toMatch(/^the source changed: modified /);
    expect((await rungFile(request, 0.5, cache)).outcome).toEqual({ action: 'reused' });
  });

  it('writes it again when the source is edited in place and its mtime put back (sampled content), with the new values', async () => {
    const { request, source, cache } = fresh('edit');
    // Whole seconds: an mtime utimes can put back exactly.
    const when = Math.floor(Date.now() / 1000) - 60;
    utimesSync(source, when, when);
    const first = await rungFile(request, 0.5, cache);
    // Rows of obsm/X_pca (contiguous float32 in this fixture) lie in the file as stored: change
    // the first kept row's first value, keeping size and mtime.
    const { offset, row } = withH5ad(source, (s) => {
      const region = s.directRegion!(['obsm', 'X_pca'])!;
      const index = s.readObsIndex();
      const kept = withH5ad(first.file, (r) => r.readObsIndex()[0]!);
      const row = index.indexOf(kept);
      return { offset: region.offset + row * region.cols * 4, row };
    });
    const st = statSync(source);
    const fd = openSync(source, 'r+');
    const bytes = new Uint8Array(new Float32Array([12345.5]).buffer);
    writeSync(fd, bytes, 0, 4, offset);
    closeSync(fd);
    utimesSync(source, when, when);
    expect(statSync(source).mtimeMs).toBe(st.mtimeMs);
    expect(firstValue(source, row)).toBe(12345.5);
    const reasons: string[] = [];
    const after = await rungFile(request, 0.5, cache, { onGenerate: (r) => reasons.push(r) });
    expect(reasons).toEqual(['the source changed: its sampled content no longer matches (same size and mtime)']);
    expect(firstValue(after.file, 0)).toBe(12345.5);
  });

  it('writes it again when the rung is truncated or edited', async () => {
    const { request, cache } = fresh('damage');
    const first = await rungFile(request, 0.5, cache);
    truncateSync(first.file, statSync(first.file).size - 100);
    const reasons: string[] = [];
    const hooks = { onGenerate: (r: string) => reasons.push(r) };
    expect((await rungFile(request, 0.5, cache, hooks)).outcome.action).toBe('generated');
    expect(reasons[0]).toMatch(/truncated or overwritten/);
    const fd = openSync(first.file, 'r+');
    writeSync(fd, new Uint8Array([0x42]), 0, 1, statSync(first.file).size - 1);
    closeSync(fd);
    const later = new Date(Date.now() + 5000);
    utimesSync(first.file, later, later);
    expect((await rungFile(request, 0.5, cache, hooks)).outcome.action).toBe('generated');
    expect(reasons[1]).toMatch(/SHA-256 no longer matches/);
    rmSync(first.file.replace(/\.h5ad$/, '.json'));
    expect((await rungFile(request, 0.5, cache, hooks)).outcome.action).toBe('generated');
    expect(reasons[2]).toMatch(/no checksum record/);
  });

  it('at scale 1 is the file itself; without condition keys it is refused', async () => {
    const { request, source, cache } = fresh('full');
    const r = await rungFile(request, 1, cache);
    expect(r.file).toBe(source);
    expect(r.reachedScale).toBe(1);
    await expect(rungFile({ dataset: { name: 'x', file: source }, where: 'mine.yaml' }, 0.5, cache)).rejects.toSatisfy(
      (e: unknown) => isCellbudgetError(e) && e.code === 'SCENARIO_INVALID' && /mine\.yaml: dataset 'x' is a file/.test(e.message),
    );
  });

  it('identifies a large source by samples: a byte changed in a sampled block changes it, size and mtime alike', () => {
    const big = join(dir, 'big.bin');
    const data = new Uint8Array(12 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
    const fd = openSync(big, 'w');
    writeSync(fd, data);
    closeSync(fd);
    const when = Math.floor(Date.now() / 1000) - 60;
    utimesSync(big, when, when);
    const a = sourceIdentity(big);
    const f = openSync(big, 'r+');
    writeSync(f, new Uint8Array([0xee]), 0, 1, data.length - 10);
    closeSync(f);
    utimesSync(big, when, when);
    const b = sourceIdentity(big);
    expect(b.bytes).toBe(a.bytes);
    expect(b.mtime_ms).toBe(a.mtime_ms);
    expect(b.sample_sha256).not.toBe(a.sample_sha256);
  });
});
