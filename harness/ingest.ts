/**
 * Turn an existing memory log of the original training script — its `[MEMORY <label>]
 * Used: … GB | Available: … GB | Total: … GB` lines, mixed with any other output — into the
 * same report as a measured run (method 'ingested-log').
 *
 * What the figures are: each step's peak and end are the "Used" figure printed at its
 * marker. They are samples at the marker, not kernel peaks: a spike inside a step that was
 * gone by the time the line was printed is not in the log. When the script took them from
 * psutil.virtual_memory(), "Used" is the whole machine's memory in use, not the process's
 * own. No baseline is subtracted (baseline_bytes 0): the figures are absolute, as printed.
 */
import { cpus, release, totalmem } from 'node:os';
import { CellbudgetError } from '../src/errors.js';
import type { StrategyName } from '../src/strategies/types.js';
import { VERSION } from '../src/version.js';
import { evaluateBudgets } from './budgets.js';
import { classifyLabel, parseMarker, type MarkerOptions } from './markers.js';
import type { Report, ReportEnvironment, RunRecord, ScenarioSummary, StepRecord } from './report.js';
import { NO_IN_PROCESS_FIGURES } from './report.js';
import type { Budgets } from './scenario.js';

export interface IngestOptions {
  /** Scenario name in the report (default "ingested"). */
  name?: string;
  /** Where the log came from, for the report. */
  source?: string;
  /** Fraction of full scale the logged run was (default 1: a real run). */
  scale?: number;
  budgets?: Budgets;
  /**
   * The strategy the logged script implements, when known ('selective' for the original
   * fix). With a scenario definition it makes the report usable by `cellbudget calibrate`.
   */
  strategy?: StrategyName;
  /** The scenario as written (parsed YAML) that describes the logged run's datasets. */
  definition?: unknown;
  /** Dataset names to recognise in labels (default: those of `definition`, else dataset_N). */
  datasets?: readonly string[];
  markers?: MarkerOptions;
}

/** An ingested step: the common fields plus where it came from. */
export interface IngestedStepRecord extends StepRecord {
  /** 1-based line of the marker in the log. */
  line: number;
  reported_used_bytes: number;
  reported_available_bytes?: number;
  reported_total_bytes?: number;
}

export interface IngestedRunRecord extends RunRecord {
  steps: IngestedStepRecord[];
  ingested: {
    source: string | null;
    markers: number;
    lines: number;
    /** Step times: from timestamps on the marker lines, or one second per marker. */
    time_source: 'timestamps' | 'marker-index';
    notes: string[];
  };
}

const TIMESTAMP_RE = /(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2}):(\d{2}(?:[.,]\d+)?)/;
// Signs in a log that the run did not end on its own.
const DEATH_RES: Array<[RegExp, string]> = [
  [/oom[_-]kill|out of memory|oom-killer/i, 'killed for memory (the log reports an OOM kill)'],
  [/^\s*Killed\s*$/m, 'killed (the shell printed "Killed": usually the OOM killer)'],
  [/\bMemoryError\b/, 'raised MemoryError'],
  [/Traceback \(most recent call last\)/, 'raised an exception (a Python traceback follows the last marker)'],
];

function timestampMs(line: string): number | null {
  const m = TIMESTAMP_RE.exec(line);
  if (!m) return null;
  const t = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${(m[4] as string).replace(',', '.')}Z`);
  return Number.isFinite(t) ? t : null;
}

function datasetNamesOf(definition: unknown): string[] {
  if (typeof definition !== 'object' || definition === null) return [];
  const ds = (definition as { datasets?: unknown }).datasets;
  if (!Array.isArray(ds)) return [];
  return ds.flatMap((d) => (typeof d === 'object' && d !== null && typeof (d as { name?: unknown }).name === 'string' ? [(d as { name: string }).name] : []));
}

/**
 * Parse a log into one run record. Pure. Throws LOG_INVALID when the log holds no
 * `[MEMORY …]` line.
 */
export function ingestLog(text: string, opts: IngestOptions = {}): IngestedRunRecord {
  const lines = text.split('\n');
  const known = opts.datasets ?? datasetNamesOf(opts.definition);
  const steps: IngestedStepRecord[] = [];
  const times: Array<number | null> = [];
  let dataset: string | null = null;
  let lastMarkerLine = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const m = parseMarker(line, opts.markers ?? {});
    if (!m || m.kind !== 'memory') continue;
    lastMarkerLine = i;
    const cls = classifyLabel(m.label, dataset, known);
    dataset = cls.dataset;
    times.push(timestampMs(line));
    const step: IngestedStepRecord = {
      dataset: cls.dataset,
      name: cls.name ?? (m.label || `step ${steps.length + 1}`),
      label: m.label || `step ${steps.length + 1}`,
      start_ms: 0,
      end_ms: 0,
      // cellbudget's own recorder prints its kernel peak beside "Used"; the script prints only Used.
      peak_bytes: Math.max(m.peakBytes ?? m.usedBytes, m.usedBytes),
      end_bytes: m.usedBytes,
      ...NO_IN_PROCESS_FIGURES,
      line: i + 1,
      reported_used_bytes: m.usedBytes,
    };
    if (m.availableBytes !== null) step.reported_available_bytes = m.availableBytes;
    if (m.totalBytes !== null) step.reported_total_bytes = m.totalBytes;
    steps.push(step);
  }
  if (steps.length === 0) {
    throw new CellbudgetError('LOG_INVALID', `${opts.source ?? 'The log'} holds no '[MEMORY <label>] Used: … GB' line.`, {
      ...(opts.source !== undefined ? { file: opts.source } : {}),
      hint: 'Give the output of a run of the training script that calls print_memory_usage(), e.g. the SLURM .out file; lines look like "[MEMORY After loading dataset_1] Used: 132.00 GB | Available: 268.00 GB | Total: 400.00 GB".',
    });
  }

  const stamped = times.every((t) => t !== null);
  const t0 = stamped ? (times[0] as number) : 0;
  steps.forEach((s, i) => {
    if (stamped) {
      s.end_ms = (times[i] as number) - t0;
      s.start_ms = i === 0 ? s.end_ms : (times[i - 1] as number) - t0;
    } else {
      s.start_ms = i * 1000;
      s.end_ms = (i + 1) * 1000;
    }
  });

  const scale = opts.scale ?? 1;
  const last = steps[steps.length - 1] as IngestedStepRecord;
  const peak = Math.max(...steps.map((s) => s.peak_bytes));
  const tail = lines.slice(lastMarkerLine + 1).join('\n');
  const death = DEATH_RES.find(([re]) => re.test(tail));
  const notes = [
    'Figures are the "Used" values printed at each [MEMORY] marker: samples at the marker, not kernel peaks; a spike inside a step that was gone by the marker is not in the log (lines that carry "| Peak: …", as cellbudget run --verbose prints them, give that peak).',
    'When the script used psutil.virtual_memory(), "Used" is the whole machine\'s memory in use, not only the process\'s.',
    'baseline_bytes is 0: figures are absolute, as printed. Heap, GC and live-bytes figures are not in the log and are 0.',
    stamped ? 'Step times come from the timestamps on the marker lines.' : 'The marker lines carry no timestamps: step times are one second per marker, for ordering only.',
  ];
  const base = {
    scenario: opts.name ?? 'ingested',
    strategy: opts.strategy ?? ('command' as const),
    scale,
    method: 'ingested-log' as const,
    status: death ? ('died' as const) : ('ok' as const),
    baseline_bytes: 0,
    peak_bytes: peak,
    final_bytes: last.end_bytes,
    final_live_bytes: 0,
    duration_ms: last.end_ms,
    steps,
    retained: {},
    samples: steps.map((s) => [s.end_ms, s.end_bytes] as [number, number]),
    env: {},
  };
  const run: IngestedRunRecord = {
    ...base,
    budgets: evaluateBudgets(base, opts.budgets ?? {}),
    ingested: { source: opts.source ?? null, markers: steps.length, lines: lines.length, time_source: stamped ? 'timestamps' : 'marker-index', notes },
  };
  if (death) {
    run.failure = {
      reason: death[1],
      step: last.label,
      signal: null,
      exit_code: null,
      stderr_tail: tail.slice(-4000),
    };
  }
  return run;
}

/** The report for an ingested log: one scenario, one run. */
export function ingestReport(text: string, opts: IngestOptions = {}): Report {
  const run = ingestLog(text, opts);
  const totals = run.steps.map((s) => (s as IngestedStepRecord).reported_total_bytes).filter((t): t is number => t !== undefined && t > 0);
  const environment: ReportEnvironment = {
    node: process.version,
    platform: process.platform,
    kernel: release(),
    arch: process.arch,
    cpus: cpus().length,
    // The logged machine's memory when the log says it; the rest describes where it was ingested.
    total_memory_bytes: totals.length > 0 ? Math.max(...totals) : totalmem(),
    method: 'ingested-log',
    cellbudget: VERSION,
  };
  const datasets = new Set([...datasetNamesOf(opts.definition), ...run.steps.flatMap((s) => (s.dataset !== null ? [s.dataset] : []))]);
  const scenario: ScenarioSummary = {
    name: run.scenario,
    scale: run.scale,
    definition: opts.definition ?? { kind: 'ingested-log', source: opts.source ?? null },
    n_datasets: datasets.size,
  };
  return { version: 1, created: new Date().toISOString(), environment, scenarios: [scenario], runs: [run] };
}
