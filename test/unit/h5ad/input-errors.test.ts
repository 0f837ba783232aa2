// Bad input files through `cellbudget split`: absurd declared shapes are checked against obs and
// against memory, a wrong data_location names the key, a corrupt string is a coded error with
// nothing of Emscripten's on stderr. Exit 2 each, with the code.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DATASETS } from '../../helpers/fixtures.js';
import { synthesize } from '../../../src/h5ad/synth.js';
import { H5adWriter } from '../../../src/h5ad/write.js';
import { runCli as cli } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cb-input-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('absurd shapes are input errors, checked against obs and against memory', () => {
  const CELLS = 400;
  const dense = join(dir, 'shapes-dense.h5ad');
  const csr = join(dir, 'shapes-csr.h5ad');
  const cfg = (location: string[]): string => {
    const p = join(dir, `cfg-${location.join('-')}.json`);
    writeFileSync(
      p,
      JSON.stringify({
        dist_flag_key: 'control',
        src_dist_keys: ['cell_line'],
        tgt_dist_keys: ['drug', 'dosage'],
        rep_keys: { cell_line: 'cell_line_embeddings', drug: 'drug_embeddings' },
        data_location: location,
        split: { split_by: ['drug'], ratios: [0.6, 0.2, 0.2], random_state: 0 },
      }),
    );
    return p;
  };
  const variant = (from: string, name: string, edit: (w: H5adWriter) => void): string => {
    const p = join(dir, `${name}.h5ad`);
    copyFileSync(from, p);
    const w = H5adWriter.append(p);
    try {
      edit(w);
    } finally {
      w.close();
    }
    return p;
  };
  beforeAll(async () => {
    const common = { cells: CELLS, features: 4, cellLines: 2, drugs: 10, doses: [1], seed: 5 };
    await synthesize({ ...common, format: 'dense', dataLocation: 'obsm/X_pca' }, dense);
    await synthesize({ ...common, format: 'csr', dataLocation: 'X' }, csr);
  });

  it('an obsm with 10^12 rows beside 400 cells: split (no --digest) exits 2 with H5AD_INVALID', async () => {
    const f = variant(dense, 'huge-obsm', (w) => w.declaredArray('/obsm/X_big', new Float32Array(8 * 4), [1e12, 4]));
    const r = await cli(['split', f, '--config', cfg(['obsm', 'X_big'])]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_INVALID.*obsm\/X_big.*1,000,000,000,000 rows but obs has 400 cells/);
  });

  it('an obsm shorter than obs is an input error, not USAGE', async () => {
    const f = variant(dense, 'short-obsm', (w) => w.declaredArray('/obsm/X_short', new Float32Array((CELLS - 20) * 4), [CELLS - 20, 4]));
    const r = await cli(['split', f, '--config', cfg(['obsm', 'X_short']), '--digest']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_INVALID.*380 rows but obs has 400 cells/);
  });

  it('a CSR matrix declaring 10^12 columns exits 2 under --digest (a row would not fit in memory)', async () => {
    const f = variant(csr, 'wide-csr', (w) => w.replaceInt64ListAttr('/X', 'shape', [CELLS, 1e12]));
    const r = await cli(['split', f, '--config', cfg(['X']), '--digest']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_INVALID.*1,000,000,000,000 columns in one row.*more than this machine's/);
  });

  it('an obs declaring 10^12 rows exits 2 instead of an invalid typed array length', async () => {
    const p = join(dir, 'huge-obs.h5ad');
    const w = H5adWriter.create(p);
    try {
      w.attrs('/', { 'encoding-type': 'anndata', 'encoding-version': '0.1.0' });
      w.group('/obs', 'dataframe', '0.2.0');
      w.attrs('/obs', { _index: 'cell' });
      w.stringListAttr('/obs', 'column-order', ['control']);
      w.declaredArray('/obs/cell', new Int32Array(8), [1e12]);
      w.declaredArray('/obs/control', new Int8Array(8), [1e12]);
      w.group('/obsm', 'dict', '0.1.0');
      w.declaredArray('/obsm/X_pca', new Float32Array(8 * 4), [1e12, 4]);
    } finally {
      w.close();
    }
    const r = await cli(['split', p, '--config', cfg(['obsm', 'X_pca'])]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_INVALID.*declares 1,000,000,000,000/);
  });
});

describe('bad input beside the shapes', () => {
  it('split without --digest refuses a wrong data_location', async () => {
    const cfgPath = join(dir, 'wrong-location.json');
    const config = JSON.parse(readFileSync(`${DATASETS}/tiny.config.json`, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfgPath, JSON.stringify({ ...config, data_location: ['obsm', 'X_umap'] }));
    const r = await cli(['split', `${DATASETS}/tiny.h5ad`, '--config', cfgPath]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_MISSING_KEY.*obsm\/X_umap/);
  });

  it("a corrupt string does not leak Emscripten's UTF-8 warning to stderr", async () => {
    const b = Buffer.from(readFileSync(`${DATASETS}/strings.h5ad`));
    // The global heap's object 'dosage' (a column name): make its first byte an invalid UTF-8 lead.
    let at = b.indexOf('GCOL') + 16;
    for (let k = 0; k < 64; k++) {
      const size = Number(b.readBigUInt64LE(at + 8));
      if (b.toString('utf8', at + 16, at + 16 + size) === 'dosage') break;
      at += 16 + Math.ceil(size / 8) * 8;
    }
    b[at + 16] = 0xf8;
    const p = join(dir, 'bad-utf8.h5ad');
    writeFileSync(p, b);
    const leaked: string[] = [];
    const spies = [
      vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void leaked.push(a.join(' '))),
      vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void leaked.push(a.join(' '))),
    ];
    const write = process.stderr.write.bind(process.stderr);
    const capture = (s: string | Uint8Array): boolean => {
      leaked.push(String(s));
      return write(s);
    };
    process.stderr.write = capture as typeof process.stderr.write;
    try {
      const r = await cli(['split', p, '--config', `${DATASETS}/strings.config.json`]);
      expect(r.code).toBe(2);
      expect(r.err).not.toMatch(/Invalid UTF-8/);
    } finally {
      process.stderr.write = write;
      for (const s of spies) s.mockRestore();
    }
    expect(leaked.join('\n')).not.toMatch(/Invalid UTF-8/);
  });
});
