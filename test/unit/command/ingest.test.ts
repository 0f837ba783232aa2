import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, afterAll } from 'vitest';
import { ingestLog, ingestReport } from '../../../harness/command/ingest.js';
import type { Report } from '../../../src/core/report.js';
import { capture, runCli as cli } from '../../helpers/cli.js';

const LOG = fileURLToPath(new URL('../../fixtures/command/original-fix.log', import.meta.url));
const GB = 1e9;

describe('ingest of the original fix memory log', () => {
  const text = readFileSync(LOG, 'utf8');

  it('comes out as the documented figures: 11 steps, peak 332 GB, final 130 GB', () => {
    const run = ingestLog(text, { name: 'original-fix-log' });
    expect(run.method).toBe('ingested-log');
    expect(run.status).toBe('ok');
    expect(run.baseline_bytes).toBe(0);
    expect(run.steps.map((s) => s.end_bytes / GB)).toEqual([132, 262, 130, 130, 100, 232, 332, 200, 200, 130, 130]);
    expect(run.steps.map((s) => s.peak_bytes)).toEqual(run.steps.map((s) => s.end_bytes));
    expect(run.peak_bytes).toBe(332 * GB);
    expect(run.final_bytes).toBe(130 * GB);
    expect(run.steps[6]?.label).toBe('Step 7: Process to GroupedDistribution');
    expect(run.steps[0]?.reported_total_bytes).toBe(400 * GB);
    expect(run.ingested.time_source).toBe('timestamps');
    // Times from the log's own timestamps: step 2 ended 41 min 14.5 s after step 1.
    expect(run.steps[1]?.end_ms).toBe(2_474_535);
  });

  it("maps the labels onto the pipeline's steps and datasets", () => {
    const run = ingestLog(text);
    expect(run.steps.map((s) => `${s.dataset}:${s.name}`)).toEqual([
      'dataset_1:load',
      'dataset_1:prepare',
      'dataset_1:delete-raw',
      'dataset_1:split',
      'dataset_1:delete-grouped',
      'dataset_2:load',
      'dataset_2:prepare',
      'dataset_2:delete-raw',
      'dataset_2:split',
      'dataset_2:retain',
      'dataset_2:delete-grouped',
    ]);
  });

  it('checks full-scale budgets and names the step', () => {
    const run = ingestLog(text, { budgets: { peakBytes: 400 * GB, finalBytes: 120 * GB } });
    const peak = run.budgets.find((b) => b.metric === 'peak');
    const final = run.budgets.find((b) => b.metric === 'final');
    expect(peak?.ok).toBe(true);
    expect(peak?.step).toBe('Step 7: Process to GroupedDistribution');
    expect(final?.ok).toBe(false);
    expect(final?.actual_bytes).toBe(130 * GB);
  });

  it('a scaled log is compared at full scale', () => {
    const scaled = text.replace(/Used: ([0-9.]+) GB/g, (_m, v: string) => `Used: ${(Number(v) / 1000).toFixed(3)} GB`);
    const run = ingestLog(scaled, { scale: 0.001, budgets: { peakBytes: 300 * GB } });
    expect(run.budgets[0]?.actual_bytes).toBeCloseTo(332 * GB, -3);
    expect(run.budgets[0]?.ok).toBe(false);
  });

  it('a log that ends in an OOM kill is a died run with its last step', () => {
    const cut =
      text.split('\n').slice(0, 12).join('\n') +
      '\nslurmstepd: error: Detected 1 oom_kill event in StepId=123.batch. Some of your processes may have been killed by the cgroup out-of-memory handler.\n';
    const run = ingestLog(cut);
    expect(run.status).toBe('died');
    expect(run.failure?.step).toBe('Step 6: Load dataset_2');
    expect(run.failure?.reason).toMatch(/OOM/);
    expect(run.steps).toHaveLength(6);
  });

  it('reads GB as 2^30 when asked, and other units as written', () => {
    expect(ingestLog('[MEMORY x] Used: 1.00 GB | Available: 1 GB | Total: 2 GB', { markers: { binaryGb: true } }).peak_bytes).toBe(2 ** 30);
    expect(ingestLog('[MEMORY x] Used: 512 MiB').peak_bytes).toBe(512 * 2 ** 20);
  });

  it('refuses a log without markers, saying what a marker looks like', () => {
    expect(() => ingestLog('just\nsome output\n', { source: 'x.log' })).toThrow(/\[MEMORY <label>\] Used/);
  });

  it('a report with the scenario and strategy is usable by calibrate', async () => {
    const { observationsFromReport } = await import('../../../src/simulator/predict.js');
    const definition = {
      name: 'original-fix',
      datasets: [
        {
          name: 'dataset_1',
          synthetic: { size: '130GB', features: 342, cell_lines: 50, drugs: 380, doses: [0.05, 0.5, 5.0], control_fraction: 0.05, seed: 1 },
        },
        {
          name: 'dataset_2',
          synthetic: { size: '130GB', features: 342, cell_lines: 50, drugs: 380, doses: [0.05, 0.5, 5.0], control_fraction: 0.05, seed: 2 },
        },
      ],
    };
    const report = ingestReport(text, { name: 'original-fix', strategy: 'selective', definition });
    const { observations, skipped } = observationsFromReport(report);
    expect(skipped).toEqual([]);
    expect(observations).toHaveLength(22);
  });
});

// The CLI pulls in every subcommand; imported lazily so the library tests above stand alone.
const main = async (...args: Parameters<typeof import('../../../src/cli/main.js').main>): Promise<number> =>
  (await import('../../../src/cli/main.js')).main(...args);

describe('cellbudget ingest', () => {
  it('writes report.json, prints the table, exits 1 when a budget breaks', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cb-ingest-'));
    const c = capture();
    const code = await main(['node', 'cellbudget', 'ingest', LOG, '--budget', 'peak=300GB', '--out', out], c.io);
    expect(code).toBe(1);
    expect(c.out()).toContain('Step 7: Process to GroupedDistribution');
    expect(c.out()).toMatch(/peak 332 GB, final 130 GB/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('Step 7: Process to GroupedDistribution');
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain('original-fix');
    expect(readdirSync(out).some((f) => f.endsWith('.png'))).toBe(true);
    expect(report.runs[0]?.method).toBe('ingested-log');
    expect(report.runs[0]?.scenario).toBe('original-fix');
    expect(report.runs[0]?.budgets[0]?.ok).toBe(false);
  });

  it('--json prints the report; exit 0 within budget', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cb-ingest-'));
    const c = capture();
    const code = await main(
      ['node', 'cellbudget', 'ingest', LOG, '--budget', 'peak=400GB', '--budget', 'final=140GB', '--out', out, '--json', '--no-charts'],
      c.io,
    );
    expect(code).toBe(0);
    const report = JSON.parse(c.out()) as Report;
    expect(report.runs[0]?.peak_bytes).toBe(332e9);
    expect(report.runs[0]?.final_bytes).toBe(130e9);
  });

  it('bad input exits 2 with a message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-ingest-'));
    const empty = join(dir, 'empty.log');
    writeFileSync(empty, 'nothing here\n');
    const c = capture();
    expect(await main(['node', 'cellbudget', 'ingest', empty, '--out', dir], c.io)).toBe(2);
    expect(c.err()).toContain('LOG_INVALID');
    const d = capture();
    expect(await main(['node', 'cellbudget', 'ingest', empty, '--budget', 'peak400GB'], d.io)).toBe(2);
    expect(d.err()).toContain('METRIC=SIZE');
  });

  it('a log that is missing, a folder or not a regular file says which (exit 2, FILE_NOT_FOUND)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-ingest-'));
    for (const [path, why] of [
      [join(dir, 'nope.log'), 'does not exist'],
      [dir, 'is a folder'],
      ['/dev/null', 'is not a regular file'],
    ] as const) {
      const c = capture();
      expect(await main(['node', 'cellbudget', 'ingest', path, '--out', join(dir, 'out')], c.io)).toBe(2);
      expect(c.err()).toContain(`[FILE_NOT_FOUND]: Log ${path} ${why}`);
    }
  });
});

const dir = mkdtempSync(join(tmpdir(), 'cb-ingest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ingest reads every marker line or says which it could not, in linear time', () => {
  const GB = 1e9;
  const line = (label: string, used: string): string => `[MEMORY ${label}] Used: ${used} | Available: 10.00 GB | Total: 400.00 GB`;

  it('refuses a log with an unreadable [MEMORY] line (exit 2, naming the line), or lists it with --lenient', async () => {
    const log = join(dir, 'garbage.log');
    writeFileSync(
      log,
      [
        line('After loading dataset_1', '100.00 GB'),
        '[MEMORY After preparing dataset_1] Used: lots',
        line('After deleting raw dataset_1', '50.00 GB'),
      ].join('\n'),
    );
    let r = await cli(['ingest', log, '--out', join(dir, 'ing-strict'), '--budget', 'peak=120GB', '--no-charts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/LOG_INVALID.*1 \[MEMORY\] line\(s\) that cannot be read: line 2: 'lots' is not a finite number/);
    r = await cli(['ingest', log, '--out', join(dir, 'ing-lenient'), '--budget', 'peak=120GB', '--no-charts', '--lenient']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/garbage.log:2: unreadable \[MEMORY\] line skipped/);
  });

  it('reads thousands separators, and refuses numbers that are no finite figure', () => {
    expect(ingestLog(line('x', '1,234.5 GB')).peak_bytes).toBe(1234.5 * GB);
    expect(() => ingestLog(line('x', '1e999 GB'))).toThrow(/not a finite number/);
    expect(() => ingestLog(line('x', '12,34 GB'))).toThrow(/cannot be read/);
  });

  it('takes 130,000 markers without overflowing the stack', () => {
    const text = Array.from({ length: 130_000 }, (_, i) => line(`step ${i}`, `${(i % 1000) + 1}.00 GB`)).join('\n');
    const report = ingestReport(text);
    expect(report.runs[0]!.steps.length).toBe(130_000);
    expect(report.runs[0]!.peak_bytes).toBe(1000 * GB);
  });
});
