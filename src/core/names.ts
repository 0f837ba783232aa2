import { CellbudgetError } from './errors.js';

/** Names of strategies as users call them. */
export type StrategyName = 'eager' | 'sequential' | 'selective' | 'streaming';
export const STRATEGY_NAMES: readonly StrategyName[] = ['eager', 'sequential', 'selective', 'streaming'];

/** Strategy names from `--strategy` options (repeated or comma-separated); undefined when none. */
export function parseStrategies(list: readonly string[] | undefined): StrategyName[] | undefined {
  if (!list || list.length === 0) return undefined;
  return list.flatMap((x) => x.split(',')).map((name) => {
    if (!(STRATEGY_NAMES as readonly string[]).includes(name)) {
      throw new CellbudgetError('USAGE', `Unknown strategy '${name}'.`, { key: '--strategy', value: name, hint: `Strategies: ${STRATEGY_NAMES.join(', ')}.` });
    }
    return name as StrategyName;
  });
}

/**
 * Steps a strategy runs per dataset. `load`, `prepare`, `delete-raw`, `split`,
 * `delete-grouped`, `retain` are the original fix's; `plan` and `stream` are the
 * streaming strategy's (group/split from obs, then scatter rows into kept buffers).
 */
export type StepName = 'load' | 'prepare' | 'delete-raw' | 'split' | 'delete-grouped' | 'retain' | 'plan' | 'stream';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/**
 * How a strategy reports its steps. The harness implements it with kernel high-water
 * marks; tests implement it with a list. Strategies are synchronous (h5wasm is), so a
 * step is a synchronous function. `liveBytes` is the byte length of everything the
 * pipeline still references at the end of the step (the gap to RSS is allocator retention).
 * `dataset` is null for a step over all datasets (eager drops everything at its end).
 */
export interface StepObserver {
  step<T>(dataset: string | null, name: StepName, fn: () => T, liveBytes: () => number): T;
}

/** `given`: as listed; `auto`: the order with the lowest simulated peak. */
export type OrderMode = 'given' | 'auto';
export const ORDER_MODES: readonly OrderMode[] = ['given', 'auto'];

/** Parse a user's order mode; throws USAGE naming the allowed values. */
export function parseOrderMode(v: string, key = '--order'): OrderMode {
  if ((ORDER_MODES as readonly string[]).includes(v)) return v as OrderMode;
  throw new CellbudgetError('USAGE', `${key} '${v}' is not an order mode.`, { key, value: v, hint: `Use one of: ${ORDER_MODES.join(', ')}.` });
}

/** Where runs happen: a child of the harness (`local`) or a Slurm job (`slurm`). */
export type ExecutorName = 'local' | 'slurm';
export const EXECUTOR_NAMES: readonly ExecutorName[] = ['local', 'slurm'];
