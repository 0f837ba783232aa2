/**
 * The contract between the strategies and the simulator: the steps the simulator predicts
 * are the steps `runStrategy` runs and reports — same datasets, same names, same order —
 * for every strategy, any number of datasets, any processing order and any primary. The
 * harness pairs measured steps with predicted ones by position, so a step added to one side
 * only would misattribute every figure after it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STRATEGY_NAMES, type StepName, type StepObserver } from '../../../src/core/names.js';
import { datasetFromSpec } from '../../../src/simulator/inputs.js';
import { simulate } from '../../../src/simulator/simulate.js';
import { runStrategy, type StrategyInput } from '../../../src/strategies/index.js';
import { datasetArb, tableSource, type Dataset } from '../../helpers/arbitraries.js';

type Step = { dataset: string | null; name: StepName | string };

/** The steps `runStrategy` reports to its observer. */
function ranSteps(
  strategy: (typeof STRATEGY_NAMES)[number],
  inputs: readonly StrategyInput[],
  d: Dataset,
  order: readonly string[],
  primary: string,
): Step[] {
  const steps: Step[] = [];
  const observer: StepObserver = {
    step: (dataset, name, fn) => {
      steps.push({ dataset, name });
      return fn();
    },
  };
  runStrategy(strategy, inputs, d.config, observer, { gc: () => {}, order, primary });
  return steps;
}

// One obs table whose grouping and split succeed, drawn with a fixed seed: the step sequence
// does not depend on the data, only on the strategy, the datasets, the order and the primary.
const usable = fc.sample(datasetArb, { seed: 14, numRuns: 50 }).find((d) => {
  try {
    ranSteps('selective', [{ name: 'a', open: () => tableSource(d.table) }], d, ['a'], 'a');
    return true;
  } catch {
    return false;
  }
});

const caseArb = fc
  .record({
    strategy: fc.constantFrom(...STRATEGY_NAMES),
    n: fc.integer({ min: 1, max: 5 }),
  })
  .chain(({ strategy, n }) => {
    const names = Array.from({ length: n }, (_, i) => `ds${i}`);
    return fc.record({
      strategy: fc.constant(strategy),
      names: fc.constant(names),
      order: fc.shuffledSubarray(names, { minLength: n, maxLength: n }),
      primary: fc.constantFrom(...names),
    });
  });

describe('the simulator steps through what the strategies run', () => {
  it('for every strategy, dataset count, processing order and primary (fast-check, fixed seed)', () => {
    expect(usable, 'no sampled dataset could be split: the property would test nothing').toBeDefined();
    const d = usable!;
    const seen = new Set<string>();
    fc.assert(
      fc.property(caseArb, ({ strategy, names, order, primary }) => {
        const inputs: StrategyInput[] = names.map((name) => ({ name, open: () => tableSource(d.table) }));
        const ran = ranSteps(strategy, inputs, d, order, primary);
        const predicted = simulate(
          names.map((name) => datasetFromSpec(`${name}=1MB`)),
          strategy,
          { order, primary },
        ).steps.map((s) => ({ dataset: s.dataset, name: s.name }));
        expect(predicted).toEqual(ran);
        seen.add(`${strategy}:${names.length}`);
      }),
      { seed: 14, numRuns: 120 },
    );
    // Every strategy was checked with one dataset and with several.
    for (const s of STRATEGY_NAMES) {
      expect(seen.has(`${s}:1`), `${s} with one dataset`).toBe(true);
      expect(
        [2, 3, 4, 5].some((n) => seen.has(`${s}:${n}`)),
        `${s} with several datasets`,
      ).toBe(true);
    }
  });
});
