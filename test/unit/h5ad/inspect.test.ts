import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/context.js';
import { readFileSync } from 'node:fs';
import { inspectH5ad } from '../../../src/h5ad/inspect.js';
import { DATASETS, fixtureDir } from '../../helpers/fixtures.js';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
  };
}

describe('cellbudget inspect', () => {
  it('--json gives n_obs, obs columns with kinds, matrices with location/shape/dtype/bytes, uns keys', async () => {
    const c = capture();
    expect(await main(['node', 'cellbudget', 'inspect', `${DATASETS}/combos.h5ad`, '--json'], c.io)).toBe(0);
    const r = JSON.parse(c.out()) as Record<string, unknown> & {
      n_obs: number;
      obs: { columns: { name: string; kind: string; dtype: string; nCategories?: number }[] };
      matrices: { location: string; shape: number[]; dtype: string; bytes: number; compression: string[]; chunks: number[] | null }[];
      uns: string[];
    };
    // combos.h5ad as fixtures/make_fixtures.py writes it: 1000 cells × 8 float32, gzip in 256 × 4 chunks.
    expect(r.n_obs).toBe(1000);
    expect(r.obs.columns.map((x) => [x.name, x.kind])).toEqual([
      ['cell_line', 'categorical'],
      ['drug', 'categorical'],
      ['dosage', 'numeric'],
      ['control', 'boolean'],
    ]);
    expect(r.obs.columns[1]!.nCategories).toBe(13);
    expect(r.matrices).toEqual([
      expect.objectContaining({
        location: 'obsm/X_pca',
        shape: [1000, 8],
        dtype: 'float32',
        bytes: 1000 * 8 * 4,
        compression: ['gzip'],
        chunks: [256, 4],
      }),
    ]);
    expect(r.uns).toEqual(['cell_line_embeddings', 'drug_embeddings']);
  });

  it('prints a readable table', async () => {
    const c = capture();
    expect(await main(['node', 'cellbudget', 'inspect', `${DATASETS}/tiny.h5ad`], c.io)).toBe(0);
    expect(c.out()).toMatch(/n_obs: 300/);
    expect(c.out()).toMatch(/obsm\/X_pca\s+dense\s+300 x 8\s+float32/);
    expect(c.out()).toMatch(/control\s+boolean\s+bool/);
  });

  it('bad input: exit 2 with the code and the file named, no stack trace', async () => {
    const c = capture();
    expect(await main(['node', 'cellbudget', 'inspect', '/nonexistent/x.h5ad'], c.io)).toBe(2);
    expect(c.err()).toMatch(/\[FILE_NOT_FOUND\].*x\.h5ad/);
    const d = capture();
    expect(await main(['node', 'cellbudget', 'inspect', `${DATASETS}/tiny.config.json`], d.io)).toBe(2);
    expect(d.err()).toMatch(/\[FILE_NOT_HDF5\]/);
    expect(d.err()).not.toMatch(/at .*\.js:\d+/);
  });

  it("bytes on disk equal HDF5's own storage size (h5py get_storage_size), compressed or not", () => {
    const dir = fixtureDir();
    const want = JSON.parse(readFileSync(`${dir}/storage.json`, 'utf8')) as Record<string, number>;
    const got = Object.fromEntries(inspectH5ad(`${dir}/windows.h5ad`).matrices.map((m) => [m.location, m.diskBytes]));
    expect(got).toEqual(want);
    expect(inspectH5ad(`${DATASETS}/combos.h5ad`).matrices[0]!.diskBytes).toBeGreaterThan(0);
  });
});
