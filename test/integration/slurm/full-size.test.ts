// Full-size runs close the loop: calibrate takes full-size reports beside scaled ones, plan
// says which figures were measured, plan --sbatch writes a ready job script, and
// run --only-dataset runs one dataset as its own primary.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../../src/core/report.js';
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

describe('full-size runs close the loop: calibrate, plan, plan --sbatch', () => {
  const full = join(dir, 'full-1');
  const scaled = join(dir, 'full-025');
  const cal = join(dir, 'cal.json');

  it('calibrate takes a full-size report beside a scaled one and keeps the full-size runs with how far earlier figures were', async () => {
    const a = await runCli(['run', FULL, '--scale', '1', '--strategy', 'selective', '--out', full, '--cache', cache, '--no-charts']);
    expect(a.code, a.err).toBe(0);
    const b = await runCli(['run', FULL, '--scale', '0.25', '--strategy', 'selective', '--out', scaled, '--cache', cache, '--no-charts']);
    expect(b.code, b.err).toBe(0);
    const r = await runCli(['calibrate', join(full, 'report.json'), join(scaled, 'report.json'), '--out', cal]);
    expect(r.code, r.err).toBe(0);
    const measured = (JSON.parse(readFileSync(join(full, 'report.json'), 'utf8')) as Report).runs[0]!;
    const small = (JSON.parse(readFileSync(join(scaled, 'report.json'), 'utf8')) as Report).runs[0]!;
    const c = JSON.parse(readFileSync(cal, 'utf8')) as { full_size: Array<Record<string, unknown>>; fit: { source: string } };
    expect(c.fit.source).toBe(`${join(full, 'report.json')}, ${join(scaled, 'report.json')}`);
    expect(c.full_size).toHaveLength(1);
    expect(c.full_size[0]).toMatchObject({
      scenario: 'full',
      strategy: 'selective',
      datasets: ['first', 'second'],
      peak_bytes: measured.peak_bytes,
      final_bytes: measured.final_bytes,
      executor: 'local',
    });
    const earlier = c.full_size[0]!['earlier'] as Array<{ source: string; peak_bytes: number; peak_error: number }>;
    // The scaled report's figure is its ladder's projection (its rungs climb where small ones are under the mmap floor).
    expect(earlier.map((e) => e.source)).toEqual([
      'the model when the run was measured',
      `ladder projection from scale ${small.ladder!.scales.join(', ')} (${join(scaled, 'report.json')})`,
    ]);
    expect(earlier[1]!.peak_bytes).toBeCloseTo(small.projected!.peak_bytes, 0);
    expect(earlier[1]!.peak_error).toBeCloseTo((small.projected!.peak_bytes - measured.peak_bytes) / measured.peak_bytes, 9);
    expect(r.out).toMatch(
      /Measured at full size \(scale 1\), kept for `plan`:\n {4}full \/ selective: peak .+ at '.+', final .+\n {6}earlier: the model when the run was measured: peak .+ \([+−]\d+\.\d%\)/,
    );
  }, 120_000);

  it('plan says which figures come from the full-size measurement, and how far the earlier ones were', async () => {
    const r = await runCli(['plan', FULL, '--calibration', cal, '--node-memory', '1GB', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as {
      strategies: Array<{
        name: string;
        peak_bytes: number;
        source: string;
        measured_full_size?: { peak_bytes: number; model_peak_bytes: number };
      }>;
    };
    const measured = (JSON.parse(readFileSync(join(full, 'report.json'), 'utf8')) as Report).runs[0]!;
    const sel = j.strategies.find((s) => s.name === 'selective')!;
    expect(sel.source).toBe('measured');
    expect(sel.peak_bytes).toBe(measured.peak_bytes);
    expect(sel.measured_full_size?.model_peak_bytes).toBeGreaterThan(0);
    expect(j.strategies.find((s) => s.name === 'eager')!.source).toBe('model');
    const text = await runCli(['plan', FULL, '--calibration', cal, '--node-memory', '1GB']);
    // The strategy column is as wide as its longest name ('sequential') and two spaces.
    expect(text.out).toMatch(/^ {2}selective {3}[\d.]+ [kMG]B\* +[\d.]+ [kMG]B\*/m);
    expect(text.out).toMatch(/\* measured at full size; the other figures are the model's/);
    expect(text.out).toMatch(/this model predicts .+ \([+−]\d+\.\d%\)/);
    expect(text.out).toMatch(/earlier: ladder projection from scale [\d., ]+ .+: .+ \([+−]\d+\.\d%\)/);
  });

  it('plan --sbatch writes a ready job script with the planned --mem; --sbatch-array one task per dataset, never for eager', async () => {
    const job = join(dir, 'job.sh');
    const r = await runCli([
      'plan',
      FULL,
      '--calibration',
      cal,
      '--strategy',
      'selective',
      '--sbatch',
      job,
      '--partition',
      'bigmem',
      '--account',
      'lab',
      '--time',
      '2h',
      '--sbatch-arg=--qos=long',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/Job script written to .*job\.sh: submit it with `sbatch .*job\.sh`/);
    const lines = readFileSync(job, 'utf8').split('\n');
    expect(lines[0]).toBe('#!/bin/bash');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^#SBATCH --mem=\d+G$/),
        '#SBATCH --partition=bigmem',
        '#SBATCH --account=lab',
        '#SBATCH --time=0-02:00:00',
        '#SBATCH --qos=long',
      ]),
    );
    expect(lines.find((l) => l.startsWith('exec '))).toMatch(
      / run '.*full\.yaml' --scale 1 --strategy selective --calibration '.*cal\.json' --executor local( --order auto)? --out "reports\/full-size-\$\{SLURM_JOB_ID\}"$/,
    );
    const arr = join(dir, 'array.sh');
    expect((await runCli(['plan', FULL, '--strategy', 'selective', '--sbatch', arr, '--sbatch-array'])).code).toBe(0);
    const text = readFileSync(arr, 'utf8');
    expect(text).toMatch(/^#SBATCH --array=0-1$/m);
    expect(text).toMatch(/^datasets=\('first' 'second'\)$/m);
    expect(text).toMatch(/--only-dataset "\$dataset"/);
    const eager = await runCli(['plan', FULL, '--strategy', 'eager', '--sbatch', arr, '--sbatch-array']);
    expect(eager.code).toBe(2);
    expect(eager.err).toMatch(/eager loads every dataset before processing any, so it cannot run one dataset per array task/);
    const noScenario = await runCli(['plan', '--dataset', 'a=10GB', '--sbatch', arr]);
    expect(noScenario.code).toBe(2);
    expect(noScenario.err).toMatch(/--sbatch writes a job script that runs a scenario at full size/);
  });

  it('run --only-dataset runs one dataset as its own primary, named scenario@dataset', async () => {
    const out = join(dir, 'only');
    const r = await runCli([
      'run',
      FULL,
      '--only-dataset',
      'second',
      '--strategy',
      'selective',
      '--ladder',
      'off',
      '--out',
      out,
      '--cache',
      cache,
      '--no-charts',
    ]);
    expect(r.code, r.err).toBe(0);
    const run = (JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report).runs[0]!;
    expect(run.scenario).toBe('full@second');
    expect(Object.keys(run.retained)).toEqual(['second']);
    expect(Object.keys(run.retained['second']!).sort()).toEqual(['test', 'train', 'val']);
    const bad = await runCli(['run', FULL, '--only-dataset', 'third', '--out', out, '--cache', cache]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--only-dataset third: 'full' has no such dataset; its datasets are first, second/);
  }, 60_000);
});
