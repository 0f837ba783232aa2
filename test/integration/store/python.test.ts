// The store as Python reads it: Debian's zarr 2.13 opens every element and anndata 0.8 reads the
// annotation; each is compared with the source file (read by anndata), with `cellbudget split
// --rows --json` on the same file, and with the reference pipeline's answers (the golden files); the splits
// computed from the store's annotation (check_store.py's own small splitter) equal split's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { synthesize } from '../../../src/h5ad/synth.js';
import { runCli } from '../../helpers/cli.js';
import { describeGolden, GOLDEN, PY } from '../../helpers/fixtures.js';

const CHECK = join(dirname(fileURLToPath(import.meta.url)), 'check_store.py');
const probe = spawnSync(PY, ['-c', 'import zarr, anndata, numcodecs, scipy'], { encoding: 'utf8' });
const missing =
  probe.status === 0 ? null : `${PY} with zarr, anndata and scipy is not available (install Debian's python3-zarr and python3-anndata)`;
if (missing) console.warn(`skipping the store's Python checks: ${missing}`);

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-store-py-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CheckResult {
  checked: string[];
  failures: string[];
}

/** prepare FILE, split --rows --json FILE, then check_store.py on the store against the manifest (and `also`). */
async function prepareAndCheck(
  name: string,
  file: string,
  config: string,
  also: string[] = [],
  extra: string[] = [],
): Promise<CheckResult> {
  const store = join(dir, `${name}.zarr`);
  const p = await runCli(['prepare', file, '--config', config, '--out', store, ...extra]);
  expect(p.err).toBe('');
  expect(p.code).toBe(0);
  const s = await runCli(['split', file, '--config', config, '--rows', '--json']);
  expect(s.code).toBe(0);
  const cfg = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
  const manifest = join(dir, `${name}.split.json`);
  writeFileSync(manifest, JSON.stringify({ config: 'config' in cfg ? cfg['config'] : cfg, expected: JSON.parse(s.out) }));
  const r = spawnSync(PY, [CHECK, store, file, manifest, ...also], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`check_store.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as CheckResult;
}

const CASES = ['tiny', 'by_line', 'combos', 'strings', 'forced'] as const;

describeGolden.each(CASES)('the store of golden case %s, read by zarr 2.13 and anndata 0.8', (name) => {
  it.skipIf(missing !== null)(
    'holds the reference’s distributions, conditions, maps, labels and annotation; its splits are split’s',
    async () => {
      const golden = `${GOLDEN}/${name}.json`;
      const r = await prepareAndCheck(name, `${GOLDEN}/${name}.h5ad`, golden, [golden]);
      expect(r.failures).toEqual([]);
      expect(r.checked).toContain('splits from the store');
      expect(r.checked.length).toBeGreaterThan(50);
    },
  );
});

const SYNTH_CONFIG = {
  dist_flag_key: 'control',
  src_dist_keys: ['cell_line'],
  tgt_dist_keys: ['drug', 'dosage'],
  rep_keys: { cell_line: 'cell_line_embeddings', drug: 'drug_embeddings' },
  split: { split_by: ['drug'], ratios: [0.6, 0.2, 0.2], random_state: 42, holdout_combinations: false, force_training_values: {} },
};

describe('stores of compressed and sparse inputs, read by zarr 2.13 and anndata 0.8', () => {
  it.skipIf(missing !== null).each([
    ['gzip', { compression: 'gzip', chunkRows: 300, dataLocation: 'obsm/X_pca' }, ['obsm', 'X_pca']],
    ['csr', { format: 'csr', dataLocation: 'X', density: 0.2, features: 40 }, ['X']],
    ['float64', { dtype: 'float64', dataLocation: 'obsm/X_pca' }, ['obsm', 'X_pca']],
  ] as const)('%s: rows as anndata reads them (a CSR matrix densified), the rest as split says', async (name, opts, location) => {
    const file = join(dir, `${name}.h5ad`);
    await synthesize({ cells: 2500, features: 12, cellLines: 3, drugs: 6, seed: 5, ...opts }, file);
    const config = join(dir, `${name}.config.json`);
    writeFileSync(config, JSON.stringify({ ...SYNTH_CONFIG, data_location: location }));
    // Chunks smaller than most distributions: every array has a partial last chunk.
    const r = await prepareAndCheck(name, file, config, [], ['--chunk-rows', '16']);
    expect(r.failures).toEqual([]);
    expect(r.checked).toContain('tgt_data/0 rows');
  });
});
