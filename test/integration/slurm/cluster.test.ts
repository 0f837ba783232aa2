// `cellbudget run --executor slurm` against a real one-node Slurm on this machine (started
// here with scripts/slurm/up.sh, stopped with down.sh): the same data and figures as a local
// run, a job killed over its --mem reported with its step, an interrupted harness cancelling
// its jobs, and the faults a cluster brings (unknown partition, a job that never starts, a
// work folder the node does not see, a node that fails). Where Slurm cannot start (no root,
// not installed) the tests say so and skip; under CI=true that is a failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report, RunRecord } from '../../../src/core/report.js';
import { CHILD_START_BYTES, JOB_ENTRY_BYTES } from '../../../harness/slurm/executor.js';
import { runCli } from '../../helpers/cli.js';
import { PIPELINE, writeTwoDatasetScenario } from '../../helpers/scenarios.js';
import { underCi } from '../../../harness/run/progress.js';
import { jobState, slurm, startCluster, stopCluster } from '../../helpers/slurm.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const STEPS = join(ROOT, 'test', 'fixtures', 'slurm', 'steps.mjs');
const ci = underCi();

const cluster = startCluster();
if (!cluster.ok) {
  if (ci) throw new Error(`CI=true, but the Slurm tests cannot run: ${cluster.reason}`);
  console.warn(`skipping the Slurm tests: ${cluster.reason}`);
} else process.env['SLURM_CONF'] = cluster.conf;
afterAll(() => stopCluster(cluster));

const dir = mkdtempSync(join(tmpdir(), 'cb-slurm-'));
const cache = join(dir, 'cache');
// Poll squeue every second at most (the default, 5 s, suits a real cluster): the tests stay quick.
const settings = join(dir, 'cellbudget.config.yaml');
writeFileSync(settings, 'slurm:\n  poll_interval: 1s\n');

function builtin(name: string, strategies = '[eager, sequential, selective, streaming]'): string {
  return writeTwoDatasetScenario(join(dir, `${name}.yaml`), name, { strategies });
}

/** A command scenario running test/fixtures/slurm/steps.mjs: GROW_MB held HOLD_MS in step 'grow'. */
function command(name: string, growMb: number, holdMs: number): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}\ncommand: [${JSON.stringify(process.execPath)}, ${JSON.stringify(STEPS)}, "${growMb}", "${holdMs}"]\nbudgets: { peak: 1GB }\n`,
  );
  return path;
}

function report(out: string): Report {
  return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
}

const slurmRun = (out: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> =>
  runCli(['run', ...args, '--out', out, '--cache', cache, '--no-charts', '--executor', 'slurm', '--config', settings]);

/** Wait until `check` holds (polling), or fail after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The records.jsonl files under a work folder. */
function recordFiles(work: string): string[] {
  if (!existsSync(work)) return [];
  return readdirSync(work, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('records.jsonl'))
    .map((f) => join(work, f));
}

describe.skipIf(!cluster.ok)('cellbudget run --executor slurm (a one-node Slurm on this machine)', () => {
  it('measures the same data as a local run, with peaks and finals within noise, and says where each run ran', async () => {
    const scenario = builtin('same');
    const local = await runCli(['run', scenario, '--out', join(dir, 'local'), '--cache', cache, '--no-charts']);
    expect(local.code, local.err).toBe(0);
    const r = await slurmRun(join(dir, 'slurm'), scenario);
    expect(r.code, r.err).toBe(0);
    // Every rung of every strategy's ladder is a job of its own: 4 strategies × 3 rungs.
    expect(r.err).toMatch(/Submitted 12 Slurm job\(s\) to partition \w+/);
    const a = report(join(dir, 'local'));
    const b = report(join(dir, 'slurm'));
    expect(b.runs.map((x) => x.strategy)).toEqual(a.runs.map((x) => x.strategy));
    const short = hostname().split('.')[0];
    for (const [i, s] of b.runs.entries()) {
      const l = a.runs[i]!;
      expect(l.executor).toBe('local');
      expect(s).toMatchObject({ status: 'ok', executor: 'slurm', node: short, method: l.method });
      expect(s.job_id).toMatch(/^\d+$/);
      // The kept data is byte for byte the same: the same pipeline ran on the node.
      expect(s.retained).toEqual(l.retained);
      expect(s.steps.map((x) => x.label)).toEqual(l.steps.map((x) => x.label));
      // Figures are the child's own, net of its baseline: not the job entry's, not absolute.
      // Repeated local runs of this scenario spread by up to ~14 MB (GC timing); 25 MB is
      // far below the job entry's RSS (~50 MB) or an unsubtracted baseline (~100 MB).
      expect(Math.abs(s.baseline_bytes - l.baseline_bytes)).toBeLessThan(15e6);
      expect(Math.abs(s.peak_bytes - l.peak_bytes)).toBeLessThan(25e6);
      expect(Math.abs(s.final_bytes - l.final_bytes)).toBeLessThan(25e6);
      expect(s.final_live_bytes).toBe(l.final_live_bytes);
      // The default request: the predicted peak plus headroom, plus what the job needs to start.
      expect(s.requested_memory_bytes).toBeGreaterThan(JOB_ENTRY_BYTES + CHILD_START_BYTES + (s.predicted_peak_bytes ?? 0));
      expect(s.requested_memory_bytes! % 2 ** 20).toBe(0);
    }
    // Every job asked for at least what it used: the entry's own high-water mark, the child's baseline and its peak.
    const work = join(dir, 'slurm', 'slurm-jobs');
    for (const file of recordFiles(work)) {
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const end = lines.find((l) => l['type'] === 'job-end') as { entry_max_rss_bytes: number } | undefined;
      const job = lines.find((l) => l['type'] === 'job') as { job_id: string } | undefined;
      // Each rung of a ladder is a job: the report's rungs say which.
      const rung = b.runs.flatMap((x) => x.ladder?.rungs ?? []).find((x) => x.job_id === job?.job_id)!;
      expect(rung, `job ${job?.job_id} among the rungs`).toMatchObject({ executor: 'slurm', node: short });
      expect(end).toBeDefined();
      expect(end!.entry_max_rss_bytes).toBeLessThan(JOB_ENTRY_BYTES);
      expect(rung.requested_memory_bytes).toBeGreaterThan(end!.entry_max_rss_bytes + rung.baseline_bytes + rung.peak_bytes);
    }
    // The report's other outputs carry the executor too.
    expect(readFileSync(join(dir, 'slurm', 'report.md'), 'utf8')).toMatch(/Slurm job \d+ on /);
  }, 120_000);

  it('reports a job over its --mem as died for memory, in the step it was in, and finishes the other runs (exit 1)', async () => {
    const out = join(dir, 'oom');
    const r = await slurmRun(out, command('hungry', 300, 4000), command('modest', 10, 100), '--slurm-mem', '200MB');
    expect(r.code, r.err).toBe(1);
    const [hungry, modest] = report(out).runs as [RunRecord, RunRecord];
    expect(modest).toMatchObject({ status: 'ok', executor: 'slurm', requested_memory_bytes: 191 * 2 ** 20 });
    expect(hungry.status).toBe('died');
    expect(hungry.failure?.step).toBe('grow');
    expect(hungry.failure?.reason).toMatch(
      /^killed for memory by Slurm: job \d+ used [\d.]+ MB \(all its processes together\), over its --mem=191M \(200\.27 MB\) — raise --slurm-mem/,
    );
    expect(hungry.failure?.reason).toMatch(/exceeded memory limit \(\d+ > 200278016\)/);
    expect(hungry.failure?.reason).toMatch(
      /\(in step 'grow'\); RSS reached \d+(\.\d+)? MB above baseline in that step, last finished step 'warmup' ended at/,
    );
    // What was measured before the kill is kept: the steps it finished, the figures in 'grow'.
    expect(hungry.steps.map((s) => s.label)).toEqual(['startup', 'warmup']);
    expect(hungry.peak_bytes).toBeGreaterThan(150e6);
    expect(r.err).toMatch(/hungry \/ command died in step 'grow': killed for memory by Slurm/);
    // JUnit and HTML say where the run died, for a CI page.
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toMatch(/Slurm job \d+ on \S+, --mem 200\.\d+ MB/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/Slurm job \d+ on \S+ \(--mem 200\.\d+ MB\)/);
  }, 60_000);

  it('reports a built-in run Slurm kills over its --mem in the step it was in, keeping every step it finished', async () => {
    // 2 × 132 MB datasets, eager: the loaded data alone (~264 MB above the child's ~160 MB baseline)
    // is over a 250 MB request for seconds on end, so Slurm's once-a-second sample lands in it even on
    // a busy machine (at half this size a fast run could end between two samples); which step that
    // sample lands in varies, so the test checks the report against the local run's steps: the
    // finished ones kept, then the one it was in.
    const path = join(dir, 'eager.yaml');
    writeFileSync(
      path,
      `name: eager\nscale: 0.001\ndatasets:\n  - name: tahoe\n    synthetic: { size: 132GB, features: 50, cell_lines: 50, drugs: 380, doses: [0.05, 0.5, 5.0], seed: 1 }\n  - name: sciplex\n    synthetic: { size: 132GB, features: 50, cell_lines: 50, drugs: 380, doses: [0.05, 0.5, 5.0], seed: 2 }\n${PIPELINE}strategies: [eager]\n`,
    );
    // One rung each (--ladder off): this is about the step Slurm's kill lands in, not the ladder.
    const local = await runCli(['run', path, '--ladder', 'off', '--out', join(dir, 'eager-local'), '--cache', cache, '--no-charts']);
    expect(local.code, local.err).toBe(0);
    const labels = report(join(dir, 'eager-local')).runs[0]!.steps.map((s) => s.label);
    const out = join(dir, 'eager-slurm');
    const r = await slurmRun(out, path, '--ladder', 'off', '--slurm-mem', '250MB');
    expect(r.code, r.err).toBe(1);
    const run = report(out).runs[0]!;
    expect(run.status).toBe('died');
    expect(run.failure?.reason).toMatch(
      /^killed for memory by Slurm: job \d+ used [\d.]+ MB \(all its processes together\), over its --mem=239M/,
    );
    const at = labels.indexOf(run.failure?.step ?? '');
    expect(at, `died in '${run.failure?.step}', local steps ${labels.join(', ')}`).toBeGreaterThanOrEqual(0);
    expect(run.steps.map((s) => s.label)).toEqual(labels.slice(0, at));
    expect(run.failure?.reason).toContain(`(in step '${labels[at]}')`);
  }, 90_000);

  it('cancels its jobs when the harness is interrupted (SIGTERM), and writes what they recorded', async () => {
    const out = join(dir, 'interrupted');
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'cellbudget.js'),
        'run',
        command('sleepy', 20, 60_000),
        '--out',
        out,
        '--no-charts',
        '--executor',
        'slurm',
        '--config',
        settings,
      ],
      {
        env: process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const work = join(out, 'slurm-jobs');
    // Interrupt once the job is in its long step.
    await until(
      () => recordFiles(work).some((f) => readFileSync(f, 'utf8').includes('"name":"grow"')),
      30_000,
      'the job to reach its grow step',
    );
    const jobPid = (JSON.parse(readFileSync(recordFiles(work)[0]!, 'utf8').split('\n')[0]!) as { pid: number }).pid;
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(err).toMatch(/SIGTERM: cancelling the Slurm jobs/);
    expect(err).toMatch(/Cancelled 1 Slurm job\(s\): \d+/);
    const run = report(out).runs[0]!;
    expect(run.status).toBe('died');
    expect(run.failure?.reason).toMatch(
      /^cancelled: cellbudget was interrupted \(SIGTERM\), and cellbudget cancelled job \d+ \(scancel\) \(in step 'grow'\)/,
    );
    expect(run.steps.map((s) => s.label)).toContain('warmup');
    expect(jobState(run.job_id!)).toBe('CANCELLED');
    // Nothing of the job is left running on the node.
    await until(() => !existsSync(`/proc/${jobPid}`), 15_000, 'the job entry to end');
  }, 60_000);

  it('cancels a job that never leaves the queue after --queue-timeout, and says why it waited', async () => {
    const out = join(dir, 'queued');
    const r = await slurmRun(out, builtin('queued', '[selective]'), '--sbatch-arg=--begin=now+1hour', '--queue-timeout', '2s');
    expect(r.code, r.err).toBe(1);
    const run = report(out).runs[0]!;
    expect(run.status).toBe('died');
    expect(run.failure?.reason).toMatch(
      /^never started: job \d+ was still pending after 2 s \(Slurm's reason: BeginTime\), and cellbudget cancelled it\. Choose a partition/,
    );
    expect(jobState(run.job_id!)).toBe('CANCELLED');
  }, 60_000);

  it('refuses an unknown partition before submitting anything (exit 2), naming the partitions there are', async () => {
    const out = join(dir, 'nopart');
    const r = await slurmRun(out, builtin('nopart', '[selective]'), '--partition', 'no-such-partition');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[SLURM_REFUSED\]: Partition 'no-such-partition' is not one of this cluster's partitions: \w+ \(default\)/);
    expect(readdirSync(join(out, 'slurm-jobs'))).toEqual([]);
  });

  it('detects a work folder the node does not see: the job wrote nothing visible here (exit 2)', async () => {
    // The harness runs in its own mount namespace, where the work folder is a private tmpfs:
    // the node (slurmd, outside it) sees the real, empty folder — a folder that is not shared.
    const priv = join(dir, 'private');
    mkdirSync(priv, { recursive: true });
    const out = join(dir, 'unshared');
    const cli = [
      process.execPath,
      join(ROOT, 'bin', 'cellbudget.js'),
      'run',
      builtin('unshared', '[selective]'),
      '--ladder',
      'off',
      '--out',
      out,
      '--cache',
      cache,
      '--no-charts',
      '--executor',
      'slurm',
      '--config',
      settings,
      '--work-dir',
      join(priv, 'work'),
    ];
    const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const r = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs tmpfs ${q(priv)} && exec ${cli.map(q).join(' ')}`],
      { encoding: 'utf8', env: process.env, timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(2);
    const run = report(out).runs[0]!;
    expect(run.failure?.code).toBe('SLURM_WORKDIR_NOT_SHARED');
    expect(run.failure?.reason).toMatch(
      /^\[SLURM_WORKDIR_NOT_SHARED\] job \d+ on node \S+ ran and ended \(FAILED, exit 0:53\) but nothing it writes is visible in .* from this machine .*: the work folder is not on storage the compute nodes share with this machine\. Give --work-dir a folder on a shared file system/,
    );
  }, 60_000);

  it('plan --sbatch writes a job script Slurm runs as it is: a full-size report, or one per dataset as an array', async () => {
    const full = join(dir, 'full.yaml');
    writeFileSync(
      full,
      `name: full\nscale: 1\ndatasets:\n  - name: first\n    synthetic: { size: 8MB, features: 20, cell_lines: 5, drugs: 20, seed: 1 }\n  - name: second\n    synthetic: { size: 4MB, features: 20, cell_lines: 5, drugs: 20, seed: 2 }\n${PIPELINE}strategies: [selective]\n`,
    );
    const jobs = join(dir, 'planned');
    mkdirSync(jobs, { recursive: true });
    expect((await runCli(['plan', full, '--strategy', 'selective', '--sbatch', join(jobs, 'job.sh')])).code).toBe(0);
    expect((await runCli(['plan', full, '--strategy', 'selective', '--sbatch', join(jobs, 'array.sh'), '--sbatch-array'])).code).toBe(0);
    const submit = (script: string): string => {
      const r = spawnSync('sbatch', ['--parsable', script], {
        cwd: jobs,
        encoding: 'utf8',
        env: { ...process.env, CELLBUDGET_CACHE: cache },
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const one = submit('job.sh');
    const array = submit('array.sh');
    const done = (id: string): boolean => {
      const states = slurm('squeue', ['-h', '--states=all', `--jobs=${id}`, '-o', '%T'])
        .stdout.trim()
        .split('\n');
      return states.length > 0 && states.every((st) => ['COMPLETED', 'FAILED', 'CANCELLED', 'OUT_OF_MEMORY', 'TIMEOUT'].includes(st));
    };
    await until(() => done(one) && done(array), 90_000, 'the planned jobs to finish');
    expect(jobState(one), readFileSync(join(jobs, `cellbudget-${one}.out`), 'utf8')).toBe('COMPLETED');
    const single = report(join(jobs, `reports/full-size-${one}`));
    expect(single.runs.map((r) => [r.scenario, r.strategy, r.scale, r.status, r.executor])).toEqual([
      ['full', 'selective', 1, 'ok', 'local'],
    ]);
    for (const d of ['first', 'second']) {
      const r = report(join(jobs, `reports/full-size-${array}/${d}`));
      expect(r.runs.map((x) => [x.scenario, x.scale, x.status])).toEqual([[`full@${d}`, 1, 'ok']]);
    }
  }, 120_000);

  it('reports a node that fails under a running job, with the steps it recorded before', async () => {
    const out = join(dir, 'nodefail');
    const node = hostname().split('.')[0]!;
    const running = slurmRun(out, command('doomed', 20, 60_000));
    try {
      await until(
        () => recordFiles(join(out, 'slurm-jobs')).some((f) => readFileSync(f, 'utf8').includes('"name":"grow"')),
        30_000,
        'the job to reach its grow step',
      );
      expect(slurm('scontrol', ['update', `nodename=${node}`, 'state=down', 'reason=cellbudget-test']).status).toBe(0);
      const r = await running;
      expect(r.code, r.err).toBe(1);
      const run = report(out).runs[0]!;
      expect(run.status).toBe('died');
      expect(run.failure?.step).toBe('grow');
      expect(run.failure?.reason).toMatch(
        new RegExp(`^the node ${node} failed while job \\d+ ran \\(Slurm: NODE_FAIL, NodeDown\\); what it recorded before is kept`),
      );
      expect(run.steps.map((s) => s.label)).toEqual(['startup', 'warmup']);
    } finally {
      slurm('scontrol', ['update', `nodename=${node}`, 'state=resume']);
      await until(() => /idle|mixed/.test(slurm('sinfo', ['-h', '-o', '%T']).stdout), 30_000, 'the node to come back');
    }
  }, 90_000);
});
