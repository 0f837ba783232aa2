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
import { CellbudgetError } from '../../src/core/errors.js';
import type { StrategyName } from '../../src/core/names.js';
import { VERSION } from '../report/version.js';
import { evaluateBudgets } from '../report/budgets.js';
import { classifyLabel, parseMarker, type MarkerOptions } from './markers.js';
import type { Report, ReportEnvironment, RunRecord, ScenarioSummary, StepRecord } from '../../src/core/report.js';
import { NO_IN_PROCESS_FIGURES } from '../../src/core/figures.js';
import type { Budgets } from '../../src/scenario/model.js';

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
  /** Ingest what can be read and list unreadable [MEMORY] lines in the notes, instead of refusing the log. */
  lenient?: boolean;
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
    /** With --lenient: the first unreadable [MEMORY] lines, and how many there were. */
    unreadable?: UnreadableLine[];
    unreadable_count?: number;
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
  return ds.flatMap((d) =>
    typeof d === 'object' && d !== null && typeof (d as { name?: unknown }).name === 'string' ? [(d as { name: string }).name] : [],
  );
}

/** A line that looks like a `[MEMORY …]` marker but cannot be read. */
export interface UnreadableLine {
  /** 1-based line number in the log. */
  line: number;
  text: string;
  reason: string;
}

const LOOKS_LIKE_MEMORY = /\[MEMORY[\s\]]/i;
const TAIL_CHARS = 4000;

/**
 * Reads a log one line at a time, in constant memory per line and linear time: a log of
 * 200,000 markers is one pass (each marker line is parsed once; nothing rescans the text).
 * `push` every line, then `finish`.
 */
export class LogIngester {
  private readonly known: readonly string[];
  private readonly steps: IngestedStepRecord[] = [];
  private readonly times: Array<number | null> = [];
  private readonly unreadable: UnreadableLine[] = [];
  private unreadableCount = 0;
  private dataset: string | null = null;
  private lineNo = 0;
  /** Output after the last marker: its tail for the report, and whether it shows a death. */
  private tail = '';
  private death: string | null = null;

  constructor(private readonly opts: IngestOptions = {}) {
    this.known = opts.datasets ?? datasetNamesOf(opts.definition);
  }

  push(line: string): void {
    this.lineNo++;
    const m = parseMarker(line, this.opts.markers ?? {});
    if (m?.kind !== 'memory') {
      if (LOOKS_LIKE_MEMORY.test(line)) {
        this.unreadableCount++;
        if (this.unreadable.length < 20)
          this.unreadable.push({
            line: this.lineNo,
            text: line.length > 200 ? `${line.slice(0, 200)}…` : line,
            reason: describeUnreadable(line, this.opts.markers ?? {}),
          });
        return;
      }
      this.tail = (this.tail + line + '\n').slice(-TAIL_CHARS);
      if (this.death === null) this.death = DEATH_RES.find(([re]) => re.test(line))?.[1] ?? null;
      return;
    }
    this.tail = '';
    this.death = null;
    const cls = classifyLabel(m.label, this.dataset, this.known);
    this.dataset = cls.dataset;
    this.times.push(timestampMs(line));
    const n = this.steps.length + 1;
    const step: IngestedStepRecord = {
      dataset: cls.dataset,
      name: cls.name ?? (m.label || `step ${n}`),
      label: m.label || `step ${n}`,
      start_ms: 0,
      end_ms: 0,
      // cellbudget's own recorder prints its kernel peak beside "Used"; the script prints only Used.
      peak_bytes: Math.max(m.peakBytes ?? m.usedBytes, m.usedBytes),
      end_bytes: m.usedBytes,
      ...NO_IN_PROCESS_FIGURES,
      line: this.lineNo,
      reported_used_bytes: m.usedBytes,
    };
    if (m.availableBytes !== null) step.reported_available_bytes = m.availableBytes;
    if (m.totalBytes !== null) step.reported_total_bytes = m.totalBytes;
    this.steps.push(step);
  }

  /**
   * The run record. Throws LOG_INVALID when the log holds no marker, or (unless `lenient`)
   * when a marker line cannot be read: a line dropped silently could hide the peak.
   */
  finish(): IngestedRunRecord {
    const opts = this.opts;
    const steps = this.steps;
    const fileDetail = opts.source !== undefined ? { file: opts.source } : {};
    if (this.unreadableCount > 0 && !opts.lenient) {
      throw new CellbudgetError(
        'LOG_INVALID',
        `${opts.source ?? 'The log'} has ${this.unreadableCount} [MEMORY] line(s) that cannot be read: ${this.unreadable
          .slice(0, 5)
          .map((u) => `line ${u.line}: ${u.reason} (${JSON.stringify(u.text)})`)
          .join('; ')}${this.unreadableCount > 5 ? `; and ${this.unreadableCount - 5} more` : ''}.`,
        {
          ...fileDetail,
          value: this.unreadable,
          hint: 'A marker line reads "[MEMORY <label>] Used: 132.00 GB | Available: 268.00 GB | Total: 400.00 GB" (finite numbers; 1,234.5 is read with its thousands separator). Fix or remove those lines, or pass --lenient to ingest the rest and list them in the report.',
        },
      );
    }
    if (steps.length === 0) {
      throw new CellbudgetError('LOG_INVALID', `${opts.source ?? 'The log'} holds no '[MEMORY <label>] Used: … GB' line.`, {
        ...fileDetail,
        hint: 'Give the output of a run of the training script that calls print_memory_usage(), e.g. the SLURM .out file; lines look like "[MEMORY After loading dataset_1] Used: 132.00 GB | Available: 268.00 GB | Total: 400.00 GB".',
      });
    }
    const times = this.times;
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
    // A loop: Math.max(...spread) overflows the stack past ~120,000 markers.
    let peak = -Infinity;
    for (const s of steps) if (s.peak_bytes > peak) peak = s.peak_bytes;
    const death = this.death;
    const notes = [
      'Figures are the "Used" values printed at each [MEMORY] marker: samples at the marker, not kernel peaks; a spike inside a step that was gone by the marker is not in the log (lines that carry "| Peak: …", as cellbudget run --verbose prints them, give that peak).',
      'When the script used psutil.virtual_memory(), "Used" is the whole machine\'s memory in use, not only the process\'s.',
      'baseline_bytes is 0: figures are absolute, as printed. Heap, GC and live-bytes figures are not in the log and are 0.',
      stamped
        ? 'Step times come from the timestamps on the marker lines.'
        : 'The marker lines carry no timestamps: step times are one second per marker, for ordering only.',
      ...(this.unreadableCount > 0
        ? [
            `--lenient: ${this.unreadableCount} [MEMORY] line(s) could not be read and are not in the figures: ${this.unreadable.map((u) => `line ${u.line} (${u.reason})`).join(', ')}${this.unreadableCount > this.unreadable.length ? ', …' : ''}.`,
          ]
        : []),
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
      ingested: {
        source: opts.source ?? null,
        markers: steps.length,
        lines: this.lineNo,
        time_source: stamped ? 'timestamps' : 'marker-index',
        notes,
        ...(this.unreadableCount > 0 ? { unreadable: this.unreadable, unreadable_count: this.unreadableCount } : {}),
      },
    };
    if (death) {
      run.failure = {
        reason: death,
        step: last.label,
        signal: null,
        exit_code: null,
        stderr_tail: this.tail,
      };
    }
    return run;
  }
}

/** Why a line that looks like a memory marker is not one. */
function describeUnreadable(line: string, opts: MarkerOptions): string {
  const used = /Used:\s*(\S+)/i.exec(line);
  if (!used) return "no 'Used: <number> <unit>' after the label";
  const m = parseMarker(line.replace(/\|\s*(Available|Total|Peak):.*$/i, ''), opts);
  if (m && m.kind === 'memory') return 'a figure after Used (Available, Total or Peak) is not a finite number';
  return `'${used[1]}' is not a finite number of bytes`;
}

/**
 * Parse a log into one run record. Pure. Throws LOG_INVALID when the log holds no
 * `[MEMORY …]` line, or a `[MEMORY …]` line it cannot read (unless `lenient`).
 */
export function ingestLog(text: string, opts: IngestOptions = {}): IngestedRunRecord {
  const ing = new LogIngester(opts);
  let from = 0;
  // Line by line without materialising an array of every line.
  while (from <= text.length) {
    let nl = text.indexOf('\n', from);
    if (nl < 0) nl = text.length;
    ing.push(text.slice(from, nl));
    from = nl + 1;
  }
  return ing.finish();
}

/** The report for an ingested log: one scenario, one run. */
export function ingestReport(text: string | IngestedRunRecord, opts: IngestOptions = {}): Report {
  const run = typeof text === 'string' ? ingestLog(text, opts) : text;
  const totals = run.steps.map((s) => (s as IngestedStepRecord).reported_total_bytes).filter((t): t is number => t !== undefined && t > 0);
  const environment: ReportEnvironment = {
    node: process.version,
    platform: process.platform,
    kernel: release(),
    arch: process.arch,
    cpus: cpus().length,
    // The logged machine's memory when the log says it; the rest describes where it was ingested.
    total_memory_bytes: totals.length > 0 ? totals.reduce((a, b) => Math.max(b, a), 0) : totalmem(),
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
