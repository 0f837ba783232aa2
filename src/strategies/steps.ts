/**
 * The strategies' steps, declared once: for each strategy, the steps a primary and a secondary
 * dataset go through, in order, and what each step leaves the dataset holding. runStrategy
 * (./index.ts, ./streaming.ts) runs these steps and registers these holdings — a contract test
 * checks both, step by step — and the simulator (src/simulator/simulate.ts) steps through the
 * same declaration. Pure data: the simulator reads it without loading the pipeline.
 */
import { SPLITS, type Split, type StepName, type StrategyName } from '../core/names.js';

/** The primary keeps every split; a secondary keeps what its strategy says. */
export type DatasetRole = 'primary' | 'secondary';

/**
 * What a dataset holds between steps, as the strategies register it in their live set
 * (`raw:<dataset>`, `grouped:<dataset>`, `plan:<dataset>`, `split:<dataset>:<split>`): the
 * loaded representation with its obs and uns, the GroupedDistribution with its group plan,
 * the streaming plan (obs key columns, row lists), and each split's arrays.
 */
export type Holding = 'raw' | 'grouped' | 'plan' | `split:${Split}`;

/**
 * What a step does to the dataset it runs on, in terms of the splits the dataset keeps:
 * `all-splits` are train, val and test; `kept-splits` those its role keeps; `dropped-splits`
 * the others.
 */
type Effect = {
  readonly holds: readonly (Holding | 'all-splits' | 'kept-splits')[];
  readonly frees: readonly (Holding | 'dropped-splits')[];
};

/** Every step's effect. A step name means the same thing in every strategy. */
const EFFECTS: Readonly<Record<StepName, Effect>> = {
  load: { holds: ['raw'], frees: [] },
  prepare: { holds: ['grouped'], frees: [] },
  'delete-raw': { holds: [], frees: ['raw'] },
  split: { holds: ['all-splits'], frees: [] },
  'delete-grouped': { holds: [], frees: ['grouped'] },
  retain: { holds: [], frees: ['dropped-splits', 'plan'] },
  plan: { holds: ['plan'], frees: [] },
  stream: { holds: ['kept-splits'], frees: [] },
};

/**
 * A strategy's run, as stages in order. `each`: every dataset in processing order goes through
 * its role's steps, one dataset after the other; `all`: one step over every dataset at once
 * (reported with dataset null).
 */
export type Stage = { readonly each: Readonly<Record<DatasetRole, readonly StepName[]>> } | { readonly all: StepName };

export interface StrategySteps {
  readonly stages: readonly Stage[];
  /** The splits a dataset keeps, by role. */
  readonly keeps: Readonly<Record<DatasetRole, readonly Split[]>>;
}

const both = (steps: readonly StepName[]): Stage => ({ each: { primary: steps, secondary: steps } });
const ONE_AT_A_TIME: readonly StepName[] = ['load', 'prepare', 'delete-raw', 'split', 'delete-grouped'];

/** The steps of every strategy (docs/reference-semantics.md describes the strategies). */
export const STRATEGY_STEPS: Readonly<Record<StrategyName, StrategySteps>> = {
  // The original flow: load, prepare and split everything; the original returns only the
  // splits, so the raw data and the GroupedDistributions go together when it ends.
  eager: {
    stages: [both(['load']), both(['prepare']), both(['split']), { all: 'delete-raw' }, { all: 'delete-grouped' }],
    keeps: { primary: SPLITS, secondary: SPLITS },
  },
  // The original fix without dropping splits: one dataset at a time, everything kept.
  sequential: { stages: [both(ONE_AT_A_TIME)], keeps: { primary: SPLITS, secondary: SPLITS } },
  // The original fix: one dataset at a time; a secondary keeps only its test split.
  selective: {
    stages: [{ each: { primary: ONE_AT_A_TIME, secondary: [...ONE_AT_A_TIME, 'retain'] } }],
    keeps: { primary: SPLITS, secondary: ['test'] },
  },
  // Plan from obs, stream the kept rows into buffers of their own, then free the plan.
  streaming: { stages: [both(['plan', 'stream', 'retain'])], keeps: { primary: SPLITS, secondary: ['test'] } },
};

/** The splits a dataset keeps under `strategy` in `role`. */
export function keptSplits(strategy: StrategyName, role: DatasetRole): readonly Split[] {
  return STRATEGY_STEPS[strategy].keeps[role];
}

/** What step `name` allocates and holds from its end on, and what it lets go, for a dataset in `role` under `strategy`. */
export function stepEffect(
  strategy: StrategyName,
  role: DatasetRole,
  name: StepName,
): { readonly holds: readonly Holding[]; readonly frees: readonly Holding[] } {
  const kept = keptSplits(strategy, role);
  const splits = (which: readonly Split[]): Holding[] => which.map((s): Holding => `split:${s}`);
  const e = EFFECTS[name];
  return {
    holds: e.holds.flatMap((h) => (h === 'all-splits' ? splits(SPLITS) : h === 'kept-splits' ? splits(kept) : [h])),
    frees: e.frees.flatMap((h) => (h === 'dropped-splits' ? splits(SPLITS.filter((s) => !kept.includes(s))) : [h])),
  };
}

/** One step of a run: on one dataset, or (dataset null) on every dataset at once. */
export interface RunStep {
  readonly dataset: string | null;
  readonly name: StepName;
}

/** The steps `strategy` runs over datasets processed in `order`, `primary` keeping every split. */
export function runSteps(strategy: StrategyName, order: readonly string[], primary: string = order[0] ?? ''): RunStep[] {
  const out: RunStep[] = [];
  for (const stage of STRATEGY_STEPS[strategy].stages) {
    if ('all' in stage) {
      out.push({ dataset: null, name: stage.all });
      continue;
    }
    for (const dataset of order) for (const name of stage.each[dataset === primary ? 'primary' : 'secondary']) out.push({ dataset, name });
  }
  return out;
}

/** Whether `name` is a step a strategy declares (a measured run may record others). */
export function isStepName(name: string): name is StepName {
  return Object.hasOwn(EFFECTS, name);
}
