/**
 * The contract between the strategies and the simulator. Both follow one declaration
 * (src/strategies/steps.ts): the steps `runStrategy` runs and reports are the declared ones —
 * same datasets, same names, same order — and after every step each dataset holds what the
 * declared effects say (what the strategy registers in its live set), and keeps the declared
 * splits at the end; the simulator predicts exactly those steps. For every strategy, any
 * number of datasets, any processing order and any primary. The harness pairs measured steps
 * with predicted ones by position, so a step run but not declared would misattribute every
 * figure after it, and an effect declared wrong would mislead the simulator's memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STRATEGY_NAMES, type StepName, type StepObserver, type StrategyName } from '../../../src/core/names.js';
import { datasetFromSpec } from '../../../src/simulator/inputs.js';
import { simulate } from '../../../src/simulator/simulate.js';
import { runStrategy, type StrategyInput } from '../../../src/strategies/index.js';
import { LiveSet } from '../../../src/strategies/live.js';
import { keptSplits, runSteps, stepEffect, type Holding } from '../../../src/strategies/steps.js';
import { datasetArb, tableSource, type Dataset } from '../../helpers/arbitraries.js';

type Step = { dataset: string | null; name: StepName | string };
/** Per dataset, what it holds (sorted), after one step. */
type Holdings = Record<string, string[]>;

/** The steps `runStrategy` reports to its observer, what each dataset holds after each, and the splits each keeps. */
function ran(
  strategy: StrategyName,
  inputs: readonly StrategyInput[],
  d: Dataset,
  order: readonly string[],
  primary: string,
): { steps: Step[]; holdings: Holdings[]; kept: Record<string, string[]> } {
  const steps: Step[] = [];
  const holdings: Holdings[] = [];
  const live = new LiveSet();
  const observer: StepObserver = {
    step: (dataset, name, fn) => {
      steps.push({ dataset, name });
      const out = fn();
      // `raw:<dataset>`, `split:<dataset>:<split>` → <dataset>: raw, split:<split>
      const h: Holdings = Object.fromEntries(inputs.map((i) => [i.name, []]));
      for (const key of live.keys()) {
        const [kind, dataset, split] = key.split(':');
        h[dataset!]!.push(split === undefined ? kind! : `${kind}:${split}`);
      }
      for (const list of Object.values(h)) list.sort();
      holdings.push(h);
      return out;
    },
  };
  const result = runStrategy(strategy, inputs, d.config, observer, { gc: () => {}, order, primary, live });
  const kept = Object.fromEntries([...result.retained].map(([name, splits]) => [name, Object.keys(splits).sort()]));
  return { steps, holdings, kept };
}

/** What the declaration says each dataset holds after each of the declared steps. */
function declaredHoldings(strategy: StrategyName, names: readonly string[], order: readonly string[], primary: string): Holdings[] {
  const held = new Map(names.map((n) => [n, new Set<Holding>()]));
  return runSteps(strategy, order, primary).map(({ dataset, name }) => {
    for (const n of dataset === null ? names : [dataset]) {
      const effect = stepEffect(strategy, n === primary ? 'primary' : 'secondary', name);
      for (const x of effect.frees) held.get(n)!.delete(x);
      for (const x of effect.holds) held.get(n)!.add(x);
    }
    return Object.fromEntries(names.map((n) => [n, [...held.get(n)!].sort()]));
  });
}

/** The steps `runStrategy` reports to its observer. */
function ranSteps(strategy: StrategyName, inputs: readonly StrategyInput[], d: Dataset, order: readonly string[], primary: string): Step[] {
  return ran(strategy, inputs, d, order, primary).steps;
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

describe('the strategies run what they declare, and the simulator steps through it', () => {
  it('for every strategy, dataset count, processing order and primary (fast-check, fixed seed)', () => {
    expect(usable, 'no sampled dataset could be split: the property would test nothing').toBeDefined();
    const d = usable!;
    const seen = new Set<string>();
    fc.assert(
      fc.property(caseArb, ({ strategy, names, order, primary }) => {
        const inputs: StrategyInput[] = names.map((name) => ({ name, open: () => tableSource(d.table) }));
        const run = ran(strategy, inputs, d, order, primary);
        expect(run.steps, 'the steps run are the declared ones').toEqual(runSteps(strategy, order, primary));
        expect(run.holdings, 'what each dataset holds after each step is what the declared effects say').toEqual(
          declaredHoldings(strategy, names, order, primary),
        );
        expect(run.kept, "each dataset keeps its role's declared splits").toEqual(
          Object.fromEntries(names.map((n) => [n, [...keptSplits(strategy, n === primary ? 'primary' : 'secondary')].sort()])),
        );
        const predicted = simulate(
          names.map((name) => datasetFromSpec(`${name}=1MB`)),
          strategy,
          { order, primary },
        ).steps.map((s) => ({ dataset: s.dataset, name: s.name }));
        expect(predicted, 'the simulator predicts the steps run').toEqual(run.steps);
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
