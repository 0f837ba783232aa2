// The Slurm executor's parts that need no cluster: a machine without Slurm's commands is a
// clear error (exit 2, no hang), the settings file and options are checked before anything
// runs, the job script asks for what the run needs, a job's records cut off mid-step become
// a died run with that step.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuiltinRunSpec, CommandRunSpec } from '../../../harness/run/executor.js';
import {
  childFromRecords,
  commandFromRecords,
  RecordReader,
  RECORDS_FILE,
  RecordWriter,
  type JobRecord,
} from '../../../harness/slurm/records.js';
import { slurmMemArg, slurmTime } from '../../../harness/slurm/slurm.js';
import {
  CHILD_START_BYTES,
  JOB_ENTRY_BYTES,
  jobMemoryBytes,
  jobScript,
  SLURM_DEFAULTS,
  type SlurmSettings,
} from '../../../harness/slurm/executor.js';
import { runCli } from '../../helpers/cli.js';
import { PIPELINE } from '../../helpers/scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'cb-slurm-cli-'));
const cache = join(dir, 'cache');

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Two small datasets whose full size (scale 1) fits any machine: the full-size loop in seconds. */
const FULL = file(
  'full.yaml',
  `name: full
scale: 1
datasets:
  - name: first
    synthetic: { size: 8MB, features: 20, cell_lines: 5, drugs: 20, doses: [0.5, 5.0], seed: 1 }
  - name: second
    synthetic: { size: 4MB, features: 20, cell_lines: 5, drugs: 20, doses: [0.5, 5.0], seed: 2 }
${PIPELINE}strategies: [eager, selective]
`,
);

const settings = (over: Partial<SlurmSettings> = {}): SlurmSettings => ({
  workDir: join(dir, 'work'),
  sbatchArgs: [],
  ...SLURM_DEFAULTS,
  ...over,
});

describe('--executor slurm without a cluster', () => {
  it('is exit 2 with a clear message when sbatch is not on PATH, before anything runs', async () => {
    const path = process.env['PATH'];
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    process.env['PATH'] = empty;
    const t0 = Date.now();
    try {
      const r = await runCli(['run', FULL, '--executor', 'slurm', '--out', join(dir, 'no-sbatch'), '--cache', cache, '--no-charts']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        /error \[SLURM_UNAVAILABLE\]: --executor slurm needs Slurm's commands, but `sbatch`, `squeue`, `scontrol`, `scancel`, `sinfo` are not on PATH .* or run here with --executor local\./,
      );
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      process.env['PATH'] = path;
    }
  });

  it.each([
    [['--executor', 'kubernetes'], /\[USAGE\]: --executor 'kubernetes' is not an executor\. Use one of: local, slurm\./],
    [['--executor', 'slurm', '--time', 'three weeks'], /\[USAGE\]: --time 'three weeks' is not a time limit/],
    [['--executor', 'slurm', '--slurm-mem', '0GB'], /\[USAGE\]: --slurm-mem '0GB' is not a positive size/],
    [['--executor', 'slurm', '--queue-timeout', '0s'], /\[USAGE\]: --queue-timeout '0s' is not a positive duration/],
  ])('refuses bad options %j (exit 2)', async (args, message) => {
    const r = await runCli(['run', FULL, ...args, '--out', join(dir, 'bad'), '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('checks the settings file: an unknown key is named (exit 2), a missing named file too', async () => {
    const bad = file('bad.config.yaml', 'executor: slurm\nslurm:\n  partiton: big\n');
    const r = await runCli(['run', FULL, '--config', bad, '--out', join(dir, 'bad'), '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[SETTINGS_INVALID\]: Settings file .*bad\.config\.yaml is invalid: slurm: unknown key\(s\) partiton/);
    const missing = await runCli(['run', FULL, '--config', join(dir, 'nope.yaml'), '--out', join(dir, 'bad'), '--cache', cache]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/\[FILE_NOT_FOUND\]: Settings file .*nope\.yaml does not exist/);
  });

  it('reads executor: from a scenario, and refuses one it does not know, naming the key', async () => {
    const good = file('exec.yaml', readFileSync(FULL, 'utf8').replace('scale: 1', 'scale: 1\nexecutor: slurm'));
    const path = process.env['PATH'];
    process.env['PATH'] = join(dir, 'empty-bin');
    try {
      // The scenario's own executor: slurm reaches the Slurm checks (and --executor local overrides it).
      expect((await runCli(['run', good, '--out', join(dir, 'exec'), '--cache', cache, '--no-charts'])).err).toMatch(/SLURM_UNAVAILABLE/);
    } finally {
      process.env['PATH'] = path;
    }
    const bad = file('exec-bad.yaml', readFileSync(FULL, 'utf8').replace('scale: 1', 'scale: 1\nexecutor: cloud'));
    const r = await runCli(['run', bad, '--out', join(dir, 'exec'), '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SCENARIO_INVALID.*executor/);
  });
});

describe('Slurm jobs: what they ask for, and what a cut-off job left', () => {
  const spec = (peak?: number): BuiltinRunSpec => ({
    kind: 'builtin',
    index: 0,
    id: '001-s-selective',
    scenario: 's',
    strategy: 'selective',
    scale: 0.001,
    executor: 'slurm',
    generate: [],
    child: {
      job: { module: 'm.js', payload: { scenario: 's', strategy: 'selective', datasets: [], pipeline: {} as never, repeat: 1 } },
      env: {},
    },
    ...(peak !== undefined ? { predictedPeakBytes: peak } : {}),
  });

  it('asks for the predicted peak plus headroom, never less than what the job needs to start', () => {
    expect(jobMemoryBytes(spec(400e6), settings())).toBe(JOB_ENTRY_BYTES + CHILD_START_BYTES + 400e6 * 1.25);
    expect(jobMemoryBytes(spec(0), settings())).toBe(JOB_ENTRY_BYTES + CHILD_START_BYTES);
    expect(jobMemoryBytes(spec(400e6), settings({ memBytes: 2e9 }))).toBe(2e9);
    expect(() => jobMemoryBytes(spec(), settings())).toThrow(/cannot predict .* give --slurm-mem/i);
    expect(slurmMemArg(200e6)).toBe('191M');
  });

  it('writes a job script with every request as an #SBATCH line and the job entry last', () => {
    const text = jobScript(
      spec(100e6),
      '/shared/run',
      300 * 2 ** 20,
      settings({ partition: 'bigmem', account: 'lab', time: '0-04:00:00', setup: 'module load nodejs/20', node: '/opt/node/bin/node' }),
    );
    const lines = text.split('\n');
    expect(lines).toContain('#SBATCH --mem=300M');
    expect(lines).toContain('#SBATCH --no-requeue');
    expect(lines).toContain('#SBATCH --output=/shared/run/slurm.out');
    expect(lines).toContain('#SBATCH --partition=bigmem');
    expect(lines).toContain('#SBATCH --account=lab');
    expect(lines).toContain('#SBATCH --time=0-04:00:00');
    expect(lines.indexOf('module load nodejs/20')).toBeLessThan(lines.findIndex((l) => l.startsWith('exec ')));
    expect(lines.find((l) => l.startsWith('exec '))).toMatch(
      /^exec '\/opt\/node\/bin\/node' '.*\/harness\/slurm\/job\.js' '\/shared\/run'$/,
    );
  });

  it.each([
    ['4:00:00', '4:00:00'],
    ['1-12:00:00', '1-12:00:00'],
    ['90m', '0-01:30:00'],
    ['4h', '0-04:00:00'],
    ['2d', '2-00:00:00'],
  ])('--time %s is %s for Slurm', (given, want) => {
    expect(slurmTime(given)).toBe(want);
  });

  it('turns the records of a job killed mid-step into a died run: that step, the steps before it, the figures in it', () => {
    const runDir = join(dir, 'cut');
    mkdirSync(runDir, { recursive: true });
    const w = new RecordWriter(runDir);
    const step = (label: string, start: number, end: number, peak: number) => ({
      dataset: 'a',
      name: label.split(' ')[0]!,
      label,
      start_ms: start,
      end_ms: end,
      peak_bytes: peak,
      end_bytes: peak / 2,
      heap_used_bytes: 0,
      external_bytes: 0,
      array_buffers_bytes: 0,
      wasm_bytes: 0,
      live_bytes: 0,
      gc_count: 0,
      gc_pause_ms: 0,
    });
    const records: JobRecord[] = [
      { type: 'job', job_id: '42', node: 'c07', pid: 1, started_epoch_ms: 1000, entry_rss_bytes: 50e6 },
      { type: 'hello', pid: 7, node: 'v20' },
      {
        type: 'baseline',
        method: 'kernel-hwm',
        t0_epoch_ms: 2000,
        baseline: { rss_bytes: 100e6, heap_used_bytes: 0, external_bytes: 0, array_buffers_bytes: 0, wasm_bytes: 0 },
      },
      { type: 'step-start', dataset: 'a', name: 'load', label: 'load a', start_ms: 0 } as JobRecord,
      { type: 'step', record: step('load a', 0, 50, 30e6) },
      { type: 'step-start', dataset: 'a', name: 'prepare', label: 'prepare a', start_ms: 50 } as JobRecord,
      { type: 'sample', epoch_ms: 2060, rss_bytes: 180e6 },
      { type: 'sample', epoch_ms: 2160, rss_bytes: 260e6 },
    ];
    for (const r of records) w.write(r);
    w.close();
    // A torn last line (killed mid-write) is ignored; what came before stands.
    writeFileSync(join(runDir, RECORDS_FILE), '{"type":"sam', { flag: 'a' });
    const reader = new RecordReader(join(runDir, RECORDS_FILE));
    expect(reader.poll()).toHaveLength(records.length);
    const child = childFromRecords(spec(), reader.all, {
      code: null,
      signal: 'SIGKILL',
      killedFor: { kind: 'memory-limit', reason: 'killed for memory by Slurm' },
      tail: '',
      endedEpochMs: 2200,
    });
    expect(child.status).toBe('died');
    expect(child.failure).toMatchObject({ kind: 'memory-limit', step: 'prepare a', step_peak_rss_bytes: 160e6, last_rss_bytes: 160e6 });
    expect(child.steps.map((s) => s.label)).toEqual(['load a']);
    expect(child.peak_bytes).toBe(160e6);
  });

  it('makes a cut-off command net of the baseline its scenario asks for, and names the step it was in', () => {
    const cmd: CommandRunSpec = {
      kind: 'command',
      index: 0,
      id: '001-c',
      scenario: 'c',
      strategy: 'command',
      scale: 1,
      executor: 'slurm',
      command: { name: 'c', command: ['python3', 'train.py'], baseline: 'auto' },
    };
    const s = (label: string, end: number, peak: number) => ({
      dataset: null,
      name: label,
      label,
      start_ms: 0,
      end_ms: end,
      peak_bytes: peak,
      end_bytes: peak,
      heap_used_bytes: 0,
      external_bytes: 0,
      array_buffers_bytes: 0,
      wasm_bytes: 0,
      live_bytes: 0,
      gc_count: 0,
      gc_pause_ms: 0,
      self_peak_bytes: peak,
      descendants_peak_bytes: 0,
      processes: 1,
      peak_is_upper_bound: false,
      closed_by: 'marker' as const,
    });
    const records: JobRecord[] = [
      { type: 'command-baseline', source: 'start', rss_bytes: 10e6 },
      { type: 'command-step-start', name: 'load', t_ms: 100 },
      { type: 'command-baseline', source: 'first-step-marker', rss_bytes: 40e6 },
      { type: 'command-step', step: s('startup', 100, 40e6) },
      { type: 'command-step-start', name: 'train', t_ms: 300 },
      { type: 'command-step', step: s('load', 300, 90e6) },
      { type: 'command-sample', t_ms: 400, rss_bytes: 340e6 },
    ];
    const rec = commandFromRecords(cmd, records, {
      code: null,
      signal: 'SIGKILL',
      killedFor: { kind: 'memory-limit', reason: 'killed for memory by Slurm' },
      tail: '',
      endedEpochMs: 0,
    });
    expect(rec.status).toBe('died');
    expect(rec.baseline_bytes).toBe(40e6);
    expect(rec.command.baseline_source).toBe('first-step-marker');
    expect(rec.steps.map((x) => [x.label, x.peak_bytes])).toEqual([
      ['startup', 0],
      ['load', 50e6],
    ]);
    expect(rec.failure?.step).toBe('train');
    expect(rec.failure?.reason).toBe(
      "killed for memory by Slurm (in step 'train'); RSS reached 300 MB above baseline in that step, last finished step 'load' ended at 50 MB",
    );
    expect(rec.peak_bytes).toBe(300e6);
  });
});
