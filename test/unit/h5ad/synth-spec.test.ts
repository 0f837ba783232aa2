import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CellbudgetError } from '../../../src/core/errors.js';
import { cellsForSize, representationBytes, resolveSynthSpec, SynthGenerator, synthSpecKey } from '../../../src/h5ad/synth.js';
import type { SynthOptions } from '../../../src/h5ad/synth.js';

const small: SynthOptions = { cells: 2000, features: 6, cellLines: 3, drugs: 4, doses: [0.1, 1, 10], controlFraction: 0.1, seed: 7 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CellbudgetError);
    return (e as CellbudgetError).code;
  }
  return undefined;
}

describe('resolveSynthSpec refuses bad options with CONFIG_INVALID', () => {
  it.each<[string, SynthOptions]>([
    ['negative cells', { ...small, cells: -5 }],
    ['fractional cells', { ...small, cells: 10.5 }],
    ['control fraction 1', { ...small, controlFraction: 1 }],
    ['negative control fraction', { ...small, controlFraction: -0.1 }],
    ['unknown dtype', { ...small, dtype: 'int8' }],
    ['unknown compression', { ...small, compression: 'lzf' }],
    ['unknown location', { ...small, dataLocation: 'layers/counts' }],
    ['no doses', { ...small, doses: [] }],
    ['zero dose', { ...small, doses: [0, 1] }],
    ['repeated dose', { ...small, doses: [1, 1] }],
    ['density 0', { ...small, format: 'csr', density: 0 }],
    ['cells and size', { ...small, size: '1MB' }],
    ['neither cells nor size', { features: 5 }],
    ['unparseable size', { size: 'lots', features: 5 }],
    ['too few cells for the conditions', { ...small, cells: 30 }],
    ['too few controls for the cell lines', { ...small, cells: 40, controlFraction: 0.01 }],
  ])('%s', (_name, opts) => {
    expect(codeOf(() => resolveSynthSpec(opts))).toBe('CONFIG_INVALID');
  });

  it('says how many cells would cover every condition', () => {
    try {
      resolveSynthSpec({ ...small, cells: 30 });
    } catch (e) {
      const m = /at least (\d+) cells/.exec((e as Error).message);
      expect(m).not.toBeNull();
      const need = Number(m?.[1]);
      expect(() => resolveSynthSpec({ ...small, cells: need })).not.toThrow();
      expect(codeOf(() => resolveSynthSpec({ ...small, cells: need - 1 }))).toBe('CONFIG_INVALID');
    }
  });
});

describe('size → cell count', () => {
  it('dense: floor(size / (features × itemsize))', () => {
    expect(cellsForSize('132MB', 50, 'float32')).toBe(660_000);
    expect(cellsForSize('132MB', 50, 'float64')).toBe(330_000);
    expect(cellsForSize(1001, 10, 'float32')).toBe(25);
    expect(cellsForSize('1GiB', 64, 'float32')).toBe(Math.floor(2 ** 30 / 256));
  });

  it('csr: data + int32 indices + int64 indptr', () => {
    // 10 features at density 0.2 → 2 entries per row: 2 × (4 + 4) + 8 = 24 bytes per row, plus 8.
    expect(cellsForSize(24 * 100 + 8, 10, 'float32', 'csr', 0.2)).toBe(100);
    expect(cellsForSize(24 * 100 + 7, 10, 'float32', 'csr', 0.2)).toBe(99);
  });

  it('a spec resolved from a size has the cell count and never exceeds the size', () => {
    const spec = resolveSynthSpec({ size: '2MB', features: 50, cellLines: 2, drugs: 3, doses: [1] });
    expect(spec.cells).toBe(10_000);
    expect(representationBytes(spec)).toBeLessThanOrEqual(2e6);
    const csr = resolveSynthSpec({
      size: '2MB',
      features: 50,
      cellLines: 2,
      drugs: 3,
      doses: [1],
      format: 'csr',
      density: 0.1,
      dtype: 'float64',
    });
    expect(representationBytes(csr)).toBeLessThanOrEqual(2e6);
    expect(representationBytes({ ...csr, cells: csr.cells + 1 })).toBeGreaterThan(2e6);
  });
});

describe('synthSpecKey', () => {
  it('is stable for equal specs and differs when anything that changes the file differs', () => {
    const a = resolveSynthSpec(small);
    expect(synthSpecKey(a)).toBe(synthSpecKey(resolveSynthSpec({ ...small })));
    expect(synthSpecKey(a)).toMatch(/^[0-9a-f]{16}$/);
    for (const change of [
      { seed: 8 },
      { cells: 2001 },
      { dtype: 'float64' },
      { compression: 'gzip' },
      { doses: [0.1, 1, 11] },
      { chunkRows: 17 },
    ]) {
      expect(synthSpecKey(resolveSynthSpec({ ...small, ...change }))).not.toBe(synthSpecKey(a));
    }
    // Settings that cannot change the file do not change the key.
    expect(synthSpecKey(resolveSynthSpec({ ...small, gzipLevel: 9 }))).toBe(synthSpecKey(a));
    expect(synthSpecKey(resolveSynthSpec({ ...small, density: 0.5 }))).toBe(synthSpecKey(a));
    expect(synthSpecKey(resolveSynthSpec({ ...small, compression: 'gzip', gzipLevel: 9 }))).not.toBe(
      synthSpecKey(resolveSynthSpec({ ...small, compression: 'gzip' })),
    );
  });
});

describe('the generator', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const spec = resolveSynthSpec(small);
    const g1 = new SynthGenerator(spec);
    const g2 = new SynthGenerator(resolveSynthSpec(small));
    const g3 = new SynthGenerator(resolveSynthSpec({ ...small, seed: 8 }));
    expect(g1.obs.cellLineCodes).toEqual(g2.obs.cellLineCodes);
    expect(g1.obs.drugCodes).toEqual(g2.obs.drugCodes);
    expect(g1.obs.dosage).toEqual(g2.obs.dosage);
    expect(g1.obs.control).toEqual(g2.obs.control);
    const r1 = new Float32Array(100 * 6);
    const r2 = new Float32Array(100 * 6);
    g1.fillDense(500, 600, r1);
    g2.fillDense(500, 600, r2);
    expect(r1).toEqual(r2);
    expect(g3.obs.drugCodes).not.toEqual(g1.obs.drugCodes);
    expect([...g1.drugEmbeddings().values()]).toEqual([...g2.drugEmbeddings().values()]);
  });

  it('fills a window the same whichever window it is generated in', () => {
    const g = new SynthGenerator(resolveSynthSpec(small));
    const whole = new Float64Array(2000 * 6);
    g.fillDense(0, 2000, whole);
    const part = new Float64Array(37 * 6);
    g.fillDense(1234, 1271, part);
    expect(part).toEqual(whole.subarray(1234 * 6, 1271 * 6));
  });

  it('controls carry the control drug and dosage 0; perturbed cells a listed dose', () => {
    const g = new SynthGenerator(resolveSynthSpec(small));
    const { obs } = g;
    const ctrl = obs.drugCategories.indexOf('DMSO_TF');
    expect(ctrl).toBeGreaterThanOrEqual(0);
    let nControl = 0;
    for (let i = 0; i < 2000; i++) {
      if (obs.control[i]) {
        nControl++;
        expect(obs.drugCodes[i]).toBe(ctrl);
        expect(obs.dosage[i]).toBe(0);
      } else {
        expect(obs.drugCodes[i]).not.toBe(ctrl);
        expect([0.1, 1, 10]).toContain(obs.dosage[i]);
      }
    }
    expect(nControl).toBe(200);
    expect([...g.drugEmbeddings().keys()]).toEqual(obs.drugCategories);
    expect([...g.cellLineEmbeddings().keys()]).toEqual(obs.cellLineCategories);
  });

  it('rows of one condition cluster around their own centre', () => {
    const g = new SynthGenerator(resolveSynthSpec(small));
    const rows = new Float64Array(2000 * 6);
    g.fillDense(0, 2000, rows);
    // Every row is within the noise amplitude (±0.25) of the first row of its condition, ±0.5.
    const first = new Map<number, number>();
    for (let r = 0; r < 2000; r++) {
      const c = g.obs.condition[r]!;
      const f = first.get(c) ?? r;
      first.set(c, f);
      for (let j = 0; j < 6; j++) expect(Math.abs(rows[r * 6 + j]! - rows[f * 6 + j]!)).toBeLessThanOrEqual(0.5);
    }
  });

  it('every (cell line, drug, dose) and every control exists, balanced within one cell (property)', () => {
    const arb = fc.record({
      cellLines: fc.integer({ min: 1, max: 6 }),
      drugs: fc.integer({ min: 1, max: 8 }),
      nDoses: fc.integer({ min: 1, max: 4 }),
      perCondition: fc.integer({ min: 1, max: 12 }),
      controlFraction: fc.constantFrom(0, 0.05, 0.2, 0.5),
      seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    });
    fc.assert(
      fc.property(arb, (p) => {
        const doses = Array.from({ length: p.nDoses }, (_, k) => 10 ** (k - 1));
        const perturbed = p.cellLines * p.drugs * p.nDoses;
        let cells = Math.ceil((perturbed * p.perCondition) / (1 - p.controlFraction));
        if (p.controlFraction > 0) cells = Math.max(cells, Math.ceil((p.cellLines + 1) / p.controlFraction));
        const g = new SynthGenerator(
          resolveSynthSpec({
            cells,
            features: 2,
            cellLines: p.cellLines,
            drugs: p.drugs,
            doses,
            controlFraction: p.controlFraction,
            seed: p.seed,
          }),
        );
        const o = g.obs;
        const perturbedCounts = new Map<string, number>();
        const controlCounts = new Map<number, number>();
        for (let i = 0; i < cells; i++) {
          if (o.control[i]) controlCounts.set(o.cellLineCodes[i]!, (controlCounts.get(o.cellLineCodes[i]!) ?? 0) + 1);
          else {
            const k = `${o.cellLineCodes[i]}|${o.drugCodes[i]}|${o.dosage[i]}`;
            perturbedCounts.set(k, (perturbedCounts.get(k) ?? 0) + 1);
          }
        }
        expect(perturbedCounts.size).toBe(perturbed);
        const pc = [...perturbedCounts.values()];
        expect(Math.max(...pc) - Math.min(...pc)).toBeLessThanOrEqual(1);
        if (p.controlFraction > 0) {
          expect(controlCounts.size).toBe(p.cellLines);
          const cc = [...controlCounts.values()];
          expect(Math.max(...cc) - Math.min(...cc)).toBeLessThanOrEqual(1);
        } else {
          expect(controlCounts.size).toBe(0);
        }
      }),
      { seed: 42, numRuns: 60 },
    );
  });
});
