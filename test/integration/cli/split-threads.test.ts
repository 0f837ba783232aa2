// `split --digest` copies and hashes on two threads when the representation can be read as
// stored: it must give the bytes one thread gives (the same digests), fall back to one thread
// where it cannot read directly, and fail with the file's error, not hang, when the file ends.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { h5Ready } from '../../../src/h5ad/file.js';
import { withH5ad } from '../../../src/h5ad/source.js';
import { parsePipelineConfig } from '../../../src/pipeline/config.js';
import type { PipelineConfig } from '../../../src/pipeline/config.js';
import type { DatasetSource } from '../../../src/core/data.js';
import { layoutCopy, planGroups } from '../../../src/pipeline/grouping.js';
import { assignSplits } from '../../../src/pipeline/splitter.js';
import { runSplit, splitDigestJobs, splitPools } from '../../../src/cli/split.js';
import { digestShared, fillShared, startCopyHelper, stopCopyHelper } from '../../../src/cli/split-copy.js';
import { SPLITS } from '../../../src/core/names.js';
import { isCellbudgetError } from '../../../src/core/errors.js';
import { DATASETS } from '../../helpers/fixtures.js';
import { runCli } from '../../helpers/cli.js';

await h5Ready();

const tmp = mkdtempSync(join(tmpdir(), 'cellbudget-threads-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const configOf = (name: string) => parsePipelineConfig(JSON.parse(readFileSync(join(DATASETS, `${name}.config.json`), 'utf8')) as unknown);

/** What runSplit hands the two threads, for a file read directly: its region, the shared layout, the digest jobs. */
function sharedCopyOf(src: DatasetSource, config: PipelineConfig) {
  const region = src.directRegion!(config.data_location)!;
  const plan = planGroups(config, src);
  const a = assignSplits(plan, config.split);
  const layout = layoutCopy(plan, region, undefined, { pools: splitPools(plan, a), shared: true });
  return { region, layout, jobs: splitDigestJobs(a) };
}

describe('split --digest on two threads', () => {
  // tiny and strings hold float32, by_line float64, all contiguous; combos and forced are gzip-chunked.
  it.each(['tiny', 'strings', 'by_line', 'combos', 'forced'])('gives the digests of one thread on %s', (name) => {
    const config = configOf(name);
    const file = join(DATASETS, `${name}.h5ad`);
    const direct = withH5ad(file, (src) => src.directRegion?.(config.data_location) ?? null);
    // The fixtures cover both paths: three are read directly (so two threads run), two are not.
    expect(direct !== null, 'direct-readable').toBe(['tiny', 'strings', 'by_line'].includes(name));
    const one = withH5ad(file, (src) => runSplit(src, config, { digest: true, threads: 1 }).digests);
    const two = withH5ad(file, (src) => runSplit(src, config, { digest: true, threads: 2 }).digests);
    expect(one).not.toBeNull();
    expect(one!.threads).toBe(1);
    // Two threads where the matrix is read directly; one (the same path as threads: 1) elsewhere.
    expect(two!.threads).toBe(direct !== null ? 2 : 1);
    expect(two!.digests).toEqual(one!.digests);
    expect(Object.keys(two!.digests)).toEqual([...SPLITS]); // the --json output reads the same
    for (const s of SPLITS) expect(one!.digests[s].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  // The file changing under a running split: each side must fail with the reader's code, never hang.
  // The cut lands in the first half of the rows (this thread's) or the second (the helper's).
  it.each([
    ['this thread', 10],
    ['the helper', 200],
  ] as const)('says FILE_TRUNCATED when the file ends under %s', (_, keptRows) => {
    const config = configOf('tiny');
    const file = join(DATASETS, 'tiny.h5ad');
    const error = withH5ad(file, (src) => {
      const { region, layout, jobs } = sharedCopyOf(src, config);
      const helper = startCopyHelper();
      expect(helper).not.toBeNull();
      // As if the file had been cut after the matrix's first rows.
      const cut = { ...region, file: join(tmp, `cut-${keptRows}.h5ad`) };
      copyFileSync(file, cut.file);
      truncateSync(cut.file, region.offset + keptRows * region.cols * 4);
      try {
        digestShared(fillShared(helper!, layout, cut, jobs, ['train']));
        return null;
      } catch (e) {
        return e;
      } finally {
        stopCopyHelper(helper);
      }
    });
    expect(isCellbudgetError(error) && error.code).toBe('FILE_TRUNCATED');
  });

  it('gives up on a helper thread that died, with an error instead of a hang', async () => {
    const config = configOf('tiny');
    const file = join(DATASETS, 'tiny.h5ad');
    const helper = startCopyHelper()!;
    await helper.worker.terminate(); // dies before its half of the rows
    const error = withH5ad(file, (src) => {
      const { region, layout, jobs } = sharedCopyOf(src, config);
      try {
        digestShared(fillShared(helper, layout, region, jobs, ['train']), 300);
        return null;
      } catch (e) {
        return e;
      }
    });
    expect((error as Error | null)?.message).toMatch(/did not finish its rows within/);
  });

  it('refuses a file cut inside the representation before copying anything', () => {
    const config = configOf('tiny');
    const cut = join(tmp, 'tiny-cut.h5ad');
    copyFileSync(join(DATASETS, 'tiny.h5ad'), cut);
    const region = withH5ad(cut, (src) => src.directRegion!(config.data_location)!);
    truncateSync(cut, region.offset + 100 * region.cols * 4);
    expect(statSync(cut).size).toBeLessThan(region.offset + region.rows * region.cols * 4);
    let error: unknown = null;
    try {
      withH5ad(cut, (src) => runSplit(src, config, { digest: true, threads: 2 }));
    } catch (e) {
      error = e;
    }
    expect(isCellbudgetError(error) && error.code).toBe('FILE_TRUNCATED');
  });

  it('--threads 1 and --threads 2 print the same digests; --threads 3 is refused', async () => {
    const args = ['split', join(DATASETS, 'by_line.h5ad'), '--config', join(DATASETS, 'by_line.config.json'), '--digest', '--json'];
    const one = await runCli([...args, '--threads', '1']);
    const two = await runCli([...args, '--threads', '2']);
    expect(one.code, one.err).toBe(0);
    expect(two.code, two.err).toBe(0);
    expect((JSON.parse(two.out) as { digests: unknown }).digests).toEqual((JSON.parse(one.out) as { digests: unknown }).digests);
    // Asked for two threads where they cannot be used: one thread, and a note that says why.
    const gz = await runCli([
      'split',
      join(DATASETS, 'combos.h5ad'),
      '--config',
      join(DATASETS, 'combos.config.json'),
      '--digest',
      '--threads',
      '2',
    ]);
    expect(gz.code, gz.err).toBe(0);
    expect(gz.out).toContain('on one thread');
    expect(gz.err).toMatch(/note: obsm\/X_pca in .* was copied on one thread/);
    const bad = await runCli([...args, '--threads', '3']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('[USAGE]');
  });
});
