// Shared helpers for the h5ad reader tests: fixtures written by h5py/anndata (the reference tools).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PY = '/usr/bin/python3';
// shared/ sits beside the checkout (a developer's /work/main, CI's fresh clone alike).
export const GOLDEN = process.env['CELLBUDGET_GOLDEN'] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'golden');

let cached: string | null | undefined;

/** Why Python fixtures cannot be made, or null when they can. */
export function pythonMissing(): string | null {
  const r = spawnSync(PY, ['-c', 'import h5py, anndata, scipy'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PY} with h5py, anndata and scipy is not available (install Debian's python3-anndata)`;
}

/** Write the fixture files once per test process; returns their directory, or null without Python. */
export function fixtureDir(): string | null {
  if (cached !== undefined) return cached;
  if (pythonMissing() !== null) return (cached = null);
  const dir = mkdtempSync(join(tmpdir(), 'cellbudget-h5ad-'));
  const script = fileURLToPath(new URL('./make_fixtures.py', import.meta.url));
  const r = spawnSync(PY, [script, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make_fixtures.py failed: ${r.stderr}`);
  return (cached = dir);
}
