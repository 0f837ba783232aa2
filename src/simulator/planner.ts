/**
 * The cluster planner: per strategy the full-scale peak, final and peak step, whether
 * each node size fits with headroom, the processing order that minimises the peak, the
 * smallest node that fits and a ready `#SBATCH --mem` line.
 */
import { CellbudgetError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import type { StrategyName } from '../core/names.js';
import { STRATEGY_NAMES } from '../core/names.js';
import type { FullSizeMeasurement } from './calibration.js';
import type { DatasetModel } from './model.js';
import { DEFAULT_CONSTANTS, simulate, type RuntimeConstants, type SimResult } from './simulate.js';

export interface PlanOptions {
  readonly strategies?: readonly StrategyName[];
  readonly primary?: string;
  /** Node memory sizes to check, bytes. */
  readonly nodes: readonly number[];
  /** Fraction of node memory kept free (0.1 = 10%). */
  readonly headroom: number;
  readonly constants?: Readonly<RuntimeConstants>;
  /**
   * Runs of these datasets measured at full size (`calibrate` keeps them): a strategy's
   * figures in the order it was measured in are the measured ones, not the model's.
   */
  readonly measured?: readonly FullSizeMeasurement[];
}

export interface NodeFit {
  readonly node_bytes: number;
  readonly fits: boolean;
}

export interface StrategyPlan {
  readonly name: StrategyName;
  /** In the given order. */
  readonly peak_bytes: number;
  readonly final_bytes: number;
  readonly peak_step: string;
  /** Per node size: whether the peak in the given order fits with the headroom. */
  readonly fits: readonly NodeFit[];
  /** The same in the best order. */
  readonly best_fits: readonly NodeFit[];
  /** The order with the lowest peak, its peak, and how much it saves over the given order. */
  readonly best_order: readonly string[];
  readonly best_peak_bytes: number;
  readonly best_peak_step: string;
  readonly saving_bytes: number;
  /** Memory to request with headroom (best order), and the smallest given node that fits it. */
  readonly required_bytes: number;
  readonly smallest_node_bytes: number | null;
  /** Where peak/final (given order) come from: the model, or a run measured at full size. */
  readonly source: 'model' | 'measured';
  /** Where best_peak comes from. */
  readonly best_source: 'model' | 'measured';
  /** The full-size measurement of this strategy, with what the model predicts for the same order. */
  readonly measured?: FullSizeMeasurement & { readonly model_peak_bytes: number; readonly model_final_bytes: number };
}

export interface Plan {
  readonly primary: string;
  readonly given_order: readonly string[];
  readonly headroom: number;
  readonly nodes: readonly number[];
  readonly strategies: readonly StrategyPlan[];
  readonly recommended: {
    readonly strategy: StrategyName;
    readonly order: readonly string[];
    readonly peak_bytes: number;
    readonly node_bytes: number | null;
    /** e.g. `#SBATCH --mem=375G` (Slurm's G is GiB). */
    readonly sbatch: string;
  };
  /** Full simulations in the best order, per strategy (for charts). */
  readonly simulations: Readonly<Record<string, SimResult>>;
}

/** Largest dataset count whose orders are all tried; beyond it, a greedy exchange order. */
const EXHAUSTIVE_LIMIT = 7;

/** The order with the lowest simulated peak (ties: the given order wins, then the first found). */
export function bestOrder(
  datasets: readonly DatasetModel[],
  strategy: StrategyName,
  opts: { primary?: string; constants?: Readonly<RuntimeConstants> } = {},
): SimResult {
  const names = datasets.map((d) => d.name);
  const run = (order: readonly string[]): SimResult =>
    simulate(datasets, strategy, {
      order,
      ...(opts.primary !== undefined ? { primary: opts.primary } : {}),
      ...(opts.constants ? { constants: opts.constants } : {}),
    });
  let best = run(names);
  const consider = (order: readonly string[]): void => {
    const r = run(order);
    if (r.peak_bytes < best.peak_bytes - 1e-6 * best.peak_bytes) best = r;
  };
  if (names.length <= EXHAUSTIVE_LIMIT) {
    for (const p of permutations(names)) consider(p);
  } else {
    // Minimising max_i(kept before i + transient of i) is earliest-due-date on (kept − transient):
    // datasets that leave more behind relative to their own transient go last.
    const primary = opts.primary ?? names[0];
    const key = (n: string): number => {
      const d = datasets.find((x) => x.name === n)!;
      const alone = simulate([d], strategy, { primary: d.name, ...(opts.constants ? { constants: opts.constants } : {}) });
      const kept =
        n === primary || strategy === 'eager' || strategy === 'sequential'
          ? alone.final_bytes
          : secondaryFinal(d, strategy, opts.constants);
      return kept - alone.peak_bytes;
    };
    consider([...names].sort((a, b) => key(a) - key(b)));
  }
  return best;
}

function secondaryFinal(d: DatasetModel, strategy: StrategyName, constants?: Readonly<RuntimeConstants>): number {
  const ghost: DatasetModel = { ...d, name: `${d.name}#primary`, cells: 0, representationBytes: 0 };
  const r = simulate([ghost, d], strategy, { primary: ghost.name, ...(constants ? { constants } : {}) });
  return r.final_bytes;
}

function* permutations(items: readonly string[]): Generator<string[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) yield [items[i]!, ...p];
  }
}

/** Memory a job must request so that `peak` fits with `headroom` free. */
export function requiredWithHeadroom(peakBytes: number, headroom: number): number {
  return peakBytes / (1 - headroom);
}

/** `#SBATCH --mem=…` for a byte count, in Slurm units (G = GiB), rounded up. */
export function sbatchMem(bytes: number): string {
  return `#SBATCH --mem=${Math.ceil(bytes / 2 ** 30)}G`;
}

/** Plan node sizes and orders for the datasets (full scale). */
export function plan(datasets: readonly DatasetModel[], opts: PlanOptions): Plan {
  if (!(opts.headroom >= 0 && opts.headroom < 1)) {
    throw new CellbudgetError('USAGE', `--headroom ${opts.headroom} must be a fraction from 0 up to (not including) 100%.`, {
      key: '--headroom',
      value: opts.headroom,
      hint: 'Write e.g. --headroom 10%.',
    });
  }
  if (opts.nodes.length === 0) {
    throw new CellbudgetError('USAGE', 'No node memory sizes to check.', {
      key: '--node-memory',
      hint: 'Give e.g. --node-memory 400GB,512GB,1TB.',
    });
  }
  for (const n of opts.nodes) {
    if (!(n > 0)) {
      throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `Node memory ${n} bytes is not a positive size.`, {
        key: '--node-memory',
        value: n,
        hint: 'Give sizes such as 400GB.',
      });
    }
  }
  const names = datasets.map((d) => d.name);
  const primary = opts.primary ?? names[0] ?? '';
  if (!names.includes(primary)) {
    throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `--primary '${primary}' is not one of the datasets.`, {
      key: '--primary',
      value: primary,
      hint: `Choose one of: ${names.join(', ')}.`,
    });
  }
  const nodes = [...opts.nodes].sort((a, b) => a - b);
  const constants = opts.constants ?? DEFAULT_CONSTANTS;
  const simulations: Record<string, SimResult> = {};
  const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  const strategies = (opts.strategies ?? STRATEGY_NAMES).map((name): StrategyPlan => {
    const given = simulate(datasets, name, { primary, constants });
    const best = bestOrder(datasets, name, { primary, constants });
    simulations[name] = best;
    // A full-size measurement of the same datasets settles the figures of the order it ran in.
    const m = opts.measured?.find((x) => x.strategy === name && same(x.datasets, names) && names[0] === primary);
    const mOrder = m ? (m.order ?? names) : undefined;
    const mGiven = m && mOrder && same(mOrder, given.order) ? m : undefined;
    const mBest = m && mOrder && same(mOrder, best.order) ? m : undefined;
    const peak = mGiven?.peak_bytes ?? given.peak_bytes;
    const bestPeak = mBest?.peak_bytes ?? best.peak_bytes;
    const required = requiredWithHeadroom(bestPeak, opts.headroom);
    const model = m && mOrder ? simulate(datasets, name, { primary, constants, order: mOrder }) : undefined;
    return {
      name,
      peak_bytes: peak,
      final_bytes: mGiven?.final_bytes ?? given.final_bytes,
      peak_step: mGiven?.peak_step ?? given.peak_step,
      fits: nodes.map((n) => ({ node_bytes: n, fits: peak <= n * (1 - opts.headroom) })),
      best_fits: nodes.map((n) => ({ node_bytes: n, fits: bestPeak <= n * (1 - opts.headroom) })),
      best_order: best.order,
      best_peak_bytes: bestPeak,
      best_peak_step: mBest?.peak_step ?? best.peak_step,
      saving_bytes: peak - bestPeak,
      required_bytes: required,
      smallest_node_bytes: nodes.find((n) => required <= n) ?? null,
      source: mGiven ? 'measured' : 'model',
      best_source: mBest ? 'measured' : 'model',
      ...(m && model ? { measured: { ...m, model_peak_bytes: model.peak_bytes, model_final_bytes: model.final_bytes } } : {}),
    };
  });
  const rec = [...strategies].sort((a, b) => a.best_peak_bytes - b.best_peak_bytes)[0]!;
  return {
    primary,
    given_order: names,
    headroom: opts.headroom,
    nodes,
    strategies,
    recommended: {
      strategy: rec.name,
      order: rec.best_order,
      peak_bytes: rec.best_peak_bytes,
      node_bytes: rec.smallest_node_bytes,
      sbatch: sbatchMem(rec.required_bytes),
    },
    simulations,
  };
}

/**
 * Fail a plan where no strategy fits any given node: a finding about the datasets (exit 1),
 * not a mistake in the input.
 */
export function assertSomethingFits(p: Plan): void {
  if (p.recommended.node_bytes !== null) return;
  const largest = p.nodes[p.nodes.length - 1] ?? 0;
  throw new CellbudgetError(
    'NO_NODE_FITS',
    `No strategy fits any node size given (largest ${formatBytes(largest)} with ${Math.round(p.headroom * 100)}% headroom): the lowest peak is ${formatBytes(p.recommended.peak_bytes)} (${p.recommended.strategy}, order ${p.recommended.order.join(' → ')}).`,
    {
      key: '--node-memory',
      value: p.nodes,
      hint: `Book at least ${formatBytes(requiredWithHeadroom(p.recommended.peak_bytes, p.headroom))} (${p.recommended.sbatch}), or split the datasets across jobs.`,
    },
  );
}
