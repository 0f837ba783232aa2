/**
 * `--order auto`: process the datasets in the order the planner finds best. The order only
 * permutes processing; the primary stays the primary and what is kept is the same.
 */
import type { DatasetModel } from './model.js';
import { bestOrder } from './planner.js';
import type { RuntimeConstants } from './simulate.js';
import type { OrderMode, StrategyName } from '../core/names.js';

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
