/**
 * What a Slurm job runs: `node dist/harness/slurm/job.js RUN_DIR`. It reads the run the
 * harness planned (RUN_DIR/spec.json), runs the same child measurement as a local run —
 * a fresh `node --expose-gc` child for a built-in strategy, the user's program for a command
 * scenario — and writes every record to RUN_DIR/records.jsonl as it arrives, then the outcome
 * to RUN_DIR/result.json. Synthetic datasets are generated here, on the node, in a separate
 * process (`job.js generate RUN_DIR`) so the generator's memory is gone before the
 * measurement starts; jobs sharing a cache take turns through a lock.
 *
 * Kept lean on purpose: this process's own RSS counts against the job's --mem.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BuiltinRunSpec, CommandRunSpec } from '../run/executor.js';
import { RecordWriter, SPEC_FILE, writeResult, type JobSpecFile } from './records.js';
import { join } from 'node:path';

/** Samples go to the record file at most this often (result.json keeps every one). */
const SAMPLE_RECORD_MS = 100;

function readSpec(dir: string): JobSpecFile {
  return JSON.parse(readFileSync(join(dir, SPEC_FILE), 'utf8')) as JobSpecFile;
}

function jobId(): string {
  const array = process.env['SLURM_ARRAY_JOB_ID'];
  const task = process.env['SLURM_ARRAY_TASK_ID'];
  return array && task ? `${array}_${task}` : (process.env['SLURM_JOB_ID'] ?? `pid-${process.pid}`);
}

/** Generate (or reuse) the run's synthetic datasets; runs in its own process. */
async function generate(dir: string): Promise<number> {
  const { spec } = readSpec(dir);
  if (spec.kind !== 'builtin') return 0;
  const { sharedCachedSynthetic } = await import('../run/cache.js');
  for (const d of spec.generate) {
    await sharedCachedSynthetic(
      d.spec,
      d.cacheDir,
      (reason) => process.stdout.write(`cellbudget job: generating ${d.name} (${d.spec.cells} cells) into ${d.cacheDir}: ${reason}\n`),
      {
        onWait: (holder) => process.stdout.write(`cellbudget job: waiting for ${holder} to finish generating ${d.name}\n`),
      },
    );
  }
  return 0;
}

async function runBuiltin(dir: string, spec: BuiltinRunSpec, out: RecordWriter): Promise<void> {
  const node = process.env['SLURMD_NODENAME'] ?? hostname();
  // Every dataset file the child will open must be visible here, on the node.
  const missing = spec.child.job.payload.datasets.filter((d) => !spec.generate.some((g) => g.file === d.file) && !existsSync(d.file));
  if (missing.length > 0) {
    out.write({
      type: 'job-error',
      code: 'FILE_NOT_FOUND',
      message: `dataset file(s) ${missing.map((m) => m.file).join(', ')} are not visible on node ${node}: put them on storage the compute nodes share with the machine you run cellbudget on`,
    });
    return;
  }
  if (spec.generate.length > 0) {
    const self = fileURLToPath(import.meta.url);
    const g = spawnSync(process.execPath, [self, 'generate', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (g.status !== 0) {
      out.write({
        type: 'job-error',
        message: `generating the synthetic datasets on node ${node} failed (${g.signal ? `killed by ${g.signal}` : `exit code ${g.status}`}); see slurm.out in ${dir}`,
      });
      return;
    }
  }
  const { runBuiltinHere } = await import('../run/executor.js');
  let lastSample = 0;
  const child = await runBuiltinHere(
    spec,
    { onOutput: (t) => process.stdout.write(t) },
    {
      onMessage: (m) => out.write(m),
      onSample: (epochMs, rssBytes) => {
        if (epochMs - lastSample < SAMPLE_RECORD_MS) return;
        lastSample = epochMs;
        out.write({ type: 'sample', epoch_ms: epochMs, rss_bytes: rssBytes });
      },
    },
  );
  await writeResult(dir, { version: 1, kind: 'builtin', child });
}

async function runCommand(dir: string, spec: CommandRunSpec, out: RecordWriter): Promise<void> {
  const { runCommandScenario } = await import('../command/command.js');
  let lastSample = -Infinity;
  const record = await runCommandScenario(spec.command, {
    ...(spec.logPath ? { logPath: spec.logPath } : {}),
    ...(spec.datasets ? { datasets: spec.datasets } : {}),
    onStep: (step) => out.write({ type: 'command-step', step }),
    onStepStart: (name, tMs) => out.write({ type: 'command-step-start', name, t_ms: tMs }),
    onBaselineCandidate: (source, rssBytes) => out.write({ type: 'command-baseline', source, rss_bytes: rssBytes }),
    onSample: (tMs, rssBytes) => {
      if (tMs - lastSample < SAMPLE_RECORD_MS) return;
      lastSample = tMs;
      out.write({ type: 'command-sample', t_ms: tMs, rss_bytes: rssBytes });
    },
    onLine: (_stream, line) => process.stdout.write(`${line}\n`),
  });
  await writeResult(dir, { version: 1, kind: 'command', record });
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'generate' && argv[1]) return generate(argv[1]);
  const dir = argv[0];
  if (!dir) {
    process.stderr.write('usage: slurm-job.js RUN_DIR (run by the job script cellbudget writes)\n');
    return 2;
  }
  const out = new RecordWriter(dir);
  try {
    out.write({
      type: 'job',
      job_id: jobId(),
      node: process.env['SLURMD_NODENAME'] ?? hostname(),
      pid: process.pid,
      started_epoch_ms: Date.now(),
      entry_rss_bytes: process.memoryUsage().rss,
    });
    const { spec } = readSpec(dir);
    if (spec.kind === 'builtin') await runBuiltin(dir, spec, out);
    else await runCommand(dir, spec, out);
    out.write({ type: 'job-end', entry_max_rss_bytes: process.resourceUsage().maxRSS * 1024, entry_rss_bytes: process.memoryUsage().rss });
    return 0;
  } catch (e) {
    out.write({ type: 'job-error', message: e instanceof Error ? e.message : String(e) });
    process.stderr.write(`cellbudget job: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    out.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`cellbudget job: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
