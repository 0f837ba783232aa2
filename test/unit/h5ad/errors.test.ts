import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCellbudgetError } from '../../../src/core/errors.js';
import { h5Ready } from '../../../src/h5ad/file.js';
import { inspectH5ad } from '../../../src/h5ad/inspect.js';
import { openH5ad, withH5ad } from '../../../src/h5ad/source.js';
import { synthesize } from '../../../src/h5ad/synth.js';
import { H5adWriter } from '../../../src/h5ad/write.js';
import { applyCorruptions, corruptionArb } from '../../helpers/arbitraries.js';
import { DATASETS, fixtureDir } from '../../helpers/fixtures.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-h5ad-err-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Open, read every obs column, the index, the representation and the embeddings. */
function readEverything(path: string): void {
  withH5ad(path, (src) => {
    for (const c of src.obsColumnNames()) src.readObsColumn(c);
    src.readObsIndex();
    src.matrixInfo(['obsm', 'X_pca']);
    src.readMatrix(['obsm', 'X_pca']);
    src.readRows(['obsm', 'X_pca'], 1, 3);
    for (const k of src.unsKeys()) src.readEmbeddings(k);
  });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isCellbudgetError(e) ? e.code : `not a CellbudgetError: ${String(e)}`;
  }
}

describe('bad input ends in a coded CellbudgetError', () => {
  it('missing file', () => {
    expect(codeOf(() => openH5ad(join(dir, 'nope.h5ad')))).toBe('FILE_NOT_FOUND');
    expect(() => openH5ad(join(dir, 'nope.h5ad'))).toThrow(/nope\.h5ad/);
  });

  it('a text file is not HDF5', () => {
    const p = join(dir, 'notes.h5ad');
    writeFileSync(p, 'cell,drug\nc1,DMSO\n'.repeat(100));
    expect(codeOf(() => openH5ad(p))).toBe('FILE_NOT_HDF5');
    writeFileSync(join(dir, 'empty.h5ad'), '');
    expect(codeOf(() => openH5ad(join(dir, 'empty.h5ad')))).toBe('FILE_NOT_HDF5');
  });

  it('a truncated file, whatever the cut, before HDF5 sees it', () => {
    const bytes = readFileSync(`${DATASETS}/tiny.h5ad`);
    for (const keep of [9, 100, 2048, bytes.length / 2, bytes.length - 1]) {
      const p = join(dir, `cut-${keep}.h5ad`);
      writeFileSync(p, bytes.subarray(0, Math.floor(keep)));
      expect(
        codeOf(() => openH5ad(p)),
        `cut at ${keep}`,
      ).toBe('FILE_TRUNCATED');
    }
  });

  it('a missing key names what exists', () => {
    withH5ad(`${DATASETS}/tiny.h5ad`, (src) => {
      let err: unknown;
      try {
        src.matrixInfo(['obsm', 'X_umap']);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'H5AD_MISSING_KEY', key: 'obsm/X_umap' });
      expect((err as Error).message).toMatch(/X_pca/);
      expect(codeOf(() => src.readRows(['layers', 'counts'], 0, 1))).toBe('H5AD_MISSING_KEY');
      expect(codeOf(() => src.readObsColumn('batch'))).toBe('OBS_MISSING_COLUMN');
      expect(codeOf(() => src.readEmbeddings('gene_embeddings'))).toBe('UNS_MISSING_KEY');
      expect(codeOf(() => src.matrixInfo(['obs']))).toBe('H5AD_UNSUPPORTED_ENCODING');
    });
  });

  it('an lzf-compressed matrix: refused with how to rewrite the file', () => {
    withH5ad(`${fixtureDir()}/lzf.h5ad`, (src) => {
      let err: unknown;
      try {
        src.readRows(['obsm', 'X_pca'], 0, 2);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'H5AD_UNSUPPORTED_FILTER', key: 'obsm/X_pca' });
      expect((err as Error).message).toMatch(/lzf.*compression='gzip'/s);
      expect(codeOf(() => src.matrixInfo(['obsm', 'X_pca']))).toBe('H5AD_UNSUPPORTED_FILTER');
    });
    const report = inspectH5ad(`${fixtureDir()}/lzf.h5ad`);
    expect(report.matrices[0]?.error?.code).toBe('H5AD_UNSUPPORTED_FILTER');
  });

  it('after a close, reads are refused, and close is idempotent', () => {
    const src = openH5ad(`${DATASETS}/tiny.h5ad`);
    src.close();
    src.close();
    expect(codeOf(() => src.readObsColumn('drug'))).toBe('USAGE');
  });
});

describe('fuzz: corrupted anndata files', () => {
  const originals = ['tiny', 'combos'].map((n) => ({ name: n, bytes: readFileSync(`${DATASETS}/${n}.h5ad`) }));
  // Unbiased positions: fast-check favours small numbers, which would nearly always hit the signature.
  const position = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1_000_000);
  const corruption = corruptionArb(position, { maxFlip: 64, maxOverwrite: 256, truncate: true });
  let run = 0;

  it('open + read obs + read matrix always succeeds or throws a coded CellbudgetError', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...originals), fc.array(corruption, { minLength: 1, maxLength: 3 }), async (orig, ops) => {
        const b = applyCorruptions(orig.bytes, ops);
        // A fresh path each run: HDF5 recognises an already-open file by device and inode.
        const p = join(dir, `fuzz-${run++}.h5ad`);
        copyFileSync(`${DATASETS}/${orig.name}.h5ad`, p);
        writeFileSync(p, b);
        let outcome = 'ok';
        try {
          readEverything(p);
        } catch (e) {
          if (!isCellbudgetError(e)) throw new Error(`escaped: ${String(e)}`, { cause: e });
          expect(typeof e.code).toBe('string');
          expect(e.message.length).toBeGreaterThan(20);
          outcome = e.code;
        } finally {
          rmSync(p, { force: true });
          await h5Ready();
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }),
      { seed: 42, numRuns: 100 },
    );
    console.log('fuzz outcomes:', Object.fromEntries(outcomes));
    // The reader is still usable afterwards.
    expect(() => readEverything(`${DATASETS}/tiny.h5ad`)).not.toThrow();
  });
});

describe('fuzz: shape attributes', () => {
  // Shapes a corrupt or hand-edited file can declare in a few kilobytes: a matrix or an obs
  // column longer or shorter than obs, 10^12 rows or columns, a csr `shape` attribute that
  // disagrees with its arrays, an obs of 10^12 cells. Each must end in a coded input error,
  // never a RangeError, an abort or an allocation of the declared size.
  const N = 120;
  const base: Record<'dense' | 'csr', string> = { dense: join(dir, 'shape-dense.h5ad'), csr: join(dir, 'shape-csr.h5ad') };
  beforeAll(async () => {
    const common = { cells: N, features: 4, cellLines: 2, drugs: 3, doses: [1], seed: 3 };
    await synthesize({ ...common, format: 'dense', dataLocation: 'obsm/X_pca' }, base.dense);
    await synthesize({ ...common, format: 'csr', dataLocation: 'X' }, base.csr);
  });
  const size = fc.constantFrom(0, 1, N - 1, N, N + 1, 2 ** 31, 1e12, 2 ** 53);
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('obs-column' as const), rows: size }),
    fc.record({ op: fc.constant('obsm' as const), rows: size, cols: fc.constantFrom(0, 1, 4, 1e12) }),
    fc.record({ op: fc.constant('csr-shape' as const), rows: size, cols: fc.constantFrom(-1, 0, 3, 4, 5, 1e12, 2 ** 53) }),
    fc.record({ op: fc.constant('obs-rows' as const), rows: fc.constantFrom(0, 5, 1e12, 2 ** 40) }),
  );
  let run = 0;

  function apply(m: { op: string; rows: number; cols?: number }): { path: string; location: string[] } {
    const p = join(dir, `shape-${run++}.h5ad`);
    if (m.op === 'obs-rows') {
      const w = H5adWriter.create(p);
      try {
        w.attrs('/', { 'encoding-type': 'anndata', 'encoding-version': '0.1.0' });
        w.group('/obs', 'dataframe', '0.2.0');
        w.attrs('/obs', { _index: 'cell' });
        w.stringListAttr('/obs', 'column-order', ['n']);
        w.declaredArray('/obs/cell', new Int32Array(Math.min(m.rows, 8)), [m.rows]);
        w.declaredArray('/obs/n', new Int8Array(Math.min(m.rows, 8)), [m.rows]);
        w.group('/obsm', 'dict', '0.1.0');
        w.declaredArray('/obsm/X_pca', new Float32Array(Math.min(m.rows, 8) * 4), [m.rows, 4]);
      } finally {
        w.close();
      }
      return { path: p, location: ['obsm', 'X_pca'] };
    }
    copyFileSync(m.op === 'csr-shape' ? base.csr : base.dense, p);
    const w = H5adWriter.append(p);
    try {
      if (m.op === 'obs-column') w.declaredArray('/obs/extra', new Int8Array(Math.min(m.rows, 8)), [m.rows]);
      else if (m.op === 'obsm')
        w.declaredArray('/obsm/X_bad', new Float32Array(Math.min(m.rows, 8) * Math.min(m.cols ?? 1, 4)), [m.rows, m.cols ?? 1]);
      else w.replaceInt64ListAttr('/X', 'shape', [m.rows, m.cols ?? 0]);
    } finally {
      w.close();
    }
    return { path: p, location: m.op === 'obsm' ? ['obsm', 'X_bad'] : m.op === 'csr-shape' ? ['X'] : ['obsm', 'X_pca'] };
  }

  it('every declared shape is read within obs and memory, or refused with a coded input error', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let made: { path: string; location: string[] };
        try {
          made = apply(m);
        } catch (e) {
          // HDF5 itself refused to write that shape (e.g. past its own limits): nothing to read.
          if (isCellbudgetError(e) && e.code === 'H5AD_WRITE_FAILED') return;
          throw e;
        }
        let outcome = 'ok';
        try {
          withH5ad(made.path, (src) => {
            for (const c of [...src.obsColumnNames(), ...(m.op === 'obs-column' ? ['extra'] : [])]) src.readObsColumn(c);
            const info = src.matrixInfo(made.location);
            src.readRows(made.location, 0, Math.min(2, info.shape[0]));
            src.readMatrix(made.location);
          });
        } catch (e) {
          if (!isCellbudgetError(e)) throw new Error(`escaped for ${JSON.stringify(m)}: ${String(e)}`, { cause: e });
          expect(e.message.length).toBeGreaterThan(20);
          outcome = e.code;
        } finally {
          rmSync(made.path, { force: true });
          await h5Ready();
        }
        // A length other than obs's is an input error, not a window the caller got wrong.
        const mismatched = (m.op === 'obs-column' || m.op === 'obsm' || m.op === 'csr-shape') && m.rows !== N;
        if (mismatched) expect(outcome, JSON.stringify(m)).toBe('H5AD_INVALID');
        if (m.op === 'obs-rows' && m.rows >= 1e12) expect(outcome, JSON.stringify(m)).toBe('H5AD_INVALID');
        outcomes.set(`${m.op}:${outcome}`, (outcomes.get(`${m.op}:${outcome}`) ?? 0) + 1);
      }),
      { seed: 16, numRuns: 60 },
    );
    console.log('shape fuzz outcomes:', Object.fromEntries(outcomes));
  });
});

describe('after a WebAssembly abort', () => {
  it('refuses the dead instance, then a fresh one reads again', async () => {
    const { guard, h5lib } = await import('../../../src/h5ad/file.js');
    const lib = h5lib();
    const abort = Object.assign(new Error('Aborted(native code called abort())'), { name: 'RuntimeError' });
    expect(
      codeOf(() =>
        guard(lib, 'x.h5ad', 'obs', 'testing', () => {
          throw abort;
        }),
      ),
    ).toBe('FILE_UNREADABLE');
    expect(codeOf(() => guard(lib, 'x.h5ad', 'obs', 'testing', () => 1))).toBe('FILE_UNREADABLE');
    await h5Ready();
    expect(h5lib()).not.toBe(lib);
    expect(() => readEverything(`${DATASETS}/tiny.h5ad`)).not.toThrow();
  });
});
