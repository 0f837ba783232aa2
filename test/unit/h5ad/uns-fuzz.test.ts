// A corrupt uns section: each embedding read from the file equals HDF5's read, or ends in a coded error.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isCellbudgetError } from '../../../src/core/errors.js';
import { h5Ready, H5File } from '../../../src/h5ad/file.js';
import { readEmbeddings } from '../../../src/h5ad/uns.js';
import { applyCorruptions, corruptionArb } from '../../helpers/arbitraries.js';
import { DATASETS } from '../../helpers/fixtures.js';

await h5Ready();

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-uns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fuzz: corrupted uns', () => {
  // anndata writes uns last: corruptions in the last part of the file hit the embedding
  // dictionaries' symbol tables, local heaps, headers and values.
  const bytes = readFileSync(`${DATASETS}/tiny.h5ad`);
  const uns = (() => {
    const f = H5File.open(`${DATASETS}/tiny.h5ad`);
    try {
      return f.keys('/uns').filter((k) => f.isGroup(`/uns/${k}`));
    } finally {
      f.close();
    }
  })();
  const position = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => 0.6 + (0.4 * n) / 1_000_000);
  const corruption = corruptionArb(position, { maxFlip: 16, maxOverwrite: 64, truncate: false });
  let run = 0;

  it("each vector read from the file equals HDF5's read of it, or the read ends in a coded error", async () => {
    expect(uns.length).toBeGreaterThan(0);
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(corruption, { minLength: 1, maxLength: 3 }), async (ops) => {
        const b = applyCorruptions(bytes, ops);
        const p = join(dir, `uns-fuzz-${run++}.h5ad`);
        writeFileSync(p, b);
        let outcome = 'ok';
        try {
          const f = H5File.open(p);
          try {
            for (const key of uns) {
              const got = readEmbeddings(f, key);
              const stored = f.storedVectors(`/uns/${key}`);
              for (const [label, v] of stored ?? []) {
                if (v === null || !got.has(label)) continue;
                outcome = 'ok (some read from the file)';
                const path = `/uns/${key}/${label}`;
                const meta = f.metadata(path);
                const viaHdf5 = new (v instanceof Float32Array ? Float32Array : Float64Array)(v.length);
                f.readRowsInto(path, meta, 0, v.length, viaHdf5);
                expect(Array.from(got.get(label)!), path).toEqual(Array.from(viaHdf5));
              }
            }
          } finally {
            f.close();
          }
        } catch (e) {
          if (!isCellbudgetError(e)) throw new Error(`escaped: ${String(e)}`, { cause: e });
          outcome = e.code;
        } finally {
          rmSync(p, { force: true });
          await h5Ready();
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }),
      { seed: 7, numRuns: 60 },
    );
    console.log('uns fuzz outcomes:', Object.fromEntries(outcomes));
    expect(outcomes.get('ok (some read from the file)') ?? 0).toBeGreaterThan(0);
  });
});
