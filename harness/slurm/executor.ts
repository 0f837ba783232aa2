/**
 * The Slurm executor: every child run becomes one Slurm job (its own `--mem`: the planner's
 * prediction for that run), which runs the same child measurement on a node (job.ts)
 * and writes its records step by step into a work folder the nodes share with this machine.
 * The harness waits — squeue for the jobs' states, the records themselves for their progress
 * and results (there may be no accounting database: sacct is not relied on) — and turns
 * each job into the same outcome a local child gives.
 *
 * Faults end in a run that says what happened, never a hang: a job Slurm kills over its
 * --mem (died, memory limit, the step it was in), a job that never leaves the queue
 * (cancelled after the queue timeout), a node that fails, a work folder the nodes do not
 * share (the job wrote nothing visible here: SLURM_WORKDIR_NOT_SHARED), an interrupted
 * harness (its jobs are cancelled with scancel and what they wrote is kept).
 */
import { existsSync, mkdirSync, openSync, closeSync, readSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CellbudgetError, isCellbudgetError } from '../../src/core/errors.js';
import { formatBytes } from '../../src/core/units.js';
import type { ChildRunOutcome, ChildRunSpec, Executor, ExecutorHooks, RunPlace } from '../run/executor.js';
import {
  childFromRecords,
  commandFromRecords,
  jobLine,
  OUTPUT_FILE,
  readResult,
  RECORDS_FILE,
  RecordReader,
  SCRIPT_FILE,
  SPEC_FILE,
  type JobEnd,
  type JobRecord,
  type JobResult,
  type JobSpecFile,
} from './records.js';
import type { KilledFor } from '../process/supervisor.js';
import {
  choosePartition,
  isTerminal,
  jobDetails,
  jobStates,
  requireSlurmTools,
  sbatch,
  scancel,
  slurmMemArg,
  type JobState,
  type Partition,
} from './slurm.js';

/**
 * RSS of the job entry (job.js: Node and the modules it needs) while it watches its
 * child: its high-water mark measured here at 53–55 MB. Slurm counts every process of the job
 * against --mem.
 */
export const JOB_ENTRY_BYTES = 64e6;
/**
 * RSS of a measuring child at its baseline (Node, modules, h5wasm, and the measurement
 * warm-up: the young generation grown to its fixed size, 32 MiB of WebAssembly heap
 * reserved): measured here at 157–159 MB.
 */
export const CHILD_START_BYTES = 192e6;
/** Above the prediction: the model's error at small scales (max 24.6% on one step) and repeat noise (docs/slurm.md#how-much-memory-a-job-asks-for). */
export const DEFAULT_HEADROOM = 0.25;

export interface SlurmSettings {
  /** Folder on storage this machine and the compute nodes share; one subfolder per invocation. */
  workDir: string;
  partition?: string;
  account?: string;
  /** Slurm's form (`4:00:00`). */
  time?: string;
  /** Every job's --mem; default: per run, the predicted peak plus headroom plus what the job needs to start. */
  memBytes?: number;
  /** Extra sbatch arguments for site specifics (`--qos=…`, `--constraint=…`); they come last and win. */
  sbatchArgs: string[];
  /** Shell lines the job runs before cellbudget (e.g. `module load nodejs/20`). */
  setup?: string;
  /** The node binary on the compute nodes (default: the one running this harness). */
  node?: string;
  /** A job still pending after this long is cancelled and reported (default 1 h). */
  queueTimeoutMs: number;
  /** A running job that has written nothing visible here after this long means the work folder is not shared (default 5 min). */
  visibilityTimeoutMs: number;
  /** Longest wait between two squeue calls (default 5 s; the first ones come sooner). */
  pollMs: number;
  /** Fraction added to the predicted peak for the default --mem (default 0.25). */
  headroom: number;
}

/** How long squeue may keep failing before the wait ends with what the jobs recorded. */
const SQUEUE_GIVE_UP_MS = 10 * 60_000;

export const SLURM_DEFAULTS = {
  queueTimeoutMs: 3_600_000,
  visibilityTimeoutMs: 300_000,
  pollMs: 5000,
  headroom: DEFAULT_HEADROOM,
} as const;

/** The node entry of a job: dist/harness/slurm/job.js (also when running from the sources). */
export function jobEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'job.js');
  return existsSync(sibling) ? sibling : resolve(here, '..', '..', 'dist', 'harness', 'slurm', 'job.js');
}

/**
 * The memory a run's job asks for: `--slurm-mem` when given; otherwise what the job needs to
 * start (the entry's and the measuring child's own RSS) plus the predicted peak with headroom.
 * A command scenario has no prediction: its peak budget (at its scale) stands in, or --slurm-mem is needed.
 */
export function jobMemoryBytes(spec: ChildRunSpec, settings: Pick<SlurmSettings, 'memBytes' | 'headroom'>): number {
  if (settings.memBytes !== undefined) return settings.memBytes;
  if (spec.predictedPeakBytes === undefined) {
    throw new CellbudgetError(
      'USAGE',
      spec.kind === 'command'
        ? `Command scenario '${spec.scenario}' has no peak budget to size its Slurm job from, and --slurm-mem was not given.`
        : `The simulator cannot predict '${spec.scenario}' / ${spec.strategy}, so its Slurm job has no default memory request.`,
      {
        key: '--slurm-mem',
        hint:
          'Give --slurm-mem SIZE (e.g. --slurm-mem 400GB)' + (spec.kind === 'command' ? ', or budgets: { peak: … } in the scenario.' : '.'),
      },
    );
  }
  return JOB_ENTRY_BYTES + CHILD_START_BYTES + spec.predictedPeakBytes * (1 + settings.headroom);
}

/** The batch script of one run: `#SBATCH` lines for everything it asks for, then the job entry. */
export function jobScript(spec: ChildRunSpec, dir: string, memBytes: number, settings: SlurmSettings): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = [
    '#!/bin/bash',
    `# cellbudget: ${spec.scenario} / ${spec.strategy} at scale ${spec.scale}, written by \`cellbudget run\` on ${hostname()} at ${new Date().toISOString()}.`,
    `# Requested memory: ${formatBytes(memBytes)}${spec.predictedPeakBytes !== undefined && settings.memBytes === undefined ? ` (predicted peak ${formatBytes(spec.predictedPeakBytes)} + ${Math.round(settings.headroom * 100)}%, plus ${formatBytes(JOB_ENTRY_BYTES + CHILD_START_BYTES)} to start)` : ''}.`,
    `#SBATCH --job-name=cb-${spec.id}`,
    `#SBATCH --output=${join(dir, OUTPUT_FILE)}`,
    `#SBATCH --mem=${slurmMemArg(memBytes)}`,
    '#SBATCH --nodes=1',
    '#SBATCH --ntasks=1',
    '#SBATCH --cpus-per-task=1',
    // A rerun on another node would overwrite what the first attempt recorded.
    '#SBATCH --no-requeue',
    ...(settings.partition ? [`#SBATCH --partition=${settings.partition}`] : []),
    ...(settings.account ? [`#SBATCH --account=${settings.account}`] : []),
    ...(settings.time ? [`#SBATCH --time=${settings.time}`] : []),
    ...(settings.setup ? ['', settings.setup] : []),
    '',
    `exec ${q(settings.node ?? process.execPath)} ${q(jobEntry())} ${q(dir)}`,
    '',
  ];
  return lines.join('\n');
}

interface Tracked {
  spec: ChildRunSpec;
  dir: string;
  id: string;
  memBytes: number;
  submittedAt: number;
  reader: RecordReader;
  started: boolean;
  runningSince?: number;
  terminalSince?: number;
  state?: JobState;
  /** Set when cellbudget itself cancelled the job: why. */
  cancelled?: { reason: string; code?: string };
  done: boolean;
  /** result.json was read and holds a died run: kept until the job's end says why. */
  pendingResult?: JobResult;
}

/** The Slurm executor. `settings.workDir` must be on storage the compute nodes share. */
export function slurmExecutor(settings: SlurmSettings): Executor {
  return {
    name: 'slurm',
    run: (specs, hooks = {}, signal) => runOnSlurm(specs, settings, hooks, signal),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runOnSlurm(
  specs: readonly ChildRunSpec[],
  settings: SlurmSettings,
  hooks: ExecutorHooks,
  signal?: AbortSignal,
): Promise<ChildRunOutcome[]> {
  requireSlurmTools();
  const partition = await choosePartition(settings.partition);
  // Every request is sized and checked before the first job is submitted.
  // What Slurm is asked for: whole MiB (its unit), so the report says exactly what was requested.
  const mems = specs.map((s) => Math.ceil(jobMemoryBytes(s, settings) / 2 ** 20) * 2 ** 20);
  mems.forEach((m, i) => checkFits(specs[i]!, m, partition));

  const base = join(resolve(settings.workDir), `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(base, { recursive: true });
  const tracked: Tracked[] = [];
  try {
    for (const [i, spec] of specs.entries()) {
      if (signal?.aborted) break;
      const dir = join(base, spec.id);
      mkdirSync(dir, { recursive: true });
      // A command's output log stays with the job's other files.
      const onNode: ChildRunSpec = spec.kind === 'command' ? { ...spec, logPath: join(dir, 'command.log') } : spec;
      writeFileSync(join(dir, SPEC_FILE), JSON.stringify({ version: 1, spec: onNode } satisfies JobSpecFile));
      const script = join(dir, SCRIPT_FILE);
      writeFileSync(script, jobScript(onNode, dir, mems[i]!, { ...settings, partition: partition.name }), { mode: 0o755 });
      const id = await sbatch(script, settings.sbatchArgs);
      tracked.push({
        spec: onNode,
        dir,
        id,
        memBytes: mems[i]!,
        submittedAt: Date.now(),
        reader: new RecordReader(join(dir, RECORDS_FILE)),
        started: false,
        done: false,
      });
    }
  } catch (e) {
    // Slurm refused one: the ones already in the queue would run for nothing.
    await scancel(tracked.map((t) => t.id));
    throw e;
  }
  hooks.onNote?.(
    `Submitted ${tracked.length} Slurm job(s) to partition ${partition.name} (${tracked.map((t) => t.id).join(', ')}); their records go to ${base}`,
  );

  const outcomes = new Map<Tracked, ChildRunOutcome>();
  const finish = (t: Tracked, outcome: ChildRunOutcome): void => {
    t.done = true;
    outcomes.set(t, outcome);
    hooks.onDone?.(t.spec, outcome);
  };
  let interval = Math.min(500, settings.pollMs);
  let squeueFailing: number | undefined;
  let nextSqueue = 0;
  let abortedAt: number | undefined;
  const graceMs = 2 * settings.pollMs;

  while (tracked.some((t) => !t.done)) {
    const now = Date.now();
    const open = tracked.filter((t) => !t.done);
    if (signal?.aborted && abortedAt === undefined) {
      abortedAt = now;
      const why =
        signal.reason instanceof Error
          ? signal.reason.message
          : typeof signal.reason === 'string'
            ? signal.reason
            : 'cellbudget was interrupted';
      for (const t of open) t.cancelled ??= { reason: `cancelled: ${why}, and cellbudget cancelled job ${t.id} (scancel)` };
      await scancel(open.map((t) => t.id));
      hooks.onNote?.(`Cancelled ${open.length} Slurm job(s): ${open.map((t) => t.id).join(', ')}`);
      nextSqueue = 0;
    }

    for (const t of open) {
      for (const r of t.reader.poll()) progressOf(t, r, hooks);
      if (t.pendingResult) continue;
      const res = readResult(t.dir);
      if (!res) continue;
      const died = res.kind === 'builtin' ? res.child.status === 'died' : res.record.status === 'died';
      // A run that died may have been killed for memory: the job's end (state, slurmstepd's lines) says so.
      if (died) t.pendingResult = res;
      else finish(t, fromResult(t, res, undefined, ''));
    }

    if (now >= nextSqueue) {
      const ids = tracked.filter((t) => !t.done).map((t) => t.id);
      let states: Map<string, JobState>;
      try {
        states = await jobStates(ids);
        squeueFailing = undefined;
      } catch (e) {
        // A controller that stops answering for a while (a restart, an overload) is waited
        // out on the records alone; one that stays away ends the wait with what was gathered.
        if (!isCellbudgetError(e)) throw e;
        if (squeueFailing === undefined)
          hooks.onNote?.(`squeue failed (${e.message.split('.')[0]}); waiting on the jobs' records until it answers again`);
        squeueFailing ??= now;
        if (now - squeueFailing > SQUEUE_GIVE_UP_MS) {
          for (const t of tracked.filter((x) => !x.done)) {
            t.cancelled ??= {
              reason: `Slurm stopped answering (squeue failed for ${duration(now - squeueFailing)}: ${e.message}); job ${t.id} may still be running — check it with squeue, cancel it with scancel ${t.id}`,
            };
            finish(t, await ended(t, t.state, settings));
          }
          break;
        }
        nextSqueue = Date.now() + settings.pollMs;
        await sleep(200);
        continue;
      }
      for (const t of tracked.filter((x) => !x.done)) {
        const st = states.get(t.id);
        if (st) t.state = st;
        if (!st || isTerminal(st.state)) {
          t.terminalSince ??= now;
          // A job that says it wrote its result (job-end) may take a moment to show it on a
          // network file system; one cut off mid-run has nothing more coming.
          const wroteResult = t.reader.all.some((r) => r.type === 'job-end');
          if (!wroteResult || now - t.terminalSince >= graceMs || abortedAt !== undefined || t.pendingResult)
            finish(t, await ended(t, st, settings));
          continue;
        }
        if (st.state === 'PENDING' && !t.cancelled && now - t.submittedAt > settings.queueTimeoutMs) {
          t.cancelled = {
            reason: `never started: job ${t.id} was still pending after ${duration(settings.queueTimeoutMs)} (Slurm's reason: ${st.reason || 'none given'}), and cellbudget cancelled it. Choose a partition with free nodes of that size (--partition), ask for less memory or time, or raise the queue timeout (--queue-timeout)`,
          };
          await scancel([t.id]);
        }
        if (st.state === 'RUNNING') {
          t.runningSince ??= now;
          if (
            !t.cancelled &&
            !t.reader.exists() &&
            !existsSync(join(t.dir, OUTPUT_FILE)) &&
            now - t.runningSince > settings.visibilityTimeoutMs
          ) {
            t.cancelled = {
              reason: notSharedReason(t, st.node, `has been running for ${duration(now - t.runningSince)}`),
              code: 'SLURM_WORKDIR_NOT_SHARED',
            };
            await scancel([t.id]);
          }
        }
      }
      interval = Math.min(interval * 1.5, settings.pollMs);
      nextSqueue = Date.now() + interval;
    }
    // Slurm did not confirm the cancellations within a minute: report what was gathered.
    if (abortedAt !== undefined && Date.now() - abortedAt > 60_000) {
      for (const t of tracked.filter((x) => !x.done)) finish(t, await ended(t, t.state, settings));
    }
    // The records are read often (they carry progress and results); less so for many jobs on a network file system.
    if (tracked.some((t) => !t.done)) await sleep(Math.min(2000, 200 * Math.ceil(tracked.filter((t) => !t.done).length / 8)));
  }
  return tracked.map((t) => outcomes.get(t)!);
}

/** A run as the preflight knows it, before its spec exists. */
export interface SlurmRunEstimate {
  kind: 'builtin' | 'command';
  scenario: string;
  strategy: string;
  scale: number;
  predictedPeakBytes?: number;
}

/**
 * Everything about running on Slurm that can be checked before anything is measured: Slurm's
 * commands on PATH, the controller answering, the partition, and every run's memory request
 * against the partition's largest node. Returns the partition the jobs go to.
 */
export async function slurmPreflight(runs: readonly SlurmRunEstimate[], settings: SlurmSettings): Promise<Partition> {
  requireSlurmTools();
  const partition = await choosePartition(settings.partition);
  for (const [i, r] of runs.entries()) {
    const spec = { ...r, index: i, id: String(i), executor: 'slurm' } as unknown as ChildRunSpec;
    checkFits(spec, jobMemoryBytes(spec, settings), partition);
  }
  return partition;
}

/** Refuse a request no node of the partition can hold (sbatch would refuse it too, less clearly). */
function checkFits(spec: ChildRunSpec, memBytes: number, p: Partition): void {
  if (p.maxNodeMemoryBytes === undefined || memBytes <= p.maxNodeMemoryBytes) return;
  throw new CellbudgetError(
    'RESOURCES_INSUFFICIENT',
    `'${spec.scenario}' / ${spec.strategy} at scale ${spec.scale} needs --mem=${slurmMemArg(memBytes)} (${formatBytes(memBytes)}${spec.predictedPeakBytes !== undefined ? `; predicted peak ${formatBytes(spec.predictedPeakBytes)}` : ''}), but the largest node in partition ${p.name} has ${formatBytes(p.maxNodeMemoryBytes)}.`,
    {
      key: '--slurm-mem',
      value: memBytes,
      hint: 'Choose a partition with larger nodes (--partition), run at a smaller scale, or leave that strategy out (--strategy).',
    },
  );
}

function progressOf(t: Tracked, r: JobRecord, hooks: ExecutorHooks): void {
  if (r.type === 'job' && !t.started) {
    t.started = true;
    hooks.onStart?.(t.spec);
  } else if (r.type === 'step-start') hooks.onStep?.(t.spec, r.label);
  else if (r.type === 'command-step-start' && r.name) hooks.onStep?.(t.spec, r.name);
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;
}

function notSharedReason(t: Tracked, node: string | undefined, what: string): string {
  return `job ${t.id}${node ? ` on node ${node}` : ''} ${what} but nothing it writes is visible in ${t.dir} from this machine (${hostname()}): the work folder is not on storage the compute nodes share with this machine. Give --work-dir a folder on a shared file system (a shared home, project or scratch space, mounted at the same path on the nodes), or set work_dir in the settings file`;
}

/** The tail of the job's output file. */
function outputTail(dir: string, max = 4000): string {
  const path = join(dir, OUTPUT_FILE);
  try {
    const size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      const n = Math.min(size, max);
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, size - n);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** A memory kill in the job's output: jobacct's OverMemoryKill or a cgroup OOM kill. */
function memoryKill(tail: string, state: string | undefined): { used?: number; limit?: number; line: string } | undefined {
  const over = /exceeded memory limit \((\d+) > (\d+)\)/.exec(tail);
  if (over) return { used: Number(over[1]), limit: Number(over[2]), line: lineOf(tail, over.index) };
  const oom = /oom[-_ ]kill(ed)? event|Exceeded job memory limit|OOM Killed/i.exec(tail);
  if (oom) return { line: lineOf(tail, oom.index) };
  if (state === 'OUT_OF_MEMORY') return { line: 'Slurm: JobState=OUT_OF_MEMORY' };
  return undefined;
}

function lineOf(text: string, at: number): string {
  const start = text.lastIndexOf('\n', at) + 1;
  const end = text.indexOf('\n', at);
  return text.slice(start, end < 0 ? undefined : end).trim();
}

function memoryReason(t: Tracked, m: { used?: number; limit?: number; line: string }): string {
  const limit = `its --mem=${slurmMemArg(t.memBytes)} (${formatBytes(m.limit ?? t.memBytes)})`;
  const what = m.used !== undefined ? `used ${formatBytes(m.used)} (all its processes together), over ${limit}` : `went over ${limit}`;
  return `killed for memory by Slurm: job ${t.id} ${what} — raise --slurm-mem or lower the run's peak; Slurm said "${m.line}"`;
}

/** A job that ended without a finished result (or with a died one): its records, classified by how it ended. */
async function ended(t: Tracked, st: JobState | undefined, settings: SlurmSettings): Promise<ChildRunOutcome> {
  t.reader.poll();
  const details = await jobDetails(t.id);
  const state = details?.['JobState'] ?? st?.state ?? 'UNKNOWN';
  const reason = details?.['Reason'] ?? st?.reason ?? '';
  const [exitCode, exitSignal] = (details?.['ExitCode'] ?? '').split(':').map(Number);
  const records = t.reader.all;
  const job = jobLine(records);
  const node =
    job?.node ?? (details?.['NodeList'] && details['NodeList'] !== '(null)' ? details['NodeList'] : undefined) ?? (st?.node || undefined);
  const tail = outputTail(t.dir);
  const visible = t.reader.exists() || existsSync(join(t.dir, OUTPUT_FILE));
  const mem = memoryKill(tail, state);
  const exitText = details?.['ExitCode'] ? `exit ${details['ExitCode']}` : 'exit unknown';
  let killedFor: KilledFor;
  let code: string | undefined;
  if (t.cancelled) {
    killedFor = { kind: 'executor', reason: t.cancelled.reason };
    code = t.cancelled.code;
  } else if (mem) killedFor = { kind: 'memory-limit', reason: memoryReason(t, mem) };
  else if (!visible && (t.runningSince !== undefined || (node !== undefined && state !== 'CANCELLED'))) {
    killedFor = { kind: 'executor', reason: notSharedReason(t, node, `ran and ended (${state}, ${exitText})`) };
    code = 'SLURM_WORKDIR_NOT_SHARED';
  } else if (state === 'NODE_FAIL') {
    killedFor = {
      kind: 'executor',
      reason: `the node ${node ?? '(unknown)'} failed while job ${t.id} ran (Slurm: NODE_FAIL${reason ? `, ${reason}` : ''}); what it recorded before is kept. Run it again; if it fails again, ask the site about that node`,
    };
  } else if (state === 'TIMEOUT') {
    killedFor = {
      kind: 'executor',
      reason: `killed by Slurm at job ${t.id}'s time limit (${details?.['TimeLimit'] ?? settings.time ?? 'the partition’s'}): raise --time`,
    };
  } else if (state === 'CANCELLED') {
    killedFor = { kind: 'executor', reason: `job ${t.id} was cancelled outside cellbudget (scancel, or an administrator)` };
  } else if (state === 'PREEMPTED' || state === 'BOOT_FAIL' || state === 'DEADLINE') {
    killedFor = {
      kind: 'executor',
      reason: `job ${t.id} ended ${state} (${reason || 'no reason given'}): run it again, or on another partition`,
    };
  } else {
    const jobError = records.find((r): r is Extract<JobRecord, { type: 'job-error' }> => r.type === 'job-error');
    if (jobError) {
      killedFor = { kind: 'executor', reason: `the job could not measure on node ${node ?? '(unknown)'}: ${jobError.message}` };
      code = jobError.code;
    } else {
      const last = tail.trim().split('\n').slice(-3).join(' | ');
      killedFor = {
        kind: 'executor',
        reason: `job ${t.id} ended (${state}, ${exitText}) without writing its result${last ? `; its output ends: ${last}` : ''}`,
      };
    }
  }
  if (t.pendingResult) return fromResult(t, t.pendingResult, mem ? killedFor : undefined, tail, node);
  const place: RunPlace = {
    executor: 'slurm',
    job_id: job?.job_id ?? t.id,
    ...(node ? { node } : {}),
    requested_memory_bytes: t.memBytes,
    ...(code ? { code } : {}),
  };
  const end: JobEnd = {
    code: Number.isFinite(exitCode) && !(exitSignal! > 0) ? exitCode! : null,
    signal: exitSignal! > 0 ? signalName(exitSignal!) : null,
    killedFor,
    tail,
    endedEpochMs: lastEpoch(records) ?? Date.now(),
  };
  if (t.spec.kind === 'builtin') return { kind: 'builtin', child: childFromRecords(t.spec, records, end), place };
  return { kind: 'command', record: commandFromRecords(t.spec, records, end), place };
}

/** The outcome of a job that wrote its result; a memory kill found at its end replaces a died run's reason. */
function fromResult(t: Tracked, res: JobResult, memoryKilled: KilledFor | undefined, tail: string, nodeHint?: string): ChildRunOutcome {
  const job = jobLine(t.reader.all);
  const place: RunPlace = {
    executor: 'slurm',
    job_id: job?.job_id ?? t.id,
    ...((job?.node ?? nodeHint) ? { node: (job?.node ?? nodeHint)! } : {}),
    requested_memory_bytes: t.memBytes,
  };
  if (res.kind === 'builtin') {
    const child = res.child;
    if (memoryKilled && child.failure)
      child.failure = {
        ...child.failure,
        kind: 'memory-limit',
        reason: memoryKilled.reason,
        stderr_tail: `${child.failure.stderr_tail}\n${tail}`.slice(-4000),
      };
    return { kind: 'builtin', child, place };
  }
  const record = res.record;
  if (memoryKilled && record.failure)
    record.failure = {
      ...record.failure,
      reason: `${memoryKilled.reason}${record.failure.step ? ` (in step '${record.failure.step}')` : ''}`,
    };
  return { kind: 'command', record, place };
}

function lastEpoch(records: readonly JobRecord[]): number | undefined {
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.type === 'sample') return r.epoch_ms;
  }
  return jobLine(records)?.started_epoch_ms;
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 15: 'SIGTERM' };
function signalName(n: number): string {
  return SIGNALS[n] ?? `signal ${n}`;
}
