/**
 * The streaming strategy: plan from obs alone, then read the representation once in
 * bounded windows and copy only the rows that are kept into buffers sized exactly. The
 * peak approaches what is kept: neither the raw matrix nor a secondary's full
 * GroupedDistribution ever exists.
 */
import { itemSize, readDtype, type DatasetSource } from '../core/data.js';
import type { PipelineConfig } from '../pipeline/config.js';
import { materialize, planBytes, planGroups, type GroupPlan } from '../pipeline/grouping.js';
import { assignSplits, splitGrouped, type DistributionSplit, type SplitAssignment } from '../pipeline/splitter.js';
import type { LiveSet } from './live.js';
import type { StrategyInput, StrategyOptions } from './types.js';
import type { Split, StepObserver } from '../core/names.js';

/** Target and source indices the kept splits reference (ascending, unique). */
export function keptDistributions(a: SplitAssignment, keep: readonly Split[]): { tgt: number[]; src: number[] } {
  const tgt = new Set<number>();
  const src = new Set<number>();
  for (const s of keep) {
    for (const t of a.tgt[s]) tgt.add(t);
    for (const i of a.src[s]) src.add(i);
  }
  return { tgt: [...tgt].sort((x, y) => x - y), src: [...src].sort((x, y) => x - y) };
}

export function runStreaming(
  input: StrategyInput,
  /** The splits this dataset keeps (src/strategies/steps.ts: all for the primary, test for a secondary). */
  keep: readonly Split[],
  config: PipelineConfig,
  observer: StepObserver,
  options: StrategyOptions,
  live: LiveSet,
  /** Receives the split assignment's warnings as `<dataset>: <text>`. */
  warnings: Set<string>,
): Partial<Record<Split, DistributionSplit>> {
  const name = input.name;
  const liveBytes = (): number => live.bytes();
  const source = input.open();
  try {
    let plan: GroupPlan | undefined;
    let assignment: SplitAssignment | undefined;
    observer.step(
      name,
      'plan',
      () => {
        plan = planGroups(config, source);
        assignment = assignSplits(plan, config.split);
        for (const w of assignment.warnings) warnings.add(`${name}: ${w}`);
        live.add(`plan:${name}`, [], planBytes(plan));
      },
      liveBytes,
    );
    const kept: Partial<Record<Split, DistributionSplit>> = {};
    observer.step(
      name,
      'stream',
      () => {
        const p = plan!;
        const a = assignment!;
        const location = config.data_location;
        const reader = {
          readRows: (start: number, end: number, out?: Float32Array | Float64Array) => source.readRows(location, start, end, out),
        };
        const gd = materialize(
          p,
          reader,
          keptDistributions(a, keep),
          options.windowRows !== undefined ? { windowBytes: options.windowRows * rowBytesOf(source, location) } : {},
        );
        const splits = splitGrouped(gd, a);
        for (const s of keep) {
          kept[s] = splits[s];
          live.add(`split:${name}:${s}`, [...splits[s].srcData.map((m) => m.data), ...splits[s].tgtData.map((m) => m.data)]);
        }
      },
      liveBytes,
    );
    observer.step(
      name,
      'retain',
      () => {
        // Obs-side temporaries (labels, row lists) go before the next dataset.
        plan = undefined;
        assignment = undefined;
        live.delete(`plan:${name}`);
        options.gc();
      },
      liveBytes,
    );
    return kept;
  } finally {
    source.close();
  }
}

/** Bytes of one dense row of the representation (for a window given in rows). */
function rowBytesOf(source: DatasetSource, location: readonly string[]): number {
  const info = source.matrixInfo(location);
  return info.shape[1] * itemSize(readDtype(info.dtype));
}
