/**
 * Measure any command — a Python training script, a shell pipeline's binary — step by step
 * with the kernel's high-water marks (docs/measurement.md#commands-and-logs).
 *
 * The command is spawned without a shell. Its stdout and stderr are read line by line;
 * every step marker (see markers.ts) closes the current step and opens the next: VmHWM and
 * VmRSS of the process and of every descendant are read at once, in the same tick the line
 * arrives, then each high-water mark is reset through /proc/<pid>/clear_refs. RSS of the
 * whole tree is also sampled every ~10 ms for the timeline.
 *
 * Honest limits, also written into every record (`command.notes`):
 * - The process keeps running after it prints a marker; the boundary is as late as the time
 *   between its write and our read (0.2–7 ms measured on this 2-core machine under load:
 *   tens of MB for a program that allocates right after printing). A program can make the
 *   boundary exact: after the marker line, read one byte from the file descriptor named in
 *   CELLBUDGET_STEP_ACK_FD (fd 3); the harness writes it after reading and resetting.
 *   Output must not be block-buffered: PYTHONUNBUFFERED=1 is set by default; other
 *   runtimes must flush after each marker (`stdbuf -oL`, `fflush`).
 * - Final figure: the RSS at the last marker when only the way to exit follows it (a
 *   `[MEMORY …]` line, or a bare `::step` printed after the last step); otherwise the last
 *   reading before exit (≤ ~10 ms before), which may already include the runtime's teardown.
 * - Descendants are summed: each one's VmHWM over the step, added up, is an upper bound of
 *   the tree's simultaneous peak (their peaks need not coincide; shared pages count twice).
 *   A descendant that lives less than one sampling interval can be missed.
 * - A command has no idle baseline we could subtract reliably. `baseline_bytes` is the RSS
 *   when the command announced its first `::step` (runtime and imports loaded: the analogue
 *   of the built-in runs' idle baseline), or, when its first marker is a `[MEMORY …]` line
 *   or there is none, the RSS at the first reading right after exec (the bare runtime).
 * - Heap/GC/live-bytes figures of an external process are not observable: they are 0.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CellbudgetError } from '../../src/core/errors.js';
import type { RunRecord } from '../../src/core/report.js';
import { descendantPids, kernelHwmAvailable, readProcStatus, resetHighWaterMark } from '../../src/memory/proc.js';
import type { Budgets, CommandBaseline } from '../../src/scenario/model.js';
import { evaluateBudgets } from '../report/budgets.js';
import {
  CommandStepTracker,
  type BaselineCandidate,
  type BaselineSource,
  type CommandStepRecord,
  type CommandSteps,
  type TreeReading,
} from './steps.js';
import { parseMarker, type MarkerOptions } from './markers.js';
import { classifyEnd, supervise, type KilledFor, type ProcessEnd, type Supervised } from '../process/supervisor.js';

export type { CommandBaseline } from '../../src/scenario/model.js';
export type { CommandStepRecord } from './steps.js';

/** A command scenario as the runner needs it (sizes and budgets already parsed). */
export interface CommandSpec {
  name: string;
  /** argv: program and arguments, no shell. */
  command: string[];
  cwd?: string;
  /** Variables added to the inherited environment (allocator settings belong here). */
  env?: Record<string, string>;
  timeout_ms?: number;
  /** Full-scale budgets; compared with measured / scale. */
  budgets?: Budgets;
  /** Fraction of full scale the command runs at (default 1). */
  scale?: number;
  baseline?: CommandBaseline;
}

export interface CommandRunOptions {
  /** File that receives the command's full stdout and stderr as they arrive. */
  logPath?: string;
  /** RSS sampling interval for the timeline (default 10 ms). */
  sampleIntervalMs?: number;
  /** After a timeout: time between SIGTERM and SIGKILL (default 2000 ms). */
  killGraceMs?: number;
  /** Called for every output line (e.g. to echo with --verbose). */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Called when a step closes (figures absolute: the baseline is subtracted at the end). */
  onStep?: (step: CommandStepRecord) => void;
  /**
   * Called with each reading the baseline may be taken from (the first one right after exec,
   * the first marker's), so a caller that loses the process (a Slurm job killed for memory)
   * can still make the figures it was sent net of the same baseline.
   */
  onBaselineCandidate?: (source: BaselineCandidate, rssBytes: number) => void;
  /** Every RSS reading of the whole tree (ms since start, absolute bytes). */
  onSample?: (tMs: number, rssBytes: number) => void;
  /** A marker opened a step (null: a bare `::step` or a `[MEMORY]` line, which open none). */
  onStepStart?: (name: string | null, tMs: number) => void;
  markers?: MarkerOptions;
  /** Dataset names to recognise in labels (the first match wins). */
  datasets?: readonly string[];
}

export interface CommandRunRecord extends RunRecord {
  steps: CommandStepRecord[];
  command: {
    argv: string[];
    cwd: string;
    pid: number | null;
    exit_code: number | null;
    signal: string | null;
    timed_out: boolean;
    log_path: string | null;
    markers: number;
    baseline_source: BaselineSource;
    /** Largest number of processes in the tree at one reading. */
    max_processes: number;
    notes: string[];
  };
}

function readTree(root: number, t: number): TreeReading | null {
  const self = readProcStatus(root);
  if (!self) return null;
  const perPid = new Map<number, [number, number]>([[root, [self.rssBytes, self.hwmBytes]]]);
  let rss = self.rssBytes;
  for (const pid of descendantPids(root)) {
    const st = readProcStatus(pid);
    if (!st) continue;
    perPid.set(pid, [st.rssBytes, st.hwmBytes]);
    rss += st.rssBytes;
  }
  return { t, rss, perPid };
}

/** How the figures were taken, written into every record (`command.notes`). */
function notesFor(hwmOk: boolean, leftovers: number, baseline: BaselineSource): string[] {
  return [
    "Figures are the command's own: VmRSS/VmHWM of its process, plus its descendants summed (an upper bound) when it had any.",
    hwmOk
      ? 'Per-step peak: VmHWM read when the marker line arrived, then reset through /proc/<pid>/clear_refs.'
      : 'clear_refs is not writable here: per-step peaks are the highest of RSS samples every ~10 ms ("sampled").',
    'A step boundary is when the marker line was read; the command keeps running meanwhile (typically 0.2-7 ms later on a loaded machine), unless it waits for the acknowledgement: after printing a marker line, read one byte from the file descriptor in CELLBUDGET_STEP_ACK_FD; the boundary is then exact. Output must be line-buffered (PYTHONUNBUFFERED=1 is set).',
    'final_bytes: RSS at the last marker when only the way to exit follows it (a [MEMORY] line or a bare ::step); otherwise the last reading before exit, which may include teardown.',
    'Heap, GC and live-bytes figures of an external command are not observable and are recorded as 0.',
    ...(leftovers > 0 ? [`${leftovers} process(es) the command left running were ended after it exited (SIGTERM, then SIGKILL).`] : []),
    baseline === 'first-step-marker'
      ? 'baseline_bytes: RSS when the command announced its first ::step (runtime and imports loaded).'
      : baseline === 'start'
        ? "baseline_bytes: RSS at the first reading right after exec (the bare runtime, before the program's own imports)."
        : 'baseline_bytes: 0; figures are absolute.',
  ];
}

/** The command's full output, as it arrives, between a header and a trailer of ours (nothing without a path). */
class CommandLog {
  private fd: number | null = null;

  constructor(path: string | undefined, header: string) {
    if (!path) return;
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'w');
    this.write(header);
  }

  write(b: string | Buffer): void {
    if (this.fd !== null) writeSync(this.fd, typeof b === 'string' ? Buffer.from(b) : b);
  }

  close(trailer: string): void {
    if (this.fd === null) return;
    this.write(trailer);
    closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Reads the command's process tree — right after exec, every tick, and the moment a marker line
 * arrives — and hands the readings to the pure step tracker; resets the high-water marks and
 * acknowledges each marker.
 */
class TreeWatch {
  readonly tracker: CommandStepTracker;
  private proc: Supervised | null = null;

  constructor(
    spec: CommandSpec,
    private readonly opts: CommandRunOptions,
    private readonly hwmOk: boolean,
  ) {
    this.tracker = new CommandStepTracker({
      rootPid: () => this.proc?.pid ?? null,
      command: spec.command,
      ...(opts.datasets ? { datasets: opts.datasets } : {}),
      hwmResets: hwmOk,
      ...(opts.onStep ? { onStep: opts.onStep } : {}),
      ...(opts.onBaselineCandidate ? { onBaselineCandidate: opts.onBaselineCandidate } : {}),
    });
  }

  spawned(p: Supervised): void {
    this.proc = p;
    const r = this.read(p.now());
    if (!r) return;
    this.tracker.started(r);
    this.opts.onSample?.(r.t, r.rss);
  }

  tick(p: Supervised): void {
    const r = this.read(p.now());
    if (!r) return;
    this.tracker.sample(r);
    this.opts.onSample?.(r.t, r.rss);
  }

  line(stream: 'stdout' | 'stderr', line: string): void {
    const m = parseMarker(line, this.opts.markers ?? {});
    const proc = this.proc;
    if (m && proc) {
      const t = proc.now();
      // Read first, before anything else: the command is already running the next step.
      const r = this.read(t);
      const opened = this.tracker.marker(m, r, t);
      this.opts.onStepStart?.(opened, t);
      if (r && this.hwmOk) for (const p of r.perPid.keys()) resetHighWaterMark(p);
      // A program waiting on CELLBUDGET_STEP_ACK_FD resumes only now: an exact boundary.
      proc.write('\n');
    }
    this.opts.onLine?.(stream, line);
  }

  // Every descendant ever seen is ended with the command, even one that left its group (setsid).
  private read(t: number): TreeReading | null {
    if (!this.proc) return null;
    const r = readTree(this.proc.pid, t);
    if (r) for (const p of r.perPid.keys()) this.proc.noteDescendant(p);
    return r;
  }
}

/**
 * Run one command scenario and measure it step by step. Never throws for the command's own
 * failures: a non-zero exit, a signal, a timeout come back as status 'died' with the step
 * it was in and the figures seen so far; a command that cannot start comes back as 'error'.
 */
export async function runCommandScenario(spec: CommandSpec, opts: CommandRunOptions = {}): Promise<CommandRunRecord> {
  if (spec.command.length === 0 || !spec.command[0]) {
    throw new CellbudgetError('SCENARIO_INVALID', `Scenario '${spec.name}' has an empty command.`, {
      key: 'command',
      hint: 'Write the program and its arguments as a list, e.g. command: ["python3", "train_multidataset.py", "data=tahoe_sciplex"].',
    });
  }
  const cwd = spec.cwd ?? process.cwd();
  const setEnv: Record<string, string> = { PYTHONUNBUFFERED: '1', ...(spec.env ?? {}) };
  const hwmOk = kernelHwmAvailable();
  const log = new CommandLog(opts.logPath, `# cellbudget: ${JSON.stringify(spec.command)} in ${cwd}, env ${JSON.stringify(setEnv)}\n`);
  const watch = new TreeWatch(spec, opts, hwmOk);

  const end = await supervise({
    argv: spec.command,
    cwd,
    // fd 3: the acknowledgement channel (CELLBUDGET_STEP_ACK_FD); not part of the scenario's environment.
    env: { ...process.env, ...setEnv, CELLBUDGET_STEP_ACK_FD: '3' },
    fd3: 'write',
    // Own process group, so a timeout can stop the whole tree.
    group: true,
    ...(spec.timeout_ms !== undefined ? { timeoutMs: spec.timeout_ms } : {}),
    killGraceMs: opts.killGraceMs ?? 2000,
    tickMs: opts.sampleIntervalMs ?? 10,
    tail: { chars: 4000, streams: 'stderr' },
    onSpawn: (p) => watch.spawned(p),
    onTick: (p) => watch.tick(p),
    onChunk: (_stream, chunk) => log.write(chunk),
    onLine: (stream, line) => watch.line(stream, line),
  });

  if (end.spawnError === null) watch.tracker.exited(end.durationMs);
  const steps = watch.tracker.finish(spec.baseline ?? 'auto');
  // Its own output stays in its log; the reason is how it ended.
  const why = classifyEnd(
    { ...end, tail: '' },
    { subject: 'the command', notStarted: (e) => `could not start ${JSON.stringify(spec.command[0])} in ${cwd}: ${e.message}` },
  );
  log.close(`\n# cellbudget: ${why?.reason ?? 'exited with code 0'} after ${Math.round(end.durationMs)} ms, ${steps.markers} markers\n`);
  return commandRecord(spec, { cwd, setEnv, hwmOk, logPath: opts.logPath ?? null }, end, steps, why);
}

/** The report record of a command run: its steps, how it ended, how it was measured. */
function commandRecord(
  spec: CommandSpec,
  how: { cwd: string; setEnv: Record<string, string>; hwmOk: boolean; logPath: string | null },
  end: ProcessEnd,
  t: CommandSteps,
  why: KilledFor | null,
): CommandRunRecord {
  const status: RunRecord['status'] = why === null ? 'ok' : why.kind === 'spawn' ? 'error' : 'died';
  const base = {
    scenario: spec.name,
    strategy: 'command' as const,
    scale: spec.scale ?? 1,
    method: how.hwmOk ? ('kernel-hwm-command' as const) : ('sampled-rss' as const),
    status,
    baseline_bytes: t.baseline.bytes,
    peak_bytes: t.peak_bytes,
    final_bytes: t.final_bytes,
    final_live_bytes: 0,
    duration_ms: Math.round(end.durationMs),
    steps: t.steps,
    retained: {},
    samples: t.samples,
    env: how.setEnv,
  };
  const record: CommandRunRecord = {
    ...base,
    budgets: status === 'error' ? [] : evaluateBudgets(base, spec.budgets ?? {}),
    command: {
      argv: [...spec.command],
      cwd: how.cwd,
      pid: end.pid,
      exit_code: end.code,
      signal: end.signal ?? null,
      timed_out: end.killedFor?.kind === 'timeout',
      log_path: how.logPath,
      markers: t.markers,
      baseline_source: t.baseline.source,
      max_processes: t.max_processes,
      notes: notesFor(how.hwmOk, end.leftovers, t.baseline.source),
    },
  };
  if (why !== null) {
    record.failure = {
      // The command's own output says why; point at it.
      reason: how.logPath ? `${why.reason}; its output is in ${how.logPath}` : why.reason,
      ...(t.last_label !== undefined ? { step: t.last_label } : {}),
      signal: end.signal ?? null,
      exit_code: end.code,
      stderr_tail: end.tail,
    };
  }
  return record;
}
