import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { loadScenarios, type BuiltinScenario } from '../../../harness/run/scenarios.js';
import { datasetsFromScenario, datasetFromSpec } from '../../../src/simulator/inputs.js';
import { syntheticDataset, type DatasetModel } from '../../../src/simulator/model.js';
import { simulate } from '../../../src/simulator/simulate.js';
import { bestOrder, plan } from '../../../src/simulator/planner.js';
import { predictRun } from '../../../src/simulator/predict.js';
import { MEASURED_CALIBRATION } from '../../../src/simulator/calibration.js';
import { STRATEGY_NAMES } from '../../../src/core/names.js';

const GB = 1e9;
const within = (actual: number, expected: number, tol = 0.1): void => {
  expect(Math.abs(actual - expected) / expected, `${actual / GB} GB vs documented ${expected / GB} GB`).toBeLessThanOrEqual(tol);
};

function originalFix(): BuiltinScenario {
  const [s] = loadScenarios('scenarios/original-fix.yaml');
  if (s?.kind !== 'builtin') throw new Error('original-fix.yaml is not a built-in scenario');
  return s;
}

describe('the original fix, from its own description (original-fix.md)', () => {
  const datasets = datasetsFromScenario(originalFix(), { scale: 1, documented: true });

  test('the original flow (eager): two loads ≈ 262 GB, peak ≥ 520 GB', () => {
    const r = simulate(datasets, 'eager');
    const afterLoads = r.steps.find((s) => s.label === 'load dataset_2')!;
    within(afterLoads.end_bytes, 262 * GB);
    expect(r.peak_bytes).toBeGreaterThanOrEqual(520 * GB);
    within(r.peak_bytes, 520 * GB);
  });

  test('one at a time, selective: peak ≈ 332 GB, final ≈ 130 GB, and the documented steps', () => {
    const r = simulate(datasets, 'selective');
    within(r.peak_bytes, 332 * GB);
    within(r.final_bytes, 130 * GB);
    expect(r.peak_step).toBe('prepare dataset_2');
    const at = (label: string): number => r.steps.find((s) => s.label === label)!.end_bytes;
    within(at('load dataset_1'), 132 * GB);
    within(at('prepare dataset_1'), 262 * GB);
    within(at('delete-raw dataset_1'), 130 * GB);
    within(at('delete-grouped dataset_1'), 100 * GB);
    within(at('load dataset_2'), 232 * GB);
  });

  test('the primary processed last lowers the selective peak', () => {
    const best = bestOrder(datasets, 'selective');
    expect(best.order).toEqual(['dataset_2', 'dataset_1']);
    // 30 GB kept before the primary instead of 100 GB: 70 GB lower.
    within(simulate(datasets, 'selective').peak_bytes - best.peak_bytes, 70 * GB);
  });
});

const datasetArb = (i: number): fc.Arbitrary<DatasetModel> =>
  fc
    .record({
      gb: fc.double({ min: 0.5, max: 300, noNaN: true }),
      features: fc.integer({ min: 10, max: 2000 }),
      control: fc.double({ min: 0.01, max: 0.5, noNaN: true }),
      test: fc.double({ min: 0.05, max: 0.4, noNaN: true }),
      val: fc.double({ min: 0.05, max: 0.4, noNaN: true }),
      dtype: fc.constantFrom('float32', 'float64'),
    })
    .map((r) =>
      datasetFromSpec(`d${i}=${r.gb}GB,features=${r.features},control=${r.control},test=${r.test},val=${r.val},dtype=${r.dtype}`),
    );

const datasetsArb = (min: number, max: number): fc.Arbitrary<DatasetModel[]> =>
  fc.integer({ min, max }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => datasetArb(i))));

describe('strategy properties', () => {
  test('peaks: streaming ≤ selective ≤ sequential ≤ eager; finals: selective ≤ sequential, streaming = selective', () => {
    fc.assert(
      fc.property(datasetsArb(1, 5), (ds) => {
        const [eager, sequential, selective, streaming] = STRATEGY_NAMES.map((s) => simulate(ds, s));
        expect(streaming!.peak_bytes).toBeLessThanOrEqual(selective!.peak_bytes);
        expect(selective!.peak_bytes).toBeLessThanOrEqual(sequential!.peak_bytes);
        expect(sequential!.peak_bytes).toBeLessThanOrEqual(eager!.peak_bytes);
        expect(selective!.final_bytes).toBeLessThanOrEqual(sequential!.final_bytes);
        expect(streaming!.final_bytes).toBeCloseTo(selective!.final_bytes, -3);
      }),
      { seed: 42, numRuns: 150 },
    );
  });

  test('the peak ordering holds with the measured constants too (allocator retention on)', () => {
    const constants = MEASURED_CALIBRATION.constants;
    fc.assert(
      fc.property(datasetsArb(1, 5), (ds) => {
        const [eager, sequential, selective, streaming] = STRATEGY_NAMES.map((s) => simulate(ds, s, { constants }));
        expect(streaming!.peak_bytes).toBeLessThanOrEqual(selective!.peak_bytes);
        expect(selective!.peak_bytes).toBeLessThanOrEqual(sequential!.peak_bytes);
        expect(sequential!.peak_bytes).toBeLessThanOrEqual(eager!.peak_bytes);
      }),
      { seed: 43, numRuns: 100 },
    );
  });

  test('the best order is no worse than any order (exhaustive check on up to 4 datasets)', () => {
    fc.assert(
      fc.property(datasetsArb(2, 4), fc.constantFrom('selective' as const, 'sequential' as const, 'streaming' as const), (ds, strategy) => {
        const best = bestOrder(ds, strategy);
        const orders = permutations(ds.map((d) => d.name));
        for (const order of orders) expect(best.peak_bytes).toBeLessThanOrEqual(simulate(ds, strategy, { order }).peak_bytes * (1 + 1e-9));
      }),
      { seed: 7, numRuns: 40 },
    );
  });

  test('with many datasets the heuristic order is no worse than the given one', () => {
    const ds = Array.from({ length: 9 }, (_, i) => datasetFromSpec(`d${i}=${20 + 15 * i}GB,features=100`));
    const given = simulate(ds, 'selective');
    const best = bestOrder(ds, 'selective');
    expect(best.peak_bytes).toBeLessThanOrEqual(given.peak_bytes);
    expect(best.order.at(-1)).toBe('d0'); // the primary keeps everything: last
  });

  test('every step is accounted: selective frees the secondary train/val at retain', () => {
    const ds = [datasetFromSpec('p=100GB'), datasetFromSpec('s=100GB')];
    const r = simulate(ds, 'selective');
    const retain = r.steps.find((s) => s.label === 'retain s')!;
    const before = r.steps[r.steps.indexOf(retain) - 1]!;
    expect(retain.end_bytes).toBeLessThan(before.end_bytes);
  });
});

describe('synthetic structure', () => {
  test('split_by drug: test owns its share of drugs, every split references all controls', () => {
    const d = syntheticDataset(
      'x',
      { cells: 1e6, features: 50, cell_lines: 5, drugs: 20, doses: 3, control_fraction: 0.1, itemsize: 4 },
      { split_by: ['drug'], ratios: [0.7, 0.15, 0.15] },
    );
    // round(0.7·20) = 14, round(0.15·20) = 3 (half to even), test 3.
    expect(d.structure.perturbed.train).toBeCloseTo(0.9 * (14 / 20));
    expect(d.structure.perturbed.test).toBeCloseTo(0.9 * (3 / 20));
    expect(d.structure.sources.test).toBeCloseTo(0.1);
  });
});

describe('predictRun', () => {
  test('follows a measured step sequence one for one, whole-run steps included', () => {
    const s = originalFix();
    const steps = [
      { dataset: 'dataset_1', name: 'load' },
      { dataset: null, name: 'setup' },
      { dataset: 'dataset_1', name: 'prepare' },
      { dataset: 'dataset_1', name: 'delete-raw' },
    ];
    const pred = predictRun({ scenario: s, scale: s.scale }, 'sequential', undefined, { steps });
    expect(pred).toHaveLength(4);
    expect(pred[1]!.predicted_end_bytes).toBe(pred[0]!.predicted_end_bytes);
    expect(pred[2]!.predicted_peak_bytes).toBeGreaterThan(pred[0]!.predicted_peak_bytes);
    // At scale 0.001 a 130 GB representation is ~130 MB (the fixed runtime cost does not scale).
    expect(pred[0]!.predicted_end_bytes).toBeGreaterThan(130e6);
    expect(pred[0]!.predicted_end_bytes).toBeLessThan(260e6);
  });
});

describe('planner', () => {
  test('node fits with headroom and the SBATCH line', () => {
    const p = plan([datasetFromSpec('a=100GB,obs=0')], { nodes: [400e9, 128e9], headroom: 0.1, strategies: ['streaming'] });
    const s = p.strategies[0]!;
    expect(s.fits.map((f) => f.node_bytes)).toEqual([128e9, 400e9]);
    expect(s.fits[1]!.fits).toBe(true);
    expect(p.recommended.sbatch).toMatch(/^#SBATCH --mem=\d+G$/);
    const gib = Number(/--mem=(\d+)G/.exec(p.recommended.sbatch)![1]);
    expect(gib * 2 ** 30).toBeGreaterThanOrEqual(s.best_peak_bytes / 0.9);
  });
});

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}
