import { CellbudgetError } from './errors.js';

/** Names of strategies as users call them. */
export type StrategyName = 'eager' | 'sequential' | 'selective' | 'streaming';
export const STRATEGY_NAMES: readonly StrategyName[] = ['eager', 'sequential', 'selective', 'streaming'];

/** Whether `name` is a built-in strategy's (a report's run may also be a `command`). */
export function isStrategyName(name: string): name is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(name);
}

/**
 * `value` if it is one of `values`, else USAGE naming them all, e.g. "--executor 'k8s' is not
 * an executor. Use one of: local, slurm." What every enumerated option and setting says.
 */
export function parseName<T extends string>(value: string, values: readonly T[], key: string, what: string, hint = ''): T {
  if ((values as readonly string[]).includes(value)) return value as T;
  throw new CellbudgetError('USAGE', `${key} '${value}' is not ${what}.`, { key, value, hint: `Use one of: ${values.join(', ')}${hint}.` });
}

/** A strategy name from the user (`--strategy`); USAGE naming the strategies otherwise. */
export function parseStrategyName(value: string, key = '--strategy'): StrategyName {
  return parseName(value, STRATEGY_NAMES, key, 'a strategy', " (the original fix is 'selective')");
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
  return parseName(v, ORDER_MODES, key, 'an order mode');
}

/** Where runs happen: a child of the harness (`local`) or a Slurm job (`slurm`). */
export type ExecutorName = 'local' | 'slurm';
export const EXECUTOR_NAMES: readonly ExecutorName[] = ['local', 'slurm'];
