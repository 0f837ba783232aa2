// `cellbudget prepare SCENARIO --out DIR`: one complete store per dataset (synthetic ones
// generated through the cache); and what the command refuses.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStoreMarker } from '../../../src/store/fs.js';
import { runCli } from '../../helpers/cli.js';
import { DATASETS } from '../../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-store-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cellbudget prepare', () => {
  it('writes one store per dataset of a scenario, generating synthetic ones through the cache', async () => {
    const out = join(dir, 'stores');
    const r = await runCli(['prepare', 'quick', '--out', out, '--cache', join(dir, 'cache'), '--scale', '0.00002', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const { stores } = JSON.parse(r.out) as { stores: Array<{ dataset: string; store: string; targets: number; cells: number }> };
    expect(stores.map((s) => s.dataset)).toEqual(['tahoe', 'sciplex']);
    for (const s of stores) {
      expect(s.store).toBe(join(out, `${s.dataset}.zarr`));
      expect(readStoreMarker(s.store)).toMatchObject({ complete: true, targets: s.targets, cells: s.cells });
    }
    // Existing stores are refused before anything is generated or written.
    const again = await runCli(['prepare', 'quick', '--out', out, '--cache', join(dir, 'cache'), '--scale', '0.00002']);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/\[STORE_EXISTS\]/);
  });

  it('refuses what it cannot do, with exit 2 and a code', async () => {
    const file = join(DATASETS, 'tiny.h5ad');
    const noConfig = await runCli(['prepare', file, '--out', join(dir, 'x.zarr')]);
    expect(noConfig.code).toBe(2);
    expect(noConfig.err).toMatch(/\[USAGE\].*--config/);
    const scaleOnFile = await runCli([
      'prepare',
      file,
      '--config',
      join(DATASETS, 'tiny.config.json'),
      '--out',
      join(dir, 'y.zarr'),
      '--scale',
      '0.1',
    ]);
    expect(scaleOnFile.code).toBe(2);
    expect(scaleOnFile.err).toMatch(/\[USAGE\]/);
    const badFormat = await runCli([
      'prepare',
      file,
      '--config',
      join(DATASETS, 'tiny.config.json'),
      '--out',
      join(dir, 'z.zarr'),
      '--zarr-format',
      '4',
    ]);
    expect(badFormat.code).toBe(2);
    const command = await runCli(['prepare', 'command-example', '--out', join(dir, 'c')]);
    expect(command.code).toBe(2);
    expect(command.err).toMatch(/\[NOTHING_TO_RUN\]/);
    expect(existsSync(join(dir, 'x.zarr'))).toBe(false);
  });
});
