/**
 * The streaming strategy keeps exactly the data `selective` keeps: same splits, same rows,
 * same bytes (compared through the retained digests), whatever the file layout (dense or
 * CSR, gzip or not, chunking), the window size (windows that cut groups apart, down to one
 * row) and the processing order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openH5ad } from '../../../src/h5ad/source.js';
import { synthesize, type SynthOptions } from '../../../src/h5ad/synth.js';
import type { PipelineConfig } from '../../../src/pipeline/config.js';
import { retainedDigests, runStrategy, type StrategyInput, type StrategyOptions } from '../../../src/strategies/index.js';
import type { StepObserver, StrategyName } from '../../../src/core/names.js';
import { datasetArb, tableSource, type ObsTable } from '../../helpers/arbitraries.js';
import { h5Ready } from '../../../src/h5ad/file.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

const observer: StepObserver = { step: (_dataset, _name, fn) => fn() };

function digests(strategy: StrategyName, inputs: readonly StrategyInput[], config: PipelineConfig, options: Partial<StrategyOptions> = {}) {
  return retainedDigests(runStrategy(strategy, inputs, config, observer, { gc: () => {}, ...options }).retained);
}

const dir = mkdtempSync(join(tmpdir(), 'cb-streaming-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Smallest cell count that gives every condition (and every cell line's control) a cell. */
function minimalCells(cellLines: number, conditions: number, controlFraction: number): number {
  for (let n = conditions + cellLines; ; n++) {
    const ctl = Math.round(n * controlFraction);
    if (ctl >= cellLines && n - ctl >= conditions) return n;
  }
}

const datasetSpecArb = fc
  .record({
    cellLines: fc.integer({ min: 1, max: 3 }),
    // At least 7 drugs: every split gets a split_by tuple with the ratios below.
    drugs: fc.integer({ min: 7, max: 9 }),
    doses: fc.subarray([0.1, 1, 10], { minLength: 1 }),
    controlFraction: fc.constantFrom(0.1, 0.2, 0.3),
    extra: fc.integer({ min: 0, max: 30 }),
    features: fc.integer({ min: 1, max: 6 }),
    dtype: fc.constantFrom('float32', 'float64'),
    density: fc.constantFrom(0.2, 0.5, 1),
    chunkRows: fc.integer({ min: 1, max: 16 }),
    seed: fc.integer({ min: 0, max: 1000 }),
  })
  .map(({ extra, ...s }) => ({
    ...s,
    cells: minimalCells(s.cellLines, s.cellLines * s.drugs * s.doses.length, s.controlFraction) + extra,
  }));

type Location = 'obsm/X_pca' | 'X';
const LOCATIONS: readonly Location[] = ['obsm/X_pca', 'X'];
const LAYOUTS = [
  { format: 'dense', compression: 'none' },
  { format: 'dense', compression: 'gzip' },
  { format: 'csr', compression: 'none' },
  { format: 'csr', compression: 'gzip' },
] as const;

// Writing an h5ad takes a few hundred ms, so the random files are drawn once (fixed seed):
// every layout at both locations, with random shapes, dtypes, chunking and conditions.
const pool = new Map<Location, Array<{ file: string; cells: number }>>();
beforeAll(async () => {
  const specs = fc.sample(datasetSpecArb, { seed: 42, numRuns: LOCATIONS.length * LAYOUTS.length });
  let i = 0;
  for (const location of LOCATIONS) {
    const files: Array<{ file: string; cells: number }> = [];
    for (const layout of LAYOUTS) {
      const spec = { ...specs[i]!, ...layout, dataLocation: location };
      const file = join(dir, `d${i++}.h5ad`);
      await synthesize(spec satisfies SynthOptions, file);
      files.push({ file, cells: spec.cells });
    }
    pool.set(location, files);
  }
});

const caseArb = fc.record({
  location: fc.constantFrom(...LOCATIONS),
  /** Which pool files, in which order (2 or 3 of the 4 at the location). */
  picks: fc.shuffledSubarray([0, 1, 2, 3], { minLength: 2, maxLength: 3 }),
  splitBy: fc.constantFrom(['drug'], ['drug', 'dosage'], ['cell_line', 'drug']),
  ratios: fc.constantFrom<[number, number, number]>([0.7, 0.15, 0.15], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33]),
  randomState: fc.integer({ min: 0, max: 2 ** 31 }),
  /** Rows per streaming window, as a fraction of the smallest dataset (1 row … all of it). */
  window: fc.double({ min: 0, max: 1, noNaN: true }),
  reverse: fc.boolean(),
});

/** Of the 60 in-memory cases, at least this many must split and keep data (seed 42 gives 32; both refuse the rest, mostly tables too small to split). */
const MIN_KEPT = 25;

describe('streaming keeps what selective keeps', () => {
  it('on random h5ad files: dense and CSR, gzip or not, any window size and order', async () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const files = c.picks.map((k) => pool.get(c.location)![k]!);
        const inputs: StrategyInput[] = files.map((f, i) => ({ name: `ds${i}`, open: () => openH5ad(f.file) }));
        const config: PipelineConfig = {
          dist_flag_key: 'control',
          src_dist_keys: ['cell_line'],
          tgt_dist_keys: ['drug', 'dosage'],
          rep_keys: { cell_line: 'cell_line_embeddings', drug: 'drug_embeddings' },
          data_location: c.location.split('/'),
          split: {
            split_by: [...c.splitBy],
            ratios: c.ratios,
            random_state: c.randomState,
            holdout_combinations: false,
            force_training_values: {},
          },
        };
        const minCells = Math.min(...files.map((f) => f.cells));
        const windowRows = Math.max(1, Math.round(c.window * minCells));
        const expected = digests('selective', inputs, config);
        expect(digests('streaming', inputs, config, { windowRows })).toEqual(expected);
        if (c.reverse) {
          const order = inputs.map((x) => x.name).reverse();
          expect(digests('streaming', inputs, config, { windowRows, order })).toEqual(expected);
        }
      }),
      { seed: 42, numRuns: 25 },
    );
  });

  it('on in-memory sources (random obs tables, categorical/numeric/string keys)', () => {
    // Both refusing a table (too few tuples to split, …) is the same answer, but compares no
    // data: the property must also have compared kept data in enough cases.
    let kept = 0;
    let refused = 0;
    fc.assert(
      fc.property(datasetArb, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 40 }), (d, n, windowRows) => {
        // Secondaries: the same table with its rows rotated, so the config fits every dataset.
        const inputs = Array.from({ length: n }, (_, i) => ({
          name: `m${i}`,
          open: () => (i === 0 ? d.source : tableSource(rotate(d.table, i))),
        }));
        const safe = (fn: () => unknown): unknown => {
          try {
            return fn();
          } catch (e) {
            return { error: (e as { code?: string }).code ?? String(e) };
          }
        };
        const expected = safe(() => digests('selective', inputs, d.config));
        expect(safe(() => digests('streaming', inputs, d.config, { windowRows }))).toEqual(expected);
        if (typeof expected === 'object' && expected !== null && 'error' in expected) refused++;
        else kept++;
      }),
      { seed: 42, numRuns: 60 },
    );
    console.info(`streaming vs selective on in-memory sources: ${kept} cases kept data, ${refused} refused by both`);
    expect(kept, `only ${kept} of ${kept + refused} cases kept any data`).toBeGreaterThanOrEqual(MIN_KEPT);
  });
});

/** The table with its rows rotated by k·nObs/3 (a different row order, same labels). */
function rotate(t: ObsTable, k: number): ObsTable {
  const shift = Math.floor((k * t.nObs) / 3) % t.nObs;
  const rot = <A extends Int32Array | Uint8Array>(a: A): A => {
    const out = a.slice() as A;
    for (let r = 0; r < a.length; r++) out[r] = a[(r + shift) % a.length]!;
    return out;
  };
  return { ...t, cells: Object.fromEntries(Object.entries(t.cells).map(([k2, v]) => [k2, rot(v)])), control: rot(t.control) };
}
