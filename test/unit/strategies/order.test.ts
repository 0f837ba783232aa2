/**
 * Processing order and the primary: `order` only permutes processing; the primary keeps
 * train/val/test wherever it is processed; `auto` picks the planner's lowest-peak order.
 */
import { describe, expect, it } from 'vitest';
import { loadScenarios, type BuiltinScenario } from '../../../harness/run/scenarios.js';
import { datasetsFromScenario } from '../../../src/simulator/inputs.js';
import { bestOrder } from '../../../src/simulator/planner.js';
import { chooseOrder } from '../../../src/simulator/order.js';
import { parseOrderMode } from '../../../src/core/names.js';
import { retainedDigests, runStrategy, type StrategyInput } from '../../../src/strategies/index.js';
import type { StepName, StepObserver, StrategyName } from '../../../src/core/names.js';
import { datasetArb, tableSource } from '../../helpers/arbitraries.js';
import fc from 'fast-check';

function recorder(): StepObserver & { steps: Array<[string | null, StepName]> } {
  const steps: Array<[string | null, StepName]> = [];
  return { steps, step: (dataset, name, fn) => (steps.push([dataset, name]), fn()) };
}

const [d] = fc.sample(
  datasetArb.filter((x) => x.table.nObs > 40),
  { seed: 7, numRuns: 1 },
);
const dataset = d!;
const inputs: StrategyInput[] = ['a', 'b', 'c'].map((name) => ({ name, open: () => tableSource(dataset.table) }));
const STRATS: StrategyName[] = ['eager', 'sequential', 'selective', 'streaming'];

function run(strategy: StrategyName, opts: { order?: string[]; primary?: string } = {}) {
  const obs = recorder();
  try {
    const digests = retainedDigests(runStrategy(strategy, inputs, dataset.config, obs, { gc: () => {}, ...opts }).retained);
    return { digests, steps: obs.steps };
  } catch (e) {
    return { error: (e as { code?: string }).code, steps: obs.steps };
  }
}

describe('runStrategy order and primary', () => {
  it.each(STRATS)('%s: processes in the given order and keeps the same data', (strategy) => {
    const given = run(strategy);
    const reversed = run(strategy, { order: ['c', 'b', 'a'] });
    expect(reversed).not.toHaveProperty('error');
    expect(reversed.digests).toEqual(given.digests);
    // Reported in the listed order, whatever the processing order.
    expect(Object.keys(reversed.digests ?? {})).toEqual(['a', 'b', 'c']);
    const firstSeen = [...new Set(reversed.steps.map(([ds]) => ds).filter((x) => x !== null))];
    expect(firstSeen).toEqual(['c', 'b', 'a']);
  });

  it('keeps every split of the primary, wherever it is processed', () => {
    for (const strategy of ['selective', 'streaming'] as const) {
      const r = run(strategy, { primary: 'c', order: ['c', 'a', 'b'] });
      expect(Object.keys(r.digests!['c']!)).toEqual(['train', 'val', 'test']);
      expect(Object.keys(r.digests!['a']!)).toEqual(['test']);
      const last = run(strategy, { order: ['b', 'c', 'a'] });
      expect(Object.keys(last.digests!['a']!)).toEqual(['train', 'val', 'test']);
      expect(Object.keys(last.digests!['b']!)).toEqual(['test']);
    }
  });

  it('rejects an order that is not a permutation, and an unknown primary', () => {
    expect(run('streaming', { order: ['a', 'b'] })).toMatchObject({ error: 'USAGE', steps: [] });
    expect(run('streaming', { order: ['a', 'a', 'b'] })).toMatchObject({ error: 'USAGE' });
    expect(run('streaming', { order: ['a', 'b', 'x'] })).toMatchObject({ error: 'USAGE' });
    expect(run('selective', { primary: 'x' })).toMatchObject({ error: 'USAGE' });
  });
});

describe('chooseOrder', () => {
  const scenario = loadScenarios('original-fix')[0] as BuiltinScenario;
  const models = datasetsFromScenario(scenario, { scale: scenario.scale, documented: false });

  it('keeps the listed order for `given`', () => {
    expect(chooseOrder('given', models, 'selective')).toEqual(['dataset_1', 'dataset_2']);
  });

  it("is the planner's lowest-peak order for `auto`", () => {
    for (const s of STRATS) {
      const order = chooseOrder('auto', models, s);
      expect([...order].sort()).toEqual(['dataset_1', 'dataset_2']);
      expect(order).toEqual([...bestOrder(models, s).order]);
    }
    // selective: the secondary first leaves only its test split behind while the primary loads.
    expect(chooseOrder('auto', models, 'selective')).toEqual(['dataset_2', 'dataset_1']);
  });

  it('parses the mode, naming the allowed values otherwise', () => {
    expect(parseOrderMode('auto')).toBe('auto');
    expect(() => parseOrderMode('best')).toThrow(/given, auto/);
  });
});
