// A store appears whole or not at all: `cellbudget prepare` killed mid-write (SIGTERM, SIGKILL)
// leaves the old store intact (or none), and only a hidden partial sibling without a completion
// marker, which the next run removes; an existing store is refused without --force.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { synthesize } from '../../../src/h5ad/synth.js';
import { readStoreMarker, STORE_MARKER } from '../../../src/store/fs.js';
import { runCli } from '../../helpers/cli.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'cellbudget.js');
const dir = mkdtempSync(join(tmpdir(), 'cellbudget-store-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, 'big.h5ad');
const config = join(dir, 'config.json');
writeFileSync(
  config,
  JSON.stringify({
    dist_flag_key: 'control',
    src_dist_keys: ['cell_line'],
    tgt_dist_keys: ['drug', 'dosage'],
    rep_keys: { cell_line: 'cell_line_embeddings', drug: 'drug_embeddings' },
    data_location: ['obsm', 'X_pca'],
    split: { split_by: ['drug'], ratios: [0.6, 0.2, 0.2], random_state: 42 },
  }),
);
// ~48 MB of rows: its stream step is long enough to be killed in the middle.
await synthesize({ size: '48MB', features: 96, cellLines: 4, drugs: 30, seed: 3 }, file);
const ARGS = ['prepare', file, '--config', config];

/** SHA-256 over every file of a folder (names and bytes). */
function digest(folder: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(name).update(readFileSync(p));
    }
  };
  walk(folder);
  return h.digest('hex');
}

function partials(parent: string, name: string): string[] {
  return readdirSync(parent)
    .filter((n) => n.startsWith(`.${name}.cellbudget-`) && n.endsWith('.partial'))
    .map((n) => join(parent, n));
}

/** Start `prepare`, and kill it with `signal` once its partial store holds some rows. */
function killMidWrite(
  out: string,
  signal: NodeJS.Signals,
  extra: string[] = [],
): Promise<{ signal: NodeJS.Signals | null; killedWhile: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...ARGS, '--out', out, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    let killedWhile = '';
    const poll = setInterval(() => {
      for (const p of partials(dirname(out), out.split('/').pop()!)) {
        const tgt = join(p, 'data', 'tgt_data');
        if (existsSync(join(tgt, '0', '0.0')) && !existsSync(join(p, STORE_MARKER))) {
          killedWhile = 'writing rows';
          clearInterval(poll);
          child.kill(signal);
          return;
        }
      }
    }, 5);
    child.on('exit', (code, sig) => {
      clearInterval(poll);
      if (!killedWhile) fail(new Error(`prepare ended (${code ?? sig}) before it could be killed mid-write: ${err}`));
      else done({ signal: sig, killedWhile });
    });
  });
}

describe('prepare writes a store whole or not at all', () => {
  const target = join(dir, 'store.zarr');

  it('refuses to overwrite a store without --force: exit 2, STORE_EXISTS, the store untouched', async () => {
    expect((await runCli([...ARGS, '--out', target])).code).toBe(0);
    const before = digest(target);
    const r = await runCli([...ARGS, '--out', target, '--zarr-format', '3']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[STORE_EXISTS\].*already exists.*--force/);
    expect(digest(target)).toBe(before);
  });

  it.each(['SIGTERM', 'SIGKILL'] as const)(
    '%s while rows are written: the old store stays whole, the partial one has no marker',
    async (sig) => {
      const before = digest(target);
      const marker = readStoreMarker(target);
      const r = await killMidWrite(target, sig, ['--force']);
      expect(r.signal).toBe(sig);
      expect(digest(target)).toBe(before);
      expect(readStoreMarker(target)).toEqual(marker);
      const left = partials(dir, 'store.zarr');
      expect(left.length).toBeGreaterThan(0);
      for (const p of left) expect(() => readStoreMarker(p)).toThrow(expect.objectContaining({ code: 'STORE_INCOMPLETE' }));
    },
  );

  it('killed before there was a store: no store appears; the next run removes what the killed ones left', async () => {
    const fresh = join(dir, 'fresh.zarr');
    await killMidWrite(fresh, 'SIGTERM');
    expect(existsSync(fresh)).toBe(false);
    expect(partials(dir, 'fresh.zarr').length).toBe(1);
    const r = await runCli([...ARGS, '--out', fresh]);
    expect(r.code).toBe(0);
    expect(readStoreMarker(fresh)['complete']).toBe(true);
    expect(partials(dir, 'fresh.zarr')).toEqual([]);
    expect(partials(dir, 'store.zarr')).toEqual([]);
  });

  it('--force replaces a store with the new one, leaving nothing beside it', async () => {
    const r = await runCli([...ARGS, '--out', target, '--force', '--zarr-format', '3', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ replaced: true, zarr_format: 3 });
    expect(readStoreMarker(target)['zarr_format']).toBe(3);
    expect(readdirSync(dir).filter((n) => n.startsWith('.store.zarr'))).toEqual([]);
  });
});
