/**
 * Step-by-step memory of each strategy. Every step moves the state of one dataset (raw
 * loaded, GroupedDistribution alive, which splits are kept, obs/plan, streamed buffers);
 * a step's figures are a linear combination of a few features (data bytes, obs cells,
 * transient cells, a read window, a fixed cost, bytes freed but kept by the allocator)
 * with the runtime constants as coefficients, so that `calibrate` can fit the constants
 * by least squares over measured steps.
 */
import { CellbudgetError } from '../core/errors.js';
import type { Split, StepName, StrategyName } from '../core/names.js';
import { SPLITS } from '../core/names.js';
import { isStepName, keptSplits, runSteps, stepEffect, type Holding } from '../strategies/steps.js';
import { groupedBytes, keptBytes, type DatasetModel } from './model.js';

/** Runtime overheads, calibrated from harness measurements (`cellbudget calibrate`). */
export interface RuntimeConstants {
  /** Runtime cost that does not scale with the data (lazy modules, grown WebAssembly heap), net of the idle baseline. */
  fixed_bytes: number;
  /**
   * One-time cost of the first whole-matrix `load`: the WebAssembly heap grows to hold a
   * read window (up to READ_WINDOW_BYTES) and never shrinks (docs/architecture.md#hdf5-through-h5wasm), plus lazily
   * initialised reader state. Scaled by how much of a window the largest matrix loaded so
   * far fills: a file smaller than a window grows the heap by its own size only.
   */
  first_read_bytes: number;
  /** Resident bytes per byte of array data (1 = exact; >1 = per-array overheads). */
  data_factor: number;
  /** obs representation in memory, bytes per cell (codes, flags, index), when a dataset does not say. */
  obs_bytes_per_cell: number;
  /** Temporaries while grouping/planning (obs key columns, sort permutation, group ids), bytes per cell. */
  prepare_bytes_per_cell: number;
  /** The group plan kept beside a GroupedDistribution or a streaming plan (row lists, offsets), bytes per cell. */
  plan_bytes_per_cell: number;
  /** Transient read buffer (WebAssembly heap window + JS copy) during `load`. */
  read_window_bytes: number;
  /**
   * One-time cost of the first `stream`: its reusable window buffer (MATERIALIZE_WINDOW_BYTES)
   * and reader state. Streaming windows fit the WebAssembly heap's initial size (measured:
   * it does not grow), so this replaces first_read_bytes for a run that only streams.
   * Scaled like first_read_bytes by how much of a window the largest streamed matrix fills.
   */
  stream_window_bytes: number;
  /** Fraction of freed distribution-array bytes the allocator keeps resident (0 = all returned, 1 = none). */
  retention: number;
  /**
   * obs/plan heap freed but kept resident (V8 heap, malloc), per cell freed, until reused by
   * the next dataset. At most one dataset's worth (the largest obs+plan a single dataset
   * held): measured, eager runs that free 1–6 datasets' obs at once keep about as much as
   * one-at-a-time runs, the rest goes back (freed V8 pages, trimmed heap top).
   */
  obs_retained_bytes_per_cell: number;
}

/** Defaults before any calibration: exact array bytes, small fixed costs, nothing retained. */
export const DEFAULT_CONSTANTS: Readonly<RuntimeConstants> = Object.freeze({
  fixed_bytes: 32e6,
  first_read_bytes: 32e6,
  data_factor: 1,
  obs_bytes_per_cell: 16,
  prepare_bytes_per_cell: 8,
  plan_bytes_per_cell: 8,
  read_window_bytes: 64e6,
  stream_window_bytes: 32e6,
  retention: 0,
  obs_retained_bytes_per_cell: 0,
});

/**
 * The h5ad reader's read window (src/h5ad/file.ts WINDOW_BYTES) and materialize's streaming
 * window (src/pipeline/grouping.ts MATERIALIZE_WINDOW_BYTES). Mirrored, not imported: the
 * simulator stays pure and must not load the reader. The one-time read costs scale with
 * min(1, matrix bytes / window).
 */
export const READ_WINDOW_BYTES = 8 * 1024 * 1024;
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

export const CONSTANT_NAMES = Object.keys(DEFAULT_CONSTANTS) as ReadonlyArray<keyof RuntimeConstants>;

/** The features of one figure; bytes = Σ constants[k] × features[k] + knownBytes. */
export type Features = Record<keyof RuntimeConstants, number>;

/** One simulated step. */
export interface SimStep {
  /** null for a whole-run step. */
  readonly dataset: string | null;
  readonly name: StepName;
  readonly label: string;
  readonly peak_bytes: number;
  readonly end_bytes: number;
  /** Byte length of what the pipeline references at step end (no runtime overheads). */
  readonly live_bytes: number;
  /** Features behind peak/end, for calibration. */
  readonly peakFeatures: Features;
  readonly endFeatures: Features;
}

export interface SimResult {
  readonly strategy: StrategyName;
  readonly order: readonly string[];
  readonly primary: string;
  readonly steps: readonly SimStep[];
  readonly peak_bytes: number;
  readonly final_bytes: number;
  /** Label of the step where the peak happens, e.g. "prepare dataset_2". */
  readonly peak_step: string;
}

export interface SimOptions {
  /** Processing order (dataset names); default: as given. */
  readonly order?: readonly string[];
  /** The dataset that keeps all its splits; default: the first given. */
  readonly primary?: string;
  readonly constants?: Readonly<RuntimeConstants>;
  /**
   * The step sequence to follow (e.g. the one a measured run recorded), instead of the
   * strategy's canonical one. Unknown step names leave the state unchanged.
   */
  readonly sequence?: ReadonlyArray<SequenceStep>;
}

/** One step of a sequence; `dataset` null is a whole-run step that acts on every dataset. */
export interface SequenceStep {
  readonly dataset: string | null;
  readonly name: StepName | string;
}

/**
 * The steps of a strategy, in order: the strategies' own declaration (src/strategies/steps.ts),
 * which runStrategy runs and this simulator steps through.
 */
export function strategySteps(strategy: StrategyName, order: readonly string[], primary: string = order[0] ?? ''): SequenceStep[] {
  return runSteps(strategy, order, primary);
}

function zero(): Features {
  return {
    fixed_bytes: 0,
    first_read_bytes: 0,
    data_factor: 0,
    obs_bytes_per_cell: 0,
    prepare_bytes_per_cell: 0,
    plan_bytes_per_cell: 0,
    read_window_bytes: 0,
    stream_window_bytes: 0,
    retention: 0,
    obs_retained_bytes_per_cell: 0,
  };
}

/** What a dataset keeps under a strategy. */
export function keepSet(strategy: StrategyName, isPrimary: boolean): ReadonlySet<Split> {
  return new Set(keptSplits(strategy, isPrimary ? 'primary' : 'secondary'));
}

/** Evaluate features with constants. */
export function evaluate(f: Features, c: Readonly<RuntimeConstants>): number {
  let s = 0;
  for (const k of CONSTANT_NAMES) s += f[k] * c[k];
  return s;
}

/**
 * Simulate one strategy over the datasets: the memory after every step and its peak,
 * net of the idle baseline, at the datasets' size.
 */
export function simulate(datasets: readonly DatasetModel[], strategy: StrategyName, opts: SimOptions = {}): SimResult {
  if (datasets.length === 0) {
    throw new CellbudgetError('SCENARIO_IMPOSSIBLE', 'There are no datasets to simulate.', { hint: 'Give at least one dataset.' });
  }
  const byName = new Map(datasets.map((d) => [d.name, d]));
  const order = opts.order ?? datasets.map((d) => d.name);
  checkOrder(order, byName);
  const primary = opts.primary ?? datasets[0]!.name;
  if (!byName.has(primary)) {
    throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `The primary '${primary}' is not one of the datasets.`, {
      key: 'primary',
      value: primary,
      hint: `Choose one of: ${[...byName.keys()].join(', ')}.`,
    });
  }
  const c = opts.constants ?? DEFAULT_CONSTANTS;
  // What each dataset holds, as the strategies declare their steps' effects.
  const held = new Map<string, Set<Holding>>(datasets.map((d) => [d.name, new Set()]));
  const sequence = opts.sequence ?? strategySteps(strategy, order, primary);

  // Features of the resident state (no transients). `group` counts the distribution arrays
  // (grouped, kept, streamed buffers): many group-sized arrays from the malloc heap, whose
  // freed chunks the allocator keeps and reuses for the next ones (docs/measurement.md#live-bytes-and-allocator-retention); the raw
  // representation is one large mmapped buffer, returned to the OS when freed.
  let groupMax = 0;
  let heapCellsMax = 0;
  // The largest obs+plan cells one dataset held (the cap of obs_retained_bytes_per_cell).
  let singleHeapCellsMax = 0;
  // Largest matrix read so far by `load` / by `stream`, as a fraction of the window.
  let loadFill = 0;
  let streamFill = 0;
  const resident = (): { f: Features; live: number; group: number; heapCells: number } => {
    const f = zero();
    f.fixed_bytes = 1;
    f.first_read_bytes = loadFill;
    f.stream_window_bytes = streamFill;
    let live = 0;
    let group = 0;
    let heapCells = 0;
    for (const d of datasets) {
      const h = held.get(d.name)!;
      const grouped = h.has('grouped');
      const planned = h.has('plan') || grouped;
      let bytes = 0;
      let obsCells = 0;
      if (h.has('raw')) {
        bytes += d.representationBytes + d.unsBytes;
        obsCells += d.cells;
      }
      if (planned) f.plan_bytes_per_cell += d.cells;
      const cellsHere = obsCells + (planned ? d.cells : 0);
      heapCells += cellsHere;
      singleHeapCellsMax = Math.max(singleHeapCellsMax, cellsHere);
      // Splits of a live GroupedDistribution reference its arrays; once it is gone (or never
      // was: streamed splits own theirs) they count on their own. In SPLITS order: keptBytes
      // adds their shares in the order it is given them.
      const g = grouped ? groupedBytes(d) : keptBytes(d, new Set(SPLITS.filter((k) => h.has(`split:${k}`))));
      group += g;
      bytes += g;
      if (d.obsBytesPerCell !== undefined) bytes += obsCells * d.obsBytesPerCell;
      else f.obs_bytes_per_cell += obsCells;
      f.data_factor += bytes;
      live +=
        bytes + (d.obsBytesPerCell === undefined ? obsCells * c.obs_bytes_per_cell : 0) + (planned ? d.cells * c.plan_bytes_per_cell : 0);
    }
    return { f, live, group, heapCells };
  };

  const steps: SimStep[] = [];
  for (const { dataset, name } of sequence) {
    const targets = dataset === null ? datasets : [byName.get(dataset)];
    if (targets.some((d) => d === undefined)) {
      throw new CellbudgetError('SCENARIO_INVALID', `Step '${name}' names dataset '${dataset}', which the scenario does not have.`, {
        key: 'steps',
        value: dataset,
        hint: 'Predict with the scenario the run was measured on.',
      });
    }
    const before = resident();
    for (const d of targets as DatasetModel[]) {
      if (name === 'load') loadFill = Math.max(loadFill, Math.min(1, d.representationBytes / READ_WINDOW_BYTES));
      if (name === 'stream') streamFill = Math.max(streamFill, Math.min(1, d.representationBytes / STREAM_WINDOW_BYTES));
    }
    const transient = zero();
    // A step that only frees peaks at its start; one that allocates, at its end plus its transients.
    // A step the strategies do not declare changes nothing (its start and end are the same).
    let allocates = false;
    for (const d of isStepName(name) ? (targets as DatasetModel[]) : []) {
      const effect = stepEffect(strategy, d.name === primary ? 'primary' : 'secondary', name as StepName);
      const h = held.get(d.name)!;
      for (const x of effect.frees) h.delete(x);
      for (const x of effect.holds) h.add(x);
      if (effect.holds.length > 0) allocates = true;
      if (name === 'load') transient.read_window_bytes = 1;
      if (name === 'prepare' || name === 'plan') transient.prepare_bytes_per_cell += d.cells;
    }
    const after = resident();
    const atPeak = allocates ? after : before;
    const end = after;
    // Retention counts freed distribution arrays only, which keeps every figure linear in
    // the constants, as the least-squares fit needs.
    const peakGroup = Math.max(before.group, atPeak.group);
    groupMax = Math.max(groupMax, peakGroup);
    const peakF = add(atPeak.f, transient);
    const endF = { ...end.f };
    endF.retention = Math.max(0, groupMax - end.group);
    peakF.retention = Math.max(0, groupMax - peakGroup);
    const peakHeap = Math.max(before.heapCells, atPeak.heapCells);
    heapCellsMax = Math.max(heapCellsMax, peakHeap);
    endF.obs_retained_bytes_per_cell = Math.min(singleHeapCellsMax, Math.max(0, heapCellsMax - end.heapCells));
    peakF.obs_retained_bytes_per_cell = Math.min(singleHeapCellsMax, Math.max(0, heapCellsMax - peakHeap));
    const endBytes = evaluate(endF, c);
    // The fit sees peakF (linear); a figure never peaks below where it ends.
    const peakFeatures = peakF;
    const peakBytes = Math.max(evaluate(peakF, c), endBytes);
    steps.push({
      dataset,
      name: name as StepName,
      label: dataset === null ? `${name} (all datasets)` : `${name} ${dataset}`,
      peak_bytes: peakBytes,
      end_bytes: endBytes,
      live_bytes: end.live,
      peakFeatures,
      endFeatures: endF,
    });
  }
  let peakIdx = 0;
  steps.forEach((st, i) => {
    if (st.peak_bytes > steps[peakIdx]!.peak_bytes) peakIdx = i;
  });
  const last = steps[steps.length - 1];
  return {
    strategy,
    order,
    primary,
    steps,
    peak_bytes: steps[peakIdx]?.peak_bytes ?? 0,
    final_bytes: last?.end_bytes ?? 0,
    peak_step: steps[peakIdx]?.label ?? '',
  };
}

function add(a: Features, b: Features): Features {
  const out = zero();
  for (const k of CONSTANT_NAMES) out[k] = a[k] + b[k];
  return out;
}

function checkOrder(order: readonly string[], byName: ReadonlyMap<string, DatasetModel>): void {
  const seen = new Set<string>();
  for (const n of order) {
    if (!byName.has(n)) {
      throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `The order names '${n}', which is not a dataset.`, {
        key: 'order',
        value: n,
        hint: `Datasets are: ${[...byName.keys()].join(', ')}.`,
      });
    }
    if (seen.has(n)) {
      throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `The order names '${n}' twice.`, {
        key: 'order',
        value: n,
        hint: 'Name each dataset once.',
      });
    }
    seen.add(n);
  }
  if (seen.size !== byName.size) {
    const missing = [...byName.keys()].filter((n) => !seen.has(n));
    throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `The order leaves out ${missing.join(', ')}.`, {
      key: 'order',
      value: order.join(','),
      hint: 'Name every dataset once.',
    });
  }
}
