/**
 * Entry of a measuring child: `node --expose-gc dist/harness/process/child.js JOB.json`.
 * Loads the job module, measures the idle baseline (after start-up, module loading and
 * forced GCs), runs the job with a StepRecorder, and streams every record to fd 3 (see
 * protocol.ts). A job that throws is reported as an `error` record and exit code 1.
 */
import { fstatSync, readFileSync, writeSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { forceGc } from '../../src/memory/gc.js';
import { StepRecorder } from '../../src/memory/recorder.js';
import type { WasmBytesFn } from '../../src/memory/snapshot.js';
import { RECORD_FD, type ChildJob, type ChildMessage, type ErrorRecord, type JobContext, type JobFunction } from './protocol.js';

function recordFd(): number {
  const fromEnv = Number(process.env.CELLBUDGET_RECORD_FD);
  const fd = Number.isInteger(fromEnv) && fromEnv >= 0 ? fromEnv : RECORD_FD;
  try {
    fstatSync(fd);
    return fd;
  } catch {
    // Run by hand without a record pipe: records go to stdout.
    return 1;
  }
}

const fd = recordFd();

function send(msg: ChildMessage): void {
  writeSync(fd, `${JSON.stringify(msg)}\n`);
}

function readJob(): ChildJob {
  const path = process.argv[2];
  const text = path ? readFileSync(path, 'utf8') : process.env.CELLBUDGET_JOB;
  if (!text) throw new Error('usage: child.js JOB.json (or CELLBUDGET_JOB=<json>)');
  return JSON.parse(text) as ChildJob;
}

function moduleUrl(spec: string): string {
  if (spec.startsWith('file:')) return spec;
  return pathToFileURL(isAbsolute(spec) ? spec : resolve(spec)).href;
}

function errorRecord(e: unknown): ErrorRecord {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return {
      name: e.name,
      message: e.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(e.stack !== undefined ? { stack: e.stack } : {}),
    };
  }
  return { name: 'Error', message: String(e) };
}

async function main(): Promise<number> {
  send({ type: 'hello', pid: process.pid, node: process.version });
  const job = readJob();
  const mod = (await import(moduleUrl(job.module))) as Record<string, unknown>;
  const exportName = job.export ?? 'runJob';
  const run = mod[exportName];
  if (typeof run !== 'function') throw new Error(`job module ${job.module} has no exported function '${exportName}'`);
  const wasmBytes = typeof mod.wasmBytes === 'function' ? (mod.wasmBytes as WasmBytesFn) : undefined;
  // Runtime memory that grows to a cap with activity goes into the baseline (docs/measurement.md#the-measurement-protocol).
  if (typeof mod.warmUp === 'function') await (mod.warmUp as (payload: unknown) => unknown)(job.payload);

  const recorder = await StepRecorder.create({
    method: job.method ?? 'auto',
    ...(wasmBytes ? { wasmBytes } : {}),
    ...(job.verbose ? { verbose: true } : {}),
    ...(job.timelineFromChild ? { timelineFd: fd } : {}),
    onStepStart: (s) => send({ type: 'step-start', ...s }),
    onStep: (record) => send({ type: 'step', record }),
  });
  const b = recorder.baseline;
  send({
    type: 'baseline',
    method: recorder.method,
    t0_epoch_ms: b.takenAtEpochMs,
    baseline: {
      rss_bytes: b.rssBytes,
      heap_used_bytes: b.heapUsedBytes,
      external_bytes: b.externalBytes,
      array_buffers_bytes: b.arrayBuffersBytes,
      wasm_bytes: b.wasmBytes,
    },
  });
  const ctx: JobContext = {
    job,
    recorder,
    baseline: b,
    forceGc: () => forceGc(),
    emit: (name, data) => send({ type: 'event', name, data }),
  };
  try {
    const value = await (run as JobFunction)(job.payload, recorder, ctx);
    send({ type: 'result', value: value ?? null });
    return 0;
  } catch (e) {
    send({ type: 'error', error: errorRecord(e), step: recorder.currentStep?.label ?? null });
    writeSync(2, `${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    await recorder.close();
  }
}

main().then(
  (code) => {
    // The child is a program of its own: a job's stray timers must not keep it alive.
    process.exit(code);
  },
  (e: unknown) => {
    try {
      send({ type: 'error', error: errorRecord(e), step: null });
    } catch {
      // the pipe is gone; stderr still carries it
    }
    writeSync(2, `${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(2);
  },
);
