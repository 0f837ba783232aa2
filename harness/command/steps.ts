/**
 * The steps of a measured command, from its markers and the readings of its process tree.
 * Pure: the caller (command.ts) reads /proc, resets high-water marks and talks to the process;
 * this decides what a reading means. A marker closes the open step (its peak: the highest
 * VmHWM each process reached during it, summed over the tree) and opens the next; the process's
 * exit closes the last one. Figures are kept absolute while the command runs and made net of
 * the baseline at the end, when the baseline (which may be the first marker's reading) is known.
 */
import { NO_IN_PROCESS_FIGURES } from '../../src/core/figures.js';
import type { StepRecord } from '../../src/core/report.js';
import type { CommandBaseline } from '../../src/scenario/model.js';
import { classifyLabel, type Marker } from './markers.js';

/** One reading of the process tree. */
export interface TreeReading {
  /** Milliseconds since the command started. */
  t: number;
  /** RSS summed over the tree, absolute. */
  rss: number;
  /** pid → [rss, VmHWM], absolute. */
  perPid: ReadonlyMap<number, readonly [number, number]>;
}

/** A command's step: the common fields plus what only a command has. */
export interface CommandStepRecord extends StepRecord {
  /** VmHWM of the command's own process over the step, net of baseline. */
  self_peak_bytes: number;
  /** Sum of the descendants' VmHWM over the step (0 when there were none). */
  descendants_peak_bytes: number;
  /** Processes seen during the step (1 = the command alone). */
  processes: number;
  /** True when descendants were summed: peak_bytes is then an upper bound. */
  peak_is_upper_bound: boolean;
  /** Which marker closed the step: a line, the process exit, or nothing (died). */
  closed_by: 'marker' | 'exit';
  /** The `[MEMORY …]` line's own figures, when one closed the step (absolute, as printed). */
  reported_used_bytes?: number;
  reported_available_bytes?: number;
  reported_total_bytes?: number;
}

export type BaselineSource = 'first-step-marker' | 'start' | 'zero';

/** Where a baseline reading came from: the first reading after exec, or the first marker's (a `::step` or a `[MEMORY]` line). */
export type BaselineCandidate = 'start' | 'first-step-marker' | 'first-memory-marker';

/**
 * The baseline a command's figures are made net of, under its scenario's `baseline:` mode:
 * `zero`; the first marker's reading (`first-marker`, or `auto` when that marker is a `::step`:
 * runtime and imports are loaded by then); else the first reading after exec.
 */
export function chooseBaseline(
  mode: CommandBaseline,
  candidates: ReadonlyArray<{ source: BaselineCandidate; rss: number }>,
): { bytes: number; source: BaselineSource } {
  if (mode === 'zero') return { bytes: 0, source: 'zero' };
  const marker = candidates.find((c) => c.source !== 'start');
  if (marker && (mode === 'first-marker' || (mode === 'auto' && marker.source === 'first-step-marker')))
    return { bytes: marker.rss, source: 'first-step-marker' };
  const start = candidates.find((c) => c.source === 'start');
  return start ? { bytes: start.rss, source: 'start' } : { bytes: 0, source: 'zero' };
}

/** Steps made net of `baseline`: the command's own process carries it; descendants count in full. */
export function netOfBaseline<S extends Pick<CommandStepRecord, 'peak_bytes' | 'self_peak_bytes' | 'end_bytes'>>(
  steps: readonly S[],
  baseline: number,
): S[] {
  return steps.map((s) => ({
    ...s,
    peak_bytes: s.peak_bytes - baseline,
    self_peak_bytes: s.self_peak_bytes - baseline,
    end_bytes: s.end_bytes - baseline,
  }));
}

export interface CommandSteps {
  /** Net of the baseline. */
  steps: CommandStepRecord[];
  baseline: { bytes: number; source: BaselineSource };
  peak_bytes: number;
  final_bytes: number;
  /** [ms, bytes net of baseline]. */
  samples: Array<[number, number]>;
  markers: number;
  max_processes: number;
  /** Label of the last step (the one a died command was in). */
  last_label: string | undefined;
}

/** Builds a command's steps from its markers and tree readings, as they happen. */
export class CommandStepTracker {
  private readonly closed: CommandStepRecord[] = [];
  private readonly rawSamples: Array<[number, number]> = [];
  private readonly candidates: Array<{ source: BaselineCandidate; rss: number }> = [];
  private open: { name: string | null; startMs: number; hwm: Map<number, number> } = { name: null, startMs: 0, hwm: new Map() };
  private last: TreeReading | null = null;
  private markerCount = 0;
  private maxProcesses = 0;
  private dataset: string | null = null;
  private lastMarkerEndRss: number | null = null;
  private lastMarkerOpensNothing = false;

  /**
   * `rootPid`: the command's own process (it carries the baseline). `hwmResets`: whether the
   * caller resets VmHWM at each marker (clear_refs); without it VmHWM never falls, so the step's
   * peak is the highest RSS sampled.
   */
  constructor(
    private readonly opts: {
      rootPid: () => number | null;
      command: readonly string[];
      datasets?: readonly string[];
      hwmResets: boolean;
      onStep?: (step: CommandStepRecord) => void;
      onBaselineCandidate?: (source: BaselineCandidate, rssBytes: number) => void;
    },
  ) {}

  /** The first reading after exec: the bare runtime (a baseline candidate). */
  started(r: TreeReading): void {
    this.sample(r);
    this.candidate('start', r.rss);
  }

  /** A reading of the tree (a sample every ~10 ms, or the one taken at a marker). */
  observe(r: TreeReading): void {
    this.last = r;
    this.maxProcesses = Math.max(this.maxProcesses, r.perPid.size);
    for (const [p, [rss, hwm]] of r.perPid) this.open.hwm.set(p, Math.max(this.open.hwm.get(p) ?? 0, this.opts.hwmResets ? hwm : rss));
  }

  /** A sample for the timeline (also observed). */
  sample(r: TreeReading): void {
    this.observe(r);
    this.rawSamples.push([r.t, r.rss]);
  }

  /**
   * A marker line, with the reading taken the moment it arrived (null when the process is
   * gone). Closes the open step and opens the next; returns the name it opened (null: a bare
   * `::step` or a `[MEMORY]` line open none) — the caller then resets each process's VmHWM.
   */
  marker(m: Marker, r: TreeReading | null, t: number): string | null {
    if (r) this.observe(r);
    this.markerCount += 1;
    if (this.markerCount === 1) {
      const rss = r?.rss ?? this.last?.rss ?? null;
      if (rss !== null) this.candidate(m.kind === 'step' ? 'first-step-marker' : 'first-memory-marker', rss);
    }
    this.close('marker', r, m, m.kind === 'memory' ? m.label : null, t);
    this.lastMarkerEndRss = r?.rss ?? this.last?.rss ?? null;
    this.lastMarkerOpensNothing = m.kind === 'memory' || m.name === '';
    // A bare `::step` closes the last step without opening another: it marks the final state.
    this.open = { name: m.kind === 'step' && m.name !== '' ? m.name : null, startMs: t, hwm: new Map() };
    // A process that exits before the next reading still counts with what it held.
    if (r) for (const [p, [rss]] of r.perPid) this.open.hwm.set(p, rss);
    return this.open.name;
  }

  /** The open step's name (what a command that dies now died in). */
  get openName(): string | null {
    return this.open.name;
  }

  /** The process exited: close the last step. */
  exited(t: number): void {
    this.close('exit', null, null, null, t);
  }

  /** Everything net of the baseline `mode` picks. */
  finish(mode: CommandBaseline): CommandSteps {
    const baseline = chooseBaseline(mode, this.candidates);
    const steps = netOfBaseline(this.closed, baseline.bytes);
    const lastStep = steps.at(-1);
    // The final state is the RSS at the last marker when nothing but the way to exit came
    // after it (a [MEMORY] line or a bare ::step); otherwise the last reading before exit,
    // which may already include the runtime's teardown.
    const final =
      this.lastMarkerOpensNothing && this.lastMarkerEndRss !== null && lastStep?.closed_by === 'exit'
        ? this.lastMarkerEndRss - baseline.bytes
        : (lastStep?.end_bytes ?? 0);
    return {
      steps,
      baseline,
      peak_bytes: steps.reduce((m, s) => Math.max(m, s.peak_bytes), 0),
      final_bytes: final,
      samples: this.rawSamples.map(([t, b]) => [Math.round(t * 10) / 10, b - baseline.bytes]),
      markers: this.markerCount,
      max_processes: this.maxProcesses,
      last_label: lastStep?.label,
    };
  }

  private candidate(source: BaselineCandidate, rss: number): void {
    if (this.candidates.some((c) => (c.source === 'start') === (source === 'start'))) return;
    this.candidates.push({ source, rss });
    this.opts.onBaselineCandidate?.(source, rss);
  }

  private close(
    closedBy: 'marker' | 'exit',
    reading: TreeReading | null,
    memory: Marker | null,
    nameFromMarker: string | null,
    t?: number,
  ): void {
    const endMs = reading?.t ?? t ?? this.last?.t ?? 0;
    const r = reading ?? this.last;
    const root = this.opts.rootPid();
    let self = 0;
    let desc = 0;
    for (const [p, v] of this.open.hwm) {
      if (p === root) self = v;
      else desc += v;
    }
    const rawName = this.open.name ?? nameFromMarker;
    const label =
      rawName ??
      (closedBy === 'exit'
        ? this.markerCount === 0
          ? `${this.opts.command.join(' ')} (whole run)`
          : 'after the last marker, until exit'
        : 'startup');
    const cls = classifyLabel(label, this.dataset, this.opts.datasets ?? []);
    if (rawName !== null) this.dataset = cls.dataset;
    const step: CommandStepRecord = {
      dataset: rawName !== null ? cls.dataset : null,
      name: cls.name ?? rawName ?? (closedBy === 'exit' ? (this.markerCount === 0 ? 'run' : 'exit') : 'startup'),
      label: desc > 0 ? `${label} (incl. children, upper bound)` : label,
      start_ms: this.open.startMs,
      end_ms: endMs,
      peak_bytes: self + desc,
      end_bytes: r?.rss ?? 0,
      ...NO_IN_PROCESS_FIGURES,
      self_peak_bytes: self,
      descendants_peak_bytes: desc,
      processes: this.open.hwm.size,
      peak_is_upper_bound: desc > 0,
      closed_by: closedBy,
    };
    if (memory?.kind === 'memory') {
      step.reported_used_bytes = memory.usedBytes;
      if (memory.availableBytes !== null) step.reported_available_bytes = memory.availableBytes;
      if (memory.totalBytes !== null) step.reported_total_bytes = memory.totalBytes;
    }
    this.closed.push(step);
    this.opts.onStep?.(step);
  }
}
