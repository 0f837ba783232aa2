/**
 * Run one job in a fresh measuring child and collect what it reports.
 *
 * The parent never throws for a dead child: out of memory, killed, crashed, timed out or
 * a job error all come back as a result with `status` and `failure` (the step the child
 * died in, the last figures seen, the tail of its output), so a caller can go on to the
 * next scenario. While the child runs, the parent samples its RSS from /proc/<pid>/status
 * for the timeline (the child's own peaks come from its kernel high-water marks).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pidAlive } from '../../src/io/files.js';
import { kernelHwmAvailable, readProcStatus } from '../../src/memory/proc.js';
import { formatBytes } from '../../src/core/units.js';
import type { BaselineRecord, ChildJob, ChildMessage, ErrorRecord } from './protocol.js';
import type { MeasureMethod, RunRecord, StepRecord } from '../../src/core/report.js';
import { classifyEnd, OOM_PATTERNS, supervise, type EndWording, type FailureKind, type KilledFor, type Supervised } from './supervisor.js';

export interface MemoryCap {
  /** V8 old-space limit (`--max-old-space-size`, MiB): the heap dies with "JavaScript heap out of memory". */
  maxOldSpaceMb?: number;
  /**
   * Address-space limit (`ulimit -v`, via `sh -c`). Coarse: V8 and WebAssembly reserve far
   * more address space than they use, so set it well above the expected RSS.
   */
  addressSpaceBytes?: number;
  /** The parent kills the child (SIGKILL) once a sample shows RSS (absolute) above this: a stand-in for a node's memory. */
  rssBytes?: number;
  /** As `rssBytes`, net of the child's idle baseline (a scenario's node memory × scale). */
  netRssBytes?: number;
}

export interface RunChildOptions {
  job: ChildJob;
  /** Extra environment for the child (allocator settings such as MALLOC_MMAP_THRESHOLD_). Recorded in the result. */
  env?: Record<string, string>;
  /** Kill the child after this many ms (reported as died, reason timeout). */
  timeoutMs?: number;
  /** Parent-side RSS sampling period for the timeline, ms (default 10). */
  sampleIntervalMs?: number;
  /**
   * Who samples RSS for the timeline: the parent from /proc/<pid>/status ('parent'), or the
   * child's sampler thread over the record pipe ('child', sampled method only). 'auto'
   * (default): the parent where /proc is readable, the child elsewhere.
   */
  timelineFrom?: 'auto' | 'parent' | 'child';
  memoryCap?: MemoryCap;
  /** Extra node flags (before the entry script). */
  nodeArgs?: string[];
  /** The child entry; default dist/harness/process/child.js next to this module (or the built copy). */
  childEntry?: string;
  cwd?: string;
  /** Every message the child sends, as it arrives (progress displays). */
  onMessage?: (msg: ChildMessage) => void;
  /** The child's stdout/stderr text as it arrives (e.g. to show --verbose lines). */
  onOutput?: (text: string) => void;
  /** Every RSS sample the parent takes (epoch ms, absolute bytes), as it is taken. */
  onSample?: (epochMs: number, rssBytes: number) => void;
  /** How much of the child's output to keep for failure reports (default 4000 chars). */
  outputTailChars?: number;
}

export type { FailureKind, KilledFor } from './supervisor.js';

export interface ChildFailure {
  kind: FailureKind;
  /** One sentence: what happened and, where it helps, what to check. */
  reason: string;
  /** Label of the step that started and did not end ("prepare tahoe"), if any. */
  step?: string;
  signal: string | null;
  exit_code: number | null;
  /** Last few thousand characters of the child's stdout+stderr. */
  stderr_tail: string;
  /** The job's error, when it threw. */
  error?: ErrorRecord;
  /** Last RSS the parent sampled, net of baseline. */
  last_rss_bytes?: number;
  /** Highest RSS sampled during the step it died in, net of baseline. */
  step_peak_rss_bytes?: number;
  /** The last step that finished. */
  last_step?: StepRecord;
}

export interface ChildRunResult<R = unknown> {
  status: 'ok' | 'died' | 'error';
  /** Null when the child died before measuring its baseline. */
  method: Extract<MeasureMethod, 'kernel-hwm' | 'sampled-rss'> | null;
  pid: number | null;
  baseline: BaselineRecord | null;
  steps: StepRecord[];
  /** RSS samples [ms since the baseline, bytes net of baseline]. */
  samples: Array<[number, number]>;
  /** `runJob`'s return value (status ok). */
  result?: R;
  /** Records the job sent with ctx.emit. */
  events: Array<{ name: string; data: unknown }>;
  failure?: ChildFailure;
  /** The extra environment given to the child. */
  env: Record<string, string>;
  /** Highest figure seen: step peaks and samples, net of baseline. */
  peak_bytes: number;
  /** RSS at the end of the last finished step, net of baseline (0 without steps). */
  final_bytes: number;
  /** Live bytes at the end of the last finished step. */
  final_live_bytes: number;
  duration_ms: number;
  exit_code: number | null;
  signal: string | null;
}

/** Where the built child entry lives. From dist/harness/process it is a sibling; from sources (vitest) it is the built copy. */
export function defaultChildEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'child.js');
  if (existsSync(sibling)) return sibling;
  return resolve(here, '..', '..', 'dist', 'harness', 'process', 'child.js');
}

/** How the sentences about a measuring child read: it is our own program, so a non-zero exit is a crash. */
const CHILD_WORDING: EndWording = {
  subject: 'the child',
  exitCode: (code) => `crashed with exit code ${code}`,
  sigkill: 'killed by SIGKILL: most likely the kernel OOM killer or a container memory limit (check `dmesg` or the cgroup memory events)',
};

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** How a child ended, as the collector needs it to classify the run. */
export interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | string | null;
  /** Set when the child was ended on purpose (a timeout, a memory cap, a Slurm memory limit). */
  killedFor?: KilledFor | null;
  /** The last few thousand characters of the child's output. */
  tail: string;
  durationMs: number;
  pid: number | null;
  /** The cgroup recorded an OOM kill while the child ran. */
  cgroupOomKill?: boolean;
}

/**
 * The records of one measuring child, assembled into a ChildRunResult: `runChild` feeds it
 * the child's record pipe; the Slurm executor feeds it the same records read back from the
 * file a job wrote step by step (a job killed for memory loses nothing it already sent).
 */
export class ChildRecords<R = unknown> {
  readonly steps: StepRecord[] = [];
  readonly events: Array<{ name: string; data: unknown }> = [];
  /** [epoch ms, absolute RSS]. */
  readonly rawSamples: Array<[number, number]> = [];
  baseline: BaselineRecord | null = null;
  t0 = 0;
  method: ChildRunResult['method'] = null;
  /** Label of the step that started and has not ended. */
  current: string | null = null;
  private currentStartEpoch = 0;
  private result: { value: unknown } | null = null;
  private jobError: { error: ErrorRecord; step: string | null } | null = null;

  constructor(readonly env: Record<string, string>) {}

  /** One record of the child's protocol. */
  handle(msg: ChildMessage): void {
    switch (msg.type) {
      case 'baseline':
        this.baseline = msg.baseline;
        this.t0 = msg.t0_epoch_ms;
        this.method = msg.method;
        break;
      case 'step-start':
        this.current = msg.label;
        this.currentStartEpoch = this.t0 + msg.start_ms;
        break;
      case 'step':
        this.steps.push(msg.record);
        this.current = null;
        break;
      case 'sample':
        this.rawSamples.push([msg.epoch_ms, msg.rss_bytes]);
        break;
      case 'event':
        this.events.push({ name: msg.name, data: msg.data });
        break;
      case 'result':
        this.result = { value: msg.value };
        break;
      case 'error':
        this.jobError = { error: msg.error, step: msg.step };
        break;
      case 'hello':
        break;
    }
  }

  /** The run as measured, classified by how the child ended. */
  finish(end: ChildEnd): ChildRunResult<R> {
    const { baseline, steps, rawSamples, t0, current } = this;
    const baseRss = baseline?.rss_bytes ?? 0;
    // Samples before the baseline are start-up, not the run.
    const samples: Array<[number, number]> = baseline
      ? rawSamples.filter(([t]) => t >= t0).map(([t, rss]) => [round1(t - t0), rss - baseRss])
      : [];
    const lastStep = steps.at(-1);
    // Loops, not Math.max(...spread): an hour at 10 ms is 360,000 samples, past V8's argument limit.
    const peak = Math.max(maxOf(steps.map((s) => s.peak_bytes)), maxOf(samples.map(([, b]) => b)), 0);
    const signal = end.signal ?? null;
    const base: ChildRunResult<R> = {
      status: 'ok',
      method: this.method,
      pid: end.pid,
      baseline,
      steps,
      samples,
      events: this.events,
      env: this.env,
      peak_bytes: peak,
      final_bytes: lastStep?.end_bytes ?? 0,
      final_live_bytes: lastStep?.live_bytes ?? 0,
      duration_ms: end.durationMs,
      exit_code: end.code,
      signal,
    };
    const failure = classify({
      code: end.code,
      signal,
      killedFor: end.killedFor ?? null,
      jobError: this.jobError,
      gotResult: this.result !== null,
      tail: end.tail,
      cgroupOomKill: end.cgroupOomKill ?? false,
    });
    if (!failure) return { ...base, result: this.result?.value as R };
    const step = this.jobError?.step ?? current;
    const inStep = current !== null ? rawSamples.filter(([t]) => t >= this.currentStartEpoch) : [];
    const lastRaw = rawSamples.at(-1);
    return {
      ...base,
      status: failure.kind === 'job-error' ? 'error' : 'died',
      failure: {
        ...failure,
        ...(step ? { step } : {}),
        signal,
        exit_code: end.code,
        stderr_tail: end.tail,
        ...(lastRaw && baseline ? { last_rss_bytes: lastRaw[1] - baseRss } : {}),
        ...(inStep.length && baseline ? { step_peak_rss_bytes: maxOf(inStep.map(([, b]) => b)) - baseRss } : {}),
        ...(lastStep ? { last_step: lastStep } : {}),
      },
    };
  }
}

/** Run `job` in a fresh child; resolves with what was measured, never rejects for a dead child. */
export async function runChild<R = unknown>(opts: RunChildOptions): Promise<ChildRunResult<R>> {
  const env = opts.env ?? {};
  const started = performance.now();
  const timelineFrom =
    opts.timelineFrom === undefined || opts.timelineFrom === 'auto' ? (readProcStatus('self') ? 'parent' : 'child') : opts.timelineFrom;
  const job: ChildJob = timelineFrom === 'child' ? { ...opts.job, timelineFromChild: true } : opts.job;

  sweepStaleJobDirs();
  const dir = mkdtempSync(join(tmpdir(), `cellbudget-job-${process.pid}-`));
  try {
    const jobPath = join(dir, 'job.json');
    try {
      writeFileSync(jobPath, JSON.stringify(job));
    } catch (e) {
      return notStarted(env, started, e instanceof Error ? e : new Error(String(e)));
    }
    const records = new ChildRecords<R>(env);
    const end = await supervise({
      argv: childArgv(opts, jobPath),
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, ...env },
      fd3: 'read',
      // The child holds no resources worth a graceful end: a timeout kills it at once.
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs, killGraceMs: 0 } : {}),
      tickMs: opts.sampleIntervalMs ?? 10,
      tail: { chars: opts.outputTailChars ?? 4000 },
      ...(opts.onOutput ? { onChunk: (_stream: 'stdout' | 'stderr', chunk: Buffer) => opts.onOutput!(chunk.toString('utf8')) } : {}),
      onFd3Line: (line, proc) => takeRecord(line, records, proc, opts.onMessage),
      ...(timelineFrom === 'parent' ? { onTick: rssSampler(records, opts) } : {}),
    });
    if (end.spawnError) return notStarted(env, started, end.spawnError);
    return records.finish({ ...end, durationMs: performance.now() - started });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** node with the measuring flags, the entry and the job; under `sh -c 'ulimit -v …; exec …'` for an address-space cap. */
function childArgv(opts: RunChildOptions, jobPath: string): string[] {
  const nodeArgs = [
    '--expose-gc',
    ...(opts.memoryCap?.maxOldSpaceMb ? [`--max-old-space-size=${opts.memoryCap.maxOldSpaceMb}`] : []),
    ...(opts.nodeArgs ?? []),
  ];
  const argv = [process.execPath, ...nodeArgs, opts.childEntry ?? defaultChildEntry(), jobPath];
  const as = opts.memoryCap?.addressSpaceBytes;
  return as ? ['/bin/sh', '-c', `ulimit -v ${Math.ceil(as / 1024)} && exec ${argv.map(shellQuote).join(' ')}`] : argv;
}

/** One line of the record pipe. */
function takeRecord(line: string, records: ChildRecords, proc: Supervised, onMessage: RunChildOptions['onMessage']): void {
  if (!line.trim()) return;
  let msg: ChildMessage;
  try {
    msg = JSON.parse(line) as ChildMessage;
  } catch {
    proc.note(`\n[unparsable record] ${line.slice(0, 200)}`);
    return;
  }
  records.handle(msg);
  onMessage?.(msg);
}

/** The parent's RSS samples for the timeline, and the memory cap: the child is killed once a sample is over it. */
function rssSampler(records: ChildRecords, opts: RunChildOptions): (proc: Supervised) => void {
  const cap = opts.memoryCap?.rssBytes;
  const netCap = opts.memoryCap?.netRssBytes;
  return (proc) => {
    const s = readProcStatus(proc.pid);
    if (!s) return;
    const epochMs = performance.timeOrigin + performance.now();
    records.rawSamples.push([epochMs, s.rssBytes]);
    opts.onSample?.(epochMs, s.rssBytes);
    const baseline = records.baseline;
    const over =
      (cap !== undefined && s.rssBytes > cap) || (netCap !== undefined && baseline !== null && s.rssBytes - baseline.rss_bytes > netCap);
    if (!over) return;
    proc.kill({
      kind: 'memory-cap',
      reason: `out of memory: the child's RSS reached ${formatBytes(s.rssBytes)}${baseline ? ` (${formatBytes(s.rssBytes - baseline.rss_bytes)} above its baseline)` : ''}, above the memory cap of ${formatBytes(netCap ?? cap ?? 0)}${netCap !== undefined ? ' net of baseline' : ''}, and the harness killed it`,
    });
  };
}

/** A child that could not be started (its job file unwritable, the program missing): died, with nothing measured. */
function notStarted<R>(env: Record<string, string>, started: number, e: Error): ChildRunResult<R> {
  return {
    status: 'died',
    method: null,
    pid: null,
    baseline: null,
    steps: [],
    samples: [],
    events: [],
    env,
    peak_bytes: 0,
    final_bytes: 0,
    final_live_bytes: 0,
    duration_ms: performance.now() - started,
    exit_code: null,
    signal: null,
    failure: {
      ...classifyEnd({ code: null, signal: null, killedFor: null, tail: '', spawnError: e }, CHILD_WORDING)!,
      signal: null,
      exit_code: null,
      stderr_tail: '',
    },
  };
}

let jobDirsSwept = false;

/**
 * Remove job folders of harness processes that are gone (a Ctrl-C or SIGKILL skips the
 * cleanup in `finish`): `cellbudget-job-<pid>-*` whose pid is not running, and folders of the
 * older unnamed form `cellbudget-job-XXXXXX` older than a day. Once per process.
 */
function sweepStaleJobDirs(): void {
  if (jobDirsSwept) return;
  jobDirsSwept = true;
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^cellbudget-job-(?:(\d+)-)?[A-Za-z0-9]{6}$/.exec(name);
    if (!m) continue;
    const path = join(tmpdir(), name);
    try {
      const stale = m[1] !== undefined ? !pidAlive(Number(m[1])) : Date.now() - statSync(path).mtimeMs > 86_400_000;
      if (stale) rmSync(path, { recursive: true, force: true });
    } catch {
      // another process removed it first
    }
  }
}

function maxOf(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  return m;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

interface ClassifyInput {
  code: number | null;
  signal: NodeJS.Signals | string | null;
  killedFor: KilledFor | null;
  jobError: { error: ErrorRecord; step: string | null } | null;
  gotResult: boolean;
  tail: string;
  cgroupOomKill: boolean;
}

/** Why a child ended badly, or null when it finished with a result. */
function classify(i: ClassifyInput): Pick<ChildFailure, 'kind' | 'reason' | 'error'> | null {
  if (i.killedFor) return { kind: i.killedFor.kind, reason: i.killedFor.reason };
  if (i.jobError) {
    const msg = `${i.jobError.error.name}: ${i.jobError.error.message}`;
    const oom = OOM_PATTERNS.some((p) => p.test(i.tail) || p.test(i.jobError!.error.message));
    if (oom) return { kind: 'oom', reason: `out of memory: the job failed with ${msg}`, error: i.jobError.error };
    return { kind: 'job-error', reason: `the job failed: ${msg}`, error: i.jobError.error };
  }
  const ended = classifyEnd(i, CHILD_WORDING);
  if (ended) return ended;
  if (!i.gotResult) return { kind: 'exit', reason: 'exited without sending a result (did the job call process.exit?)' };
  return null;
}

/**
 * The measured part of a report.json run (everything but scenario, strategy, scale,
 * budgets, retained and leak), from a child's result. A dead child's reason carries the
 * last figures seen, since RunRecord.failure has no fields for them.
 */
export function measuredRunFields(
  res: ChildRunResult,
): Pick<
  RunRecord,
  | 'method'
  | 'status'
  | 'failure'
  | 'baseline_bytes'
  | 'peak_bytes'
  | 'final_bytes'
  | 'final_live_bytes'
  | 'duration_ms'
  | 'steps'
  | 'samples'
  | 'env'
> {
  const f = res.failure;
  let failure: RunRecord['failure'];
  if (f) {
    const seen: string[] = [];
    if (f.step_peak_rss_bytes !== undefined) seen.push(`RSS reached ${formatBytes(f.step_peak_rss_bytes)} above baseline in that step`);
    if (f.last_rss_bytes !== undefined) seen.push(`last sample ${formatBytes(f.last_rss_bytes)}`);
    if (f.last_step) seen.push(`last finished step '${f.last_step.label}' ended at ${formatBytes(f.last_step.end_bytes)}`);
    failure = {
      reason: `${f.reason}${f.step ? ` (in step '${f.step}')` : ''}${seen.length ? `; ${seen.join(', ')}` : ''}`,
      ...(f.step !== undefined ? { step: f.step } : {}),
      signal: f.signal,
      exit_code: f.exit_code,
      stderr_tail: f.stderr_tail,
    };
  }
  return {
    method: res.method ?? (kernelHwmAvailable() ? 'kernel-hwm' : 'sampled-rss'),
    status: res.status,
    ...(failure ? { failure } : {}),
    baseline_bytes: res.baseline?.rss_bytes ?? 0,
    peak_bytes: res.peak_bytes,
    final_bytes: res.final_bytes,
    final_live_bytes: res.final_live_bytes,
    duration_ms: res.duration_ms,
    steps: res.steps,
    samples: res.samples,
    env: res.env,
  };
}
