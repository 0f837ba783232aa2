/**
 * Measure any command — a Python training script, a shell pipeline's binary — step by step
 * with the kernel's high-water marks (issue 8).
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
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { CellbudgetError } from '../core/errors.js';
import { descendantPids, kernelHwmAvailable, processGroupMembers, processStartTime, readProcStatus, resetHighWaterMark } from '../memory/proc.js';
import { evaluateBudgets } from './budgets.js';
import { classifyLabel, LineSplitter, parseMarker, type Marker, type MarkerOptions } from './markers.js';
import type { RunRecord, StepRecord } from '../core/report.js';
import { NO_IN_PROCESS_FIGURES } from '../core/figures.js';
import type { Budgets } from './scenario.js';

/** Where the baseline of a command comes from; see the module comment. */
export type CommandBaseline = 'auto' | 'first-marker' | 'start' | 'zero';

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
  onBaselineCandidate?: (source: 'start' | 'first-step-marker' | 'first-memory-marker', rssBytes: number) => void;
  /** Every RSS reading of the whole tree (ms since start, absolute bytes). */
  onSample?: (tMs: number, rssBytes: number) => void;
  /** A marker opened a step (null: a bare `::step` or a `[MEMORY]` line, which open none). */
  onStepStart?: (name: string | null, tMs: number) => void;
  markers?: MarkerOptions;
  /** Dataset names to recognise in labels (the first match wins). */
  datasets?: readonly string[];
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
    baseline_source: 'first-step-marker' | 'start' | 'zero';
    /** Largest number of processes in the tree at one reading. */
    max_processes: number;
    notes: string[];
  };
}

interface Reading {
  t: number;
  /** RSS summed over the tree, absolute. */
  rss: number;
  /** pid → [rss, hwm] */
  perPid: Map<number, [number, number]>;
}

function readTree(root: number, t: number): Reading | null {
  const self = readProcStatus(root);
  if (!self) return null;
  const perPid = new Map<number, [number, number]>([[root, [self.rssBytes, self.hwmBytes]]]);
  let rss = self.rssBytes;
  for (const pid of descendantPids(root)) {
    const s = readProcStatus(pid);
    if (!s) continue;
    perPid.set(pid, [s.rssBytes, s.hwmBytes]);
    rss += s.rssBytes;
  }
  return { t, rss, perPid };
}

/** OOM kills recorded for our cgroup (cgroup v2), to tell a memory kill from another SIGKILL. */
function cgroupOomKills(): number | null {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    if (!line) return null;
    const text = readFileSync(`/sys/fs/cgroup${line.slice(3)}/memory.events`, 'utf8');
    const m = /^oom_kill\s+(\d+)/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

interface OpenStep {
  name: string | null;
  startMs: number;
  /** pid → highest VmHWM seen during the step (absolute). */
  hwm: Map<number, number>;
}

const STDERR_TAIL_BYTES = 4000;
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

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
  const scale = spec.scale ?? 1;
  const cwd = spec.cwd ?? process.cwd();
  const setEnv: Record<string, string> = { PYTHONUNBUFFERED: '1', ...(spec.env ?? {}) };
  // Not part of the scenario's environment: how a program can make its boundaries exact.
  const protocolEnv: Record<string, string> = { CELLBUDGET_STEP_ACK_FD: '3' };
  const interval = opts.sampleIntervalMs ?? 10;
  const grace = opts.killGraceMs ?? 2000;
  const hwmOk = kernelHwmAvailable();
  const notes: string[] = [
    'Figures are the command\'s own: VmRSS/VmHWM of its process, plus its descendants summed (an upper bound) when it had any.',
    hwmOk
      ? 'Per-step peak: VmHWM read when the marker line arrived, then reset through /proc/<pid>/clear_refs.'
      : 'clear_refs is not writable here: per-step peaks are the highest of RSS samples every ~10 ms ("sampled").',
    'A step boundary is when the marker line was read; the command keeps running meanwhile (typically 0.2-7 ms later on a loaded machine), unless it waits for the acknowledgement: after printing a marker line, read one byte from the file descriptor in CELLBUDGET_STEP_ACK_FD; the boundary is then exact. Output must be line-buffered (PYTHONUNBUFFERED=1 is set).',
    'final_bytes: RSS at the last marker when only the way to exit follows it (a [MEMORY] line or a bare ::step); otherwise the last reading before exit, which may include teardown.',
    'Heap, GC and live-bytes figures of an external command are not observable and are recorded as 0.',
  ];

  let logFd: number | null = null;
  if (opts.logPath) {
    mkdirSync(dirname(opts.logPath), { recursive: true });
    logFd = openSync(opts.logPath, 'w');
    writeSync(logFd, `# cellbudget: ${JSON.stringify(spec.command)} in ${cwd}, env ${JSON.stringify(setEnv)}\n`);
  }
  const log = (s: string | Buffer): void => {
    if (logFd !== null) writeSync(logFd, typeof s === 'string' ? Buffer.from(s) : s);
  };

  const steps: CommandStepRecord[] = [];
  const samples: Array<[number, number]> = [];
  let markers = 0;
  let maxProcesses = 0;
  let startReading: Reading | null = null;
  let last: Reading | null = null;
  let firstMarkerRss: number | null = null;
  let firstMarkerKind: Marker['kind'] | null = null;
  let lastMarkerEndRss: number | null = null;
  let lastMarkerOpensNothing = false;
  let dataset: string | null = null;
  let stderrTail = '';
  let pid: number | null = null;
  let ack: Writable | null = null;

  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  let open: OpenStep = { name: null, startMs: 0, hwm: new Map() };

  // Every descendant ever seen, with its start time (a pid can be reused): one that left the
  // process group (setsid) is still ended when the command exits.
  const seenDescendants = new Map<number, string>();
  const observe = (r: Reading): void => {
    last = r;
    maxProcesses = Math.max(maxProcesses, r.perPid.size);
    for (const p of r.perPid.keys()) {
      if (p === pid || seenDescendants.has(p)) continue;
      const st = processStartTime(p);
      if (st !== null) seenDescendants.set(p, st);
    }
    for (const [p, [rss, hwm]] of r.perPid) {
      // Without clear_refs VmHWM never resets, so fall back to the sampled RSS.
      const v = hwmOk ? hwm : rss;
      open.hwm.set(p, Math.max(open.hwm.get(p) ?? 0, v));
    }
  };

  // Steps are kept with absolute figures and made net of the baseline at the end, when the
  // baseline is known.
  const closeStep = (closedBy: 'marker' | 'exit', reading: Reading | null, memory: Marker | null, nameFromMarker: string | null): void => {
    const endMs = reading?.t ?? now();
    const r = reading ?? last;
    let self = 0;
    let desc = 0;
    for (const [p, v] of open.hwm) {
      if (p === pid) self = v;
      else desc += v;
    }
    const rawName = open.name ?? nameFromMarker;
    const label = rawName ?? (closedBy === 'exit' ? (markers === 0 ? `${spec.command.join(' ')} (whole run)` : 'after the last marker, until exit') : 'startup');
    const cls = classifyLabel(label, dataset, opts.datasets ?? []);
    if (rawName !== null) dataset = cls.dataset;
    const step: CommandStepRecord = {
      dataset: rawName !== null ? cls.dataset : null,
      name: cls.name ?? (rawName ?? (closedBy === 'exit' ? (markers === 0 ? 'run' : 'exit') : 'startup')),
      label: desc > 0 ? `${label} (incl. children, upper bound)` : label,
      start_ms: open.startMs,
      end_ms: endMs,
      peak_bytes: self + desc,
      end_bytes: r?.rss ?? 0,
      ...NO_IN_PROCESS_FIGURES,
      self_peak_bytes: self,
      descendants_peak_bytes: desc,
      processes: open.hwm.size,
      peak_is_upper_bound: desc > 0,
      closed_by: closedBy,
    };
    if (memory?.kind === 'memory') {
      step.reported_used_bytes = memory.usedBytes;
      if (memory.availableBytes !== null) step.reported_available_bytes = memory.availableBytes;
      if (memory.totalBytes !== null) step.reported_total_bytes = memory.totalBytes;
    }
    steps.push(step);
    opts.onStep?.(step);
  };

  const onMarker = (m: Marker): void => {
    const t = now();
    // Read first, before anything else: the command is already running the next step.
    const r = pid !== null ? readTree(pid, t) : null;
    if (r) observe(r);
    markers += 1;
    if (firstMarkerKind === null) {
      firstMarkerKind = m.kind;
      firstMarkerRss = r?.rss ?? last?.rss ?? null;
      if (firstMarkerRss !== null) opts.onBaselineCandidate?.(m.kind === 'step' ? 'first-step-marker' : 'first-memory-marker', firstMarkerRss);
    }
    closeStep('marker', r, m, m.kind === 'memory' ? m.label : null);
    lastMarkerEndRss = r?.rss ?? last?.rss ?? null;
    lastMarkerOpensNothing = m.kind === 'memory' || m.name === '';
    // A bare `::step` closes the last step without opening another: it marks the final state.
    open = { name: m.kind === 'step' && m.name !== '' ? m.name : null, startMs: t, hwm: new Map() };
    opts.onStepStart?.(open.name, t);
    if (r) {
      for (const [p, [rss]] of r.perPid) {
        if (hwmOk) resetHighWaterMark(p);
        // A process that exits before the next reading still counts with what it held.
        open.hwm.set(p, rss);
      }
    }
    // A program waiting on CELLBUDGET_STEP_ACK_FD resumes only now: an exact boundary.
    ack?.write('\n');
  };

  const onLine = (stream: 'stdout' | 'stderr', line: string): void => {
    const m = parseMarker(line, opts.markers ?? {});
    if (m) onMarker(m);
    opts.onLine?.(stream, line);
  };

  let leftAtExit = 0;
  const oomBefore = cgroupOomKills();
  let child: ChildProcess;
  let timedOut = false;
  let sentKill = false;
  let sampler: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;

  // The command runs in its own process group, so a Ctrl-C on the harness would not reach
  // it: pass the signal on, and leave nothing running when the harness exits.
  let running = false;
  const forward = (sig: NodeJS.Signals): void => {
    if (running) killGroup('SIGTERM');
    for (const s of FORWARDED) process.removeListener(s, forward);
    process.removeListener('exit', onParentExit);
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  const onParentExit = (): void => {
    if (running) killGroup('SIGKILL');
  };
  for (const s of FORWARDED) process.on(s, forward);
  process.on('exit', onParentExit);

  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError: Error | null }>((resolveRun) => {
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let spawnError: Error | null = null;
    let openStreams = 2;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      if (spawnError) {
        finished = true;
        resolveRun({ code: null, signal: null, spawnError });
        return;
      }
      if (!exited || openStreams > 0) return;
      finished = true;
      resolveRun({ ...exited, spawnError: null });
    };

    try {
      child = spawn(spec.command[0] as string, spec.command.slice(1), {
        cwd,
        env: { ...process.env, ...setEnv, ...protocolEnv },
        // fd 3: the acknowledgement channel (CELLBUDGET_STEP_ACK_FD).
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        // Own process group, so a timeout can stop the whole tree.
        detached: true,
      });
    } catch (e) {
      // Invalid arguments (a NUL byte, a bad env value) throw before anything starts.
      spawnError = e instanceof Error ? e : new Error(String(e));
      finish();
      return;
    }
    const ackStream = child.stdio[3];
    if (ackStream && 'write' in ackStream) {
      ack = ackStream as Writable;
      // A program that closed fd 3 or exited: acknowledgements are simply not needed.
      ack.on('error', () => undefined);
    }
    child.on('spawn', () => {
      pid = child.pid ?? null;
      running = true;
      if (pid === null) return;
      const r = readTree(pid, now());
      if (r) {
        startReading = r;
        observe(r);
        samples.push([r.t, r.rss]);
        opts.onBaselineCandidate?.('start', r.rss);
        opts.onSample?.(r.t, r.rss);
      }
      sampler = setInterval(() => {
        if (pid === null || exited) return;
        const s = readTree(pid, now());
        if (!s) return;
        observe(s);
        samples.push([s.t, s.rss]);
        opts.onSample?.(s.t, s.rss);
      }, interval);
      if (spec.timeout_ms !== undefined) {
        killTimer = setTimeout(() => {
          timedOut = true;
          killGroup('SIGTERM');
          graceTimer = setTimeout(() => {
            sentKill = true;
            killGroup('SIGKILL');
          }, grace);
        }, spec.timeout_ms);
      }
    });
    child.on('error', (e) => {
      spawnError = e;
      finish();
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const splitter = new LineSplitter();
      const s = child[stream];
      if (!s) {
        openStreams -= 1;
        continue;
      }
      s.on('data', (chunk: Buffer) => {
        log(chunk);
        if (stream === 'stderr') stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
        for (const line of splitter.push(chunk)) onLine(stream, line);
      });
      s.on('close', () => {
        for (const line of splitter.end()) onLine(stream, line);
        openStreams -= 1;
        finish();
      });
    }
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running = false;
      // Whatever the command left running (a forked worker, a daemonised helper) ends with it.
      leftAtExit = terminateLeftovers('SIGTERM');
      ack?.destroy();
      ack = null;
      if (sampler) clearInterval(sampler);
      // A descendant may hold the pipes open after the command itself ended.
      setTimeout(() => {
        if (openStreams > 0) {
          child.stdout?.destroy();
          child.stderr?.destroy();
          openStreams = 0;
          finish();
        }
      }, 1000).unref();
      finish();
    });
  });

  /** Processes of the command's group, and descendants seen during the run, still alive. */
  function leftovers(): number[] {
    if (pid === null) return [];
    const out = new Set(processGroupMembers(pid));
    for (const [p, start] of seenDescendants) if (processStartTime(p) === start) out.add(p);
    out.delete(pid);
    out.delete(process.pid);
    return [...out];
  }
  function terminateLeftovers(signal: NodeJS.Signals): number {
    const left = leftovers();
    killGroup(signal);
    for (const p of left) {
      try {
        process.kill(p, signal);
      } catch {
        // already gone
      }
    }
    return left.length;
  }

  function killGroup(signal: NodeJS.Signals): void {
    if (pid === null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  for (const s of FORWARDED) process.removeListener(s, forward);
  process.removeListener('exit', onParentExit);
  if (sampler) clearInterval(sampler);
  if (killTimer) clearTimeout(killTimer);
  if (graceTimer) clearTimeout(graceTimer);
  // Nothing the command started outlives it: SIGTERM went out at its exit; what is still
  // there after a short grace is killed.
  if (result.spawnError === null) {
    const deadline = performance.now() + Math.min(grace, 1000);
    while (leftovers().length > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    terminateLeftovers('SIGKILL');
    if (timedOut || result.signal) killGroup('SIGKILL');
  }

  const durationMs = now();
  if (result.spawnError === null) closeStep('exit', null, null, null);

  let baselineSource: CommandRunRecord['command']['baseline_source'];
  let baseline: number;
  const mode = spec.baseline ?? 'auto';
  const startRss = (startReading as Reading | null)?.rss ?? 0;
  if (mode === 'zero') {
    baselineSource = 'zero';
    baseline = 0;
  } else if ((mode === 'first-marker' || (mode === 'auto' && firstMarkerKind === 'step')) && firstMarkerRss !== null) {
    baselineSource = 'first-step-marker';
    baseline = firstMarkerRss;
  } else {
    baselineSource = startReading ? 'start' : 'zero';
    baseline = startRss;
  }

  for (const s of steps) {
    // The command's own process carries the baseline; descendants are counted in full.
    s.peak_bytes -= baseline;
    s.self_peak_bytes -= baseline;
    s.end_bytes -= baseline;
  }
  const netSamples = samples.map(([t, b]) => [Math.round(t * 10) / 10, b - baseline] as [number, number]);
  const peak = steps.reduce((m, s) => Math.max(m, s.peak_bytes), 0);
  const lastStep = steps[steps.length - 1];
  // The final state is the RSS at the last marker when nothing but the way to exit came
  // after it (a [MEMORY] line or a bare ::step); otherwise the last reading before exit,
  // which may already include the runtime's teardown.
  const final =
    lastMarkerOpensNothing && lastMarkerEndRss !== null && lastStep?.closed_by === 'exit' ? lastMarkerEndRss - baseline : (lastStep?.end_bytes ?? 0);

  const signal = result.signal;
  const code = result.code;
  let status: RunRecord['status'] = 'ok';
  let reason: string | null = null;
  if (result.spawnError) {
    status = 'error';
    reason = `could not start ${JSON.stringify(spec.command[0])} in ${cwd}: ${result.spawnError.message}`;
  } else if (timedOut) {
    status = 'died';
    reason = `timed out after ${spec.timeout_ms} ms: sent SIGTERM${sentKill ? `, then SIGKILL after ${grace} ms` : ''}`;
  } else if (signal) {
    status = 'died';
    const oomAfter = cgroupOomKills();
    if (signal === 'SIGKILL') {
      reason =
        oomBefore !== null && oomAfter !== null && oomAfter > oomBefore
          ? 'killed by the OOM killer (SIGKILL; the cgroup recorded an oom_kill)'
          : 'killed by SIGKILL, most likely for memory (the kernel OOM killer or a memory limit) or by hand';
    } else {
      reason = `killed by ${signal}`;
    }
  } else if (code !== 0) {
    status = 'died';
    reason = `exited with code ${code}`;
  }

  if (logFd !== null) {
    log(`\n# cellbudget: ${reason ?? 'exited with code 0'} after ${Math.round(durationMs)} ms, ${markers} markers\n`);
    closeSync(logFd);
  }

  const base = {
    scenario: spec.name,
    strategy: 'command' as const,
    scale,
    method: hwmOk ? ('kernel-hwm-command' as const) : ('sampled-rss' as const),
    status,
    baseline_bytes: baseline,
    peak_bytes: peak,
    final_bytes: final,
    final_live_bytes: 0,
    duration_ms: Math.round(durationMs),
    steps,
    retained: {},
    samples: netSamples,
    env: setEnv,
  };
  const record: CommandRunRecord = {
    ...base,
    budgets: status === 'error' ? [] : evaluateBudgets(base, spec.budgets ?? {}),
    command: {
      argv: [...spec.command],
      cwd,
      pid,
      exit_code: code,
      signal: signal ?? null,
      timed_out: timedOut,
      log_path: opts.logPath ?? null,
      markers,
      baseline_source: baselineSource,
      max_processes: maxProcesses,
      notes: [
        ...notes,
        ...(leftAtExit > 0 ? [`${leftAtExit} process(es) the command left running were ended after it exited (SIGTERM, then SIGKILL).`] : []),
        baselineSource === 'first-step-marker'
          ? 'baseline_bytes: RSS when the command announced its first ::step (runtime and imports loaded).'
          : baselineSource === 'start'
            ? 'baseline_bytes: RSS at the first reading right after exec (the bare runtime, before the program\'s own imports).'
            : 'baseline_bytes: 0; figures are absolute.',
      ],
    },
  };
  if (status !== 'ok' && reason !== null) {
    const failedStep = lastStep?.label;
    record.failure = {
      // The command's own output says why; point at it.
      reason: opts.logPath ? `${reason}; its output is in ${opts.logPath}` : reason,
      ...(failedStep !== undefined ? { step: failedStep } : {}),
      signal: signal ?? null,
      exit_code: code,
      stderr_tail: stderrTail,
    };
  }
  return record;
}
