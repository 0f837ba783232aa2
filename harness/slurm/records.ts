/**
 * What a Slurm job writes to its run folder, step by step, and how the harness reads it back.
 *
 * `records.jsonl`: one JSON object per line, appended as it happens — the job's own line
 * (job id, node), the measuring child's protocol records (protocol.ts: baseline, step-start,
 * step, error, result) with the entry's RSS samples, or a command's steps. `result.json`: the
 * finished outcome, written atomically at the end. A job killed for memory never writes
 * result.json; its records still hold every step it finished, which `childFromRecords` /
 * `commandFromRecords` turn into a died run the same way a local child's pipe would.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes } from '../../src/core/units.js';
import { writeAtomic } from '../../src/io/files.js';
import { evaluateBudgets } from '../report/budgets.js';
import type { CommandRunRecord } from '../command/command.js';
import { chooseBaseline, netOfBaseline, type CommandStepRecord } from '../command/steps.js';
import type { ChildRunSpec, CommandRunSpec } from '../run/executor.js';
import type { StrategyJobResult } from '../process/jobs/strategy.js';
import type { ChildMessage } from '../process/protocol.js';
import { ChildRecords, type ChildRunResult } from '../process/spawn.js';
import type { KilledFor } from '../process/supervisor.js';

export const RECORDS_FILE = 'records.jsonl';
export const RESULT_FILE = 'result.json';
export const SPEC_FILE = 'spec.json';
export const OUTPUT_FILE = 'slurm.out';
export const SCRIPT_FILE = 'job.sh';

/** The job's own lines; the rest are the child's protocol records or a command's. */
export type JobRecord =
  | { type: 'job'; job_id: string; node: string; pid: number; started_epoch_ms: number; entry_rss_bytes: number }
  | { type: 'job-note'; text: string }
  /** The entry's own high-water mark (Node and its modules): what every job needs beside its child. */
  | { type: 'job-end'; entry_max_rss_bytes: number; entry_rss_bytes: number }
  /** The job failed around the measurement (a dataset not visible on the node, generation failed). */
  | { type: 'job-error'; message: string; code?: string }
  | ChildMessage
  | { type: 'command-step'; step: CommandStepRecord }
  | { type: 'command-step-start'; name: string | null; t_ms: number }
  | { type: 'command-baseline'; source: 'start' | 'first-step-marker' | 'first-memory-marker'; rss_bytes: number }
  | { type: 'command-sample'; t_ms: number; rss_bytes: number };

/** What spec.json holds: the run, as the executor planned it. */
export interface JobSpecFile {
  version: 1;
  spec: ChildRunSpec;
}

export type JobResult =
  | { version: 1; kind: 'builtin'; child: ChildRunResult<StrategyJobResult> }
  | { version: 1; kind: 'command'; record: CommandRunRecord };

/** Appends records to a run folder's records.jsonl, one write per line (O_APPEND), as they happen. */
export class RecordWriter {
  private readonly fd: number;
  constructor(dir: string) {
    this.fd = openSync(join(dir, RECORDS_FILE), 'a');
  }
  write(record: JobRecord): void {
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Write result.json through a temporary and a rename: the harness never reads half of it. */
export function writeResult(dir: string, result: JobResult): Promise<void> {
  return writeAtomic(join(dir, RESULT_FILE), JSON.stringify(result));
}

/** result.json when the job finished writing it; undefined otherwise. */
export function readResult(dir: string): JobResult | undefined {
  const path = join(dir, RESULT_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JobResult;
  } catch {
    return undefined;
  }
}

/** Reads a records.jsonl as it grows: each call returns the lines completed since the last. */
export class RecordReader {
  private offset = 0;
  private partial = '';
  readonly all: JobRecord[] = [];
  constructor(private readonly path: string) {}

  /** Whether the file exists at all (a work folder the nodes do not share shows nothing). */
  exists(): boolean {
    return existsSync(this.path);
  }

  poll(): JobRecord[] {
    // Open, then fstat: on NFS an open revalidates the file (close-to-open), a bare stat may not.
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return [];
    }
    let buf: Buffer;
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return [];
      buf = Buffer.alloc(size - this.offset);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      buf = buf.subarray(0, n);
      this.offset += n;
    } finally {
      closeSync(fd);
    }
    const text = this.partial + buf.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const out: JobRecord[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as JobRecord);
      } catch {
        // a torn line (the job was killed mid-write): what came before it stands
      }
    }
    this.all.push(...out);
    return out;
  }
}

/** The job's own line among its records. */
export function jobLine(records: readonly JobRecord[]): Extract<JobRecord, { type: 'job' }> | undefined {
  return records.find((r): r is Extract<JobRecord, { type: 'job' }> => r.type === 'job');
}

export interface JobEnd {
  code: number | null;
  signal: string | null;
  killedFor: KilledFor;
  /** The end of the job's output (slurm.out). */
  tail: string;
  /** When the job ended, as well as it is known (epoch ms). */
  endedEpochMs: number;
}

/** A built-in run from the records of a job that did not finish: what the child sent before it was lost. */
export function childFromRecords(
  spec: ChildRunSpec & { kind: 'builtin' },
  records: readonly JobRecord[],
  end: JobEnd,
): ChildRunResult<StrategyJobResult> {
  const collector = new ChildRecords<StrategyJobResult>(spec.child.env);
  for (const r of records) {
    if (r.type === 'job' || r.type === 'job-note' || r.type === 'job-end' || r.type === 'job-error' || r.type.startsWith('command-'))
      continue;
    collector.handle(r as ChildMessage);
  }
  const job = jobLine(records);
  const hello = records.find((r): r is Extract<ChildMessage, { type: 'hello' }> => r.type === 'hello');
  const started = job?.started_epoch_ms ?? end.endedEpochMs;
  return collector.finish({
    code: end.code,
    signal: end.signal,
    killedFor: end.killedFor,
    tail: end.tail,
    durationMs: Math.max(0, end.endedEpochMs - started),
    pid: hello?.pid ?? null,
  });
}

/**
 * A command run from the records of a job that did not finish: its closed steps made net of
 * the baseline its scenario asks for (as runCommandScenario would have), the step it was in,
 * the highest reading in that step.
 */
export function commandFromRecords(spec: CommandRunSpec, records: readonly JobRecord[], end: JobEnd): CommandRunRecord {
  const candidates = records.filter((r): r is Extract<JobRecord, { type: 'command-baseline' }> => r.type === 'command-baseline');
  const rawSamples = records.filter((r): r is Extract<JobRecord, { type: 'command-sample' }> => r.type === 'command-sample');
  const opened = records.filter((r): r is Extract<JobRecord, { type: 'command-step-start' }> => r.type === 'command-step-start').at(-1);
  const { bytes: baseline, source } = chooseBaseline(
    spec.command.baseline ?? 'auto',
    candidates.map((c) => ({ source: c.source, rss: c.rss_bytes })),
  );
  const steps = netOfBaseline(
    records.filter((r): r is Extract<JobRecord, { type: 'command-step' }> => r.type === 'command-step').map((r) => r.step),
    baseline,
  );
  const samples = rawSamples.map((r) => [Math.round(r.t_ms * 10) / 10, r.rss_bytes - baseline] as [number, number]);
  const openStart = opened?.t_ms ?? steps.at(-1)?.end_ms ?? 0;
  const inStep = samples.filter(([t]) => t >= openStart).map(([, b]) => b);
  const stepPeak = inStep.length ? Math.max(...inStep) : undefined;
  const peak = Math.max(0, ...steps.map((s) => s.peak_bytes), ...(stepPeak !== undefined ? [stepPeak] : []));
  const lastStep = steps.at(-1);
  const openName = opened?.name ?? null;
  const seen: string[] = [];
  if (stepPeak !== undefined) seen.push(`RSS reached ${formatBytes(stepPeak)} above baseline in that step`);
  if (lastStep) seen.push(`last finished step '${lastStep.label}' ended at ${formatBytes(lastStep.end_bytes)}`);
  const base = {
    scenario: spec.scenario,
    strategy: 'command' as const,
    scale: spec.scale,
    method: 'kernel-hwm-command' as const,
    status: 'died' as const,
    baseline_bytes: baseline,
    peak_bytes: peak,
    final_bytes: lastStep?.end_bytes ?? 0,
    final_live_bytes: 0,
    duration_ms: Math.round(samples.at(-1)?.[0] ?? lastStep?.end_ms ?? 0),
    steps,
    retained: {},
    samples,
    env: { PYTHONUNBUFFERED: '1', ...(spec.command.env ?? {}) },
  };
  return {
    ...base,
    budgets: evaluateBudgets(base, spec.command.budgets ?? {}),
    failure: {
      reason: `${end.killedFor.reason}${openName ? ` (in step '${openName}')` : ''}${seen.length ? `; ${seen.join(', ')}` : ''}`,
      ...(openName ? { step: openName } : lastStep ? { step: lastStep.label } : {}),
      signal: end.signal,
      exit_code: end.code,
      stderr_tail: end.tail,
    },
    command: {
      argv: [...spec.command.command],
      cwd: spec.command.cwd ?? '',
      pid: null,
      exit_code: end.code,
      signal: end.signal,
      timed_out: false,
      log_path: spec.logPath ?? null,
      markers: steps.filter((s) => s.closed_by === 'marker').length,
      baseline_source: source,
      max_processes: Math.max(0, ...steps.map((s) => s.processes)),
      notes: [
        'The job was ended before the command finished: these figures are the steps its records held, made net of the baseline they name.',
      ],
    },
  };
}
