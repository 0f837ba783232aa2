/**
 * `--order auto`: process the datasets in the order the planner finds best. The order only
 * permutes processing; the primary stays the primary and what is kept is the same.
 */
import { CellbudgetError } from '../errors.js';
import type { DatasetModel } from '../simulator/model.js';
import { bestOrder } from '../simulator/planner.js';
import type { RuntimeConstants } from '../simulator/simulate.js';
import type { StrategyName } from './types.js';

/** `given`: as listed; `auto`: the order with the lowest simulated peak. */
export type OrderMode = 'given' | 'auto';
export const ORDER_MODES: readonly OrderMode[] = ['given', 'auto'];

/** Parse a user's order mode; throws USAGE naming the allowed values. */
export function parseOrderMode(v: string, key = '--order'): OrderMode {
  if ((ORDER_MODES as readonly string[]).includes(v)) return v as OrderMode;
  throw new CellbudgetError('USAGE', `${key} '${v}' is not an order mode.`, { key, value: v, hint: `Use one of: ${ORDER_MODES.join(', ')}.` });
}

/**
 * The processing order (dataset names) for `strategy` over `datasets` (models in the given
 * order): the given order, or the planner's best for that strategy with `primary` as primary.
 */
export function chooseOrder(
  mode: OrderMode,
  datasets: readonly DatasetModel[],
  strategy: StrategyName,
  opts: { primary?: string; constants?: Readonly<RuntimeConstants> } = {},
): string[] {
  if (mode === 'given' || datasets.length < 2) return datasets.map((d) => d.name);
  return [...bestOrder(datasets, strategy, opts).order];
}
