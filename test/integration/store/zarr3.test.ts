// A format 3 store, read back with zarrita from disk: every array and group equals the format 2
// store's (which Python's checks judge), and the distributions equal the file's rows.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FileSystemStore } from '@zarrita/storage';
import * as zarr from 'zarrita';
import { afterAll, describe, expect, it } from 'vitest';
import { h5Ready } from '../../../src/h5ad/file.js';
import { withH5ad } from '../../../src/h5ad/source.js';
import { readStoreMarker } from '../../../src/store/fs.js';
import { runCli } from '../../helpers/cli.js';
import { DATASETS } from '../../helpers/fixtures.js';

await h5Ready();
const dir = mkdtempSync(join(tmpdir(), 'cellbudget-store-v3-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Paths of the arrays of a format 2 store (folders holding a .zarray). */
function arrays2(root: string, at = root): string[] {
  const names = readdirSync(at);
  if (names.includes('.zarray')) return [relative(root, at)];
  return names.filter((n) => statSync(join(at, n)).isDirectory()).flatMap((n) => arrays2(root, join(at, n)));
}

function values(data: unknown): unknown[] {
  return Array.from(data as Iterable<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v));
}

async function read(root: string, path: string): Promise<{ shape: number[]; values: unknown[]; attrs: Record<string, unknown> }> {
  const a = await zarr.open(zarr.root(new FileSystemStore(root)).resolve(path), { kind: 'array' });
  const chunk = await zarr.get(a);
  // A 0-d text array: zarrita gives the value itself.
  const data =
    typeof chunk === 'string'
      ? [chunk]
      : a.shape.length === 0 && typeof chunk !== 'object'
        ? [chunk]
        : (chunk as zarr.Chunk<zarr.DataType>).data;
  return { shape: a.shape, values: values(data), attrs: a.attrs };
}

describe.each(['tiny', 'strings'])('%s in zarr format 3, read back with zarrita', (name) => {
  const file = join(DATASETS, `${name}.h5ad`);
  const config = join(DATASETS, `${name}.config.json`);
  const v2 = join(dir, `${name}-2.zarr`);
  const v3 = join(dir, `${name}-3.zarr`);

  it('holds what the format 2 store holds, array by array, attributes included', async () => {
    expect((await runCli(['prepare', file, '--config', config, '--out', v2])).code).toBe(0);
    const r = await runCli(['prepare', file, '--config', config, '--out', v3, '--zarr-format', '3', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ zarr_format: 3 });
    expect(readStoreMarker(v3)['zarr_format']).toBe(3);
    const paths = arrays2(v2);
    expect(paths.length).toBeGreaterThan(20);
    for (const p of paths) {
      const [a, b] = await Promise.all([read(v2, p), read(v3, p)]);
      expect(b.shape, p).toEqual(a.shape);
      expect(b.values, p).toEqual(a.values);
      expect(b.attrs, p).toEqual(a.attrs);
    }
    const g2 = await zarr.open(zarr.root(new FileSystemStore(v2)).resolve('data/conditions'), { kind: 'group' });
    const g3 = await zarr.open(zarr.root(new FileSystemStore(v3)).resolve('data/conditions'), { kind: 'group' });
    expect(g3.attrs).toEqual(g2.attrs);
  });

  it("holds the file's rows", async () => {
    const rows = JSON.parse((await runCli(['split', file, '--config', config, '--rows', '--json'])).out) as {
      tgt_rows: Record<string, number[]>;
    };
    const m = withH5ad(file, (src) => src.readRows(['obsm', 'X_pca'], 0, src.nObs));
    for (const [t, rs] of Object.entries(rows.tgt_rows)) {
      const got = await read(v3, `data/tgt_data/${t}`);
      const want = rs.flatMap((r) => Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols)));
      expect(got.values, `tgt ${t}`).toEqual(want);
    }
  });
});
