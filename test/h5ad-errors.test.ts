import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isCellbudgetError } from '../src/errors.js';
import { h5Ready } from '../src/h5ad/file.js';
import { inspectH5ad } from '../src/h5ad/inspect.js';
import { openH5ad, withH5ad } from '../src/h5ad/source.js';
import { DATASETS, fixtureDir } from './h5ad/fixtures.js';

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
      expect(codeOf(() => openH5ad(p)), `cut at ${keep}`).toBe('FILE_TRUNCATED');
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
  const corruption = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: position, len: fc.integer({ min: 1, max: 64 }), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('overwrite' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 256 }) }),
    fc.record({ op: fc.constant('truncate' as const), at: position }),
  );
  let run = 0;

  it('open + read obs + read matrix always succeeds or throws a coded CellbudgetError', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...originals), fc.array(corruption, { minLength: 1, maxLength: 3 }), async (orig, ops) => {
        let b = Buffer.from(orig.bytes);
        for (const o of ops) {
          const pos = Math.floor(o.at * b.length);
          if (o.op === 'flip') for (let i = pos; i < Math.min(b.length, pos + o.len); i++) b[i] = b[i]! ^ (1 << o.bit);
          else if (o.op === 'overwrite') b.set(o.bytes.subarray(0, b.length - pos), pos);
          else b = b.subarray(0, pos);
        }
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

describe('after a WebAssembly abort', () => {
  it('refuses the dead instance, then a fresh one reads again', async () => {
    const { guard, h5lib } = await import('../src/h5ad/file.js');
    const lib = h5lib();
    const abort = Object.assign(new Error('Aborted(native code called abort())'), { name: 'RuntimeError' });
    expect(codeOf(() => guard(lib, 'x.h5ad', 'obs', 'testing', () => {
      throw abort;
    }))).toBe('FILE_UNREADABLE');
    expect(codeOf(() => guard(lib, 'x.h5ad', 'obs', 'testing', () => 1))).toBe('FILE_UNREADABLE');
    await h5Ready();
    expect(h5lib()).not.toBe(lib);
    expect(() => readEverything(`${DATASETS}/tiny.h5ad`)).not.toThrow();
  });
});
