import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCommandScenario, type CommandStepRecord } from '../../../harness/command/command.js';
import { kernelHwmAvailable } from '../../../src/memory/proc.js';

const PY = '/usr/bin/python3';
const PROG = fileURLToPath(new URL('../../../fixtures/command/steps.py', import.meta.url));
const MB = 1e6;
const linux = process.platform === 'linux' && existsSync(PY);
if (!linux) console.warn(`command tests skipped: they need Linux /proc and ${PY}`);

function step(steps: CommandStepRecord[], label: string): CommandStepRecord {
  const s = steps.find((x) => x.label.startsWith(label));
  if (!s) throw new Error(`no step '${label}' in ${steps.map((x) => x.label).join(', ')}`);
  return s;
}

const within = (actual: number, expected: number, tol = 0.05): void => {
  expect(Math.abs(actual - expected) / expected, `${(actual / MB).toFixed(2)} MB vs ${expected / MB} MB`).toBeLessThanOrEqual(tol);
};

describe.runIf(linux)('runCommandScenario on a real Python program', () => {
  it('measures each ::step with its own kernel peak, within 5% of what the step allocated', async () => {
    const rec = await runCommandScenario({
      name: 'alloc',
      command: [PY, PROG, 'step', '50', '150', '80', '60k', '30'],
      timeout_ms: 30_000,
    });
    expect(rec.status).toBe('ok');
    expect(rec.strategy).toBe('command');
    expect(rec.method).toBe(kernelHwmAvailable() ? 'kernel-hwm-command' : 'sampled-rss');
    expect(rec.command.baseline_source).toBe('first-step-marker');
    expect(rec.env['PYTHONUNBUFFERED']).toBe('1');
    expect(rec.steps.map((s) => s.label)).toEqual([
      'startup',
      'alloc 50 MB',
      'alloc 150 MB',
      'alloc 80 MB',
      'alloc 60 MB keep',
      'alloc 30 MB',
      'after the last marker, until exit',
    ]);
    within(step(rec.steps, 'alloc 30 MB').end_bytes, 60 * MB);
    within(step(rec.steps, 'alloc 50 MB').peak_bytes, 50 * MB);
    within(step(rec.steps, 'alloc 150 MB').peak_bytes, 150 * MB);
    // Independent of the 150 MB before it: the high-water mark was reset at the marker.
    within(step(rec.steps, 'alloc 80 MB').peak_bytes, 80 * MB);
    within(step(rec.steps, 'alloc 60 MB keep').peak_bytes, 60 * MB);
    within(step(rec.steps, 'alloc 60 MB keep').end_bytes, 60 * MB);
    within(step(rec.steps, 'alloc 30 MB').peak_bytes, 90 * MB);
    within(rec.final_bytes, 60 * MB);
    within(rec.peak_bytes, 150 * MB);
    expect(rec.samples.length).toBeGreaterThan(3);
    for (const s of rec.steps) expect(s.peak_is_upper_bound).toBe(false);
  });

  // A deliberate race (the harness reads VmHWM while the program goes on): on a machine
  // loaded past its cores the read can lag a whole step, so it gets two more tries.
  it('without the acknowledgement, peaks of steps that free their memory stay independent', { retry: 2 }, async () => {
    // The boundary is late by the read latency: the next step's head start lands in the
    // baseline and in the previous step. In descending order that head start is smaller
    // than the previous step's own peak, so differences between steps stay exact.
    const rec = await runCommandScenario({ name: 'nosync', command: [PY, PROG, 'step-nosync', '150', '80', '50'] });
    expect(rec.status).toBe('ok');
    const p150 = step(rec.steps, 'alloc 150 MB').peak_bytes;
    const p80 = step(rec.steps, 'alloc 80 MB').peak_bytes;
    const p50 = step(rec.steps, 'alloc 50 MB').peak_bytes;
    expect(Math.abs(p150 - p80 - 70 * MB)).toBeLessThan(5 * MB);
    expect(Math.abs(p80 - p50 - 30 * MB)).toBeLessThan(5 * MB);
  });

  it('closes the step a [MEMORY …] line names and keeps the printed figures', async () => {
    const rec = await runCommandScenario({ name: 'mem', command: [PY, PROG, 'memory', '50', '120'], baseline: 'first-marker' });
    expect(rec.status).toBe('ok');
    expect(rec.steps.map((s) => s.label)).toEqual(['start', 'alloc 50 MB', 'alloc 120 MB', 'after the last marker, until exit']);
    within(step(rec.steps, 'alloc 50 MB').peak_bytes, 50 * MB);
    within(step(rec.steps, 'alloc 120 MB').peak_bytes, 120 * MB);
    expect(step(rec.steps, 'alloc 120 MB').reported_used_bytes).toBeGreaterThan(0);
    // The final state is the one declared at the last marker, not the way to exit.
    expect(Math.abs(rec.final_bytes)).toBeLessThan(5 * MB);
  });

  it('a program with no markers is one step, the whole run', async () => {
    const rec = await runCommandScenario({ name: 'plain', command: [PY, PROG, 'none', '100', 'sleep0.1'] });
    expect(rec.status).toBe('ok');
    expect(rec.steps).toHaveLength(1);
    expect(rec.steps[0]?.name).toBe('run');
    expect(rec.steps[0]?.label).toContain('whole run');
    expect(rec.command.baseline_source).toBe('start');
    // Net of the bare runtime only: the program's imports count too.
    expect(rec.peak_bytes).toBeGreaterThan(100 * MB);
  });

  it('a program killed mid-step is reported as died with its step, earlier steps and output kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-cmd-'));
    const logPath = join(dir, 'killed.command.log');
    const rec = await runCommandScenario({ name: 'killed', command: [PY, PROG, 'step', '50', 'kill'] }, { logPath });
    expect(rec.status).toBe('died');
    expect(rec.failure?.signal).toBe('SIGKILL');
    expect(rec.failure?.step).toBe('kill');
    expect(rec.failure?.reason).toMatch(/SIGKILL/);
    expect(rec.failure?.stderr_tail).toContain('about to die');
    within(step(rec.steps, 'alloc 50 MB').peak_bytes, 50 * MB);
    expect(step(rec.steps, 'kill').peak_bytes).toBeGreaterThan(35 * MB);
    const log = readFileSync(logPath, 'utf8');
    expect(log).toContain('some ordinary output line');
    expect(log).toContain('::step kill');
    expect(log).toContain('about to die');
    expect(rec.command.log_path).toBe(logPath);
  });

  it('a non-zero exit is reported with its code and stderr', async () => {
    const rec = await runCommandScenario({ name: 'exit3', command: [PY, PROG, 'step', '20', 'exit3'] });
    expect(rec.status).toBe('died');
    expect(rec.failure?.exit_code).toBe(3);
    expect(rec.failure?.reason).toBe('exited with code 3');
    expect(rec.failure?.step).toBe('exit3');
    expect(rec.failure?.stderr_tail).toContain('failing on purpose');
    expect(rec.steps.map((s) => s.label)).toEqual(['startup', 'alloc 20 MB', 'exit3']);
  });

  it('a command that hangs past its timeout is stopped and reported', async () => {
    const t = Date.now();
    const rec = await runCommandScenario(
      { name: 'hang', command: [PY, PROG, 'step', '30', 'sleep30'], timeout_ms: 2500 },
      { killGraceMs: 500 },
    );
    expect(Date.now() - t).toBeLessThan(8000);
    expect(rec.status).toBe('died');
    expect(rec.command.timed_out).toBe(true);
    expect(rec.failure?.reason).toMatch(/timed out after 2500 ms/);
    expect(rec.failure?.step).toBe('sleep30');
    within(step(rec.steps, 'alloc 30 MB').peak_bytes, 30 * MB);
  });

  it('a command that ignores SIGTERM is killed after the grace period', async () => {
    const rec = await runCommandScenario(
      { name: 'stubborn', command: [PY, PROG, 'step', 'noterm', 'sleep30'], timeout_ms: 2000 },
      { killGraceMs: 300 },
    );
    expect(rec.status).toBe('died');
    expect(rec.failure?.reason).toMatch(/SIGTERM, then SIGKILL after 300 ms/);
    expect(rec.failure?.signal).toBe('SIGKILL');
  });

  it('sums descendants as an upper bound and says so', async () => {
    const rec = await runCommandScenario({ name: 'children', command: [PY, PROG, 'step', 'child60'] });
    expect(rec.status).toBe('ok');
    const s = step(rec.steps, 'child60');
    expect(s.processes).toBeGreaterThanOrEqual(2);
    expect(s.peak_is_upper_bound).toBe(true);
    expect(s.label).toContain('upper bound');
    expect(s.descendants_peak_bytes).toBeGreaterThan(60 * MB);
  });

  it('checks full-scale budgets: measured / scale', async () => {
    const rec = await runCommandScenario({
      name: 'budget',
      command: [PY, PROG, 'step', '40'],
      scale: 0.5,
      budgets: { peakBytes: 60 * MB, finalBytes: 500 * MB },
    });
    const peak = rec.budgets.find((b) => b.metric === 'peak');
    expect(peak?.ok).toBe(false);
    within(peak?.actual_bytes ?? 0, 80 * MB);
    expect(peak?.step).toBe('alloc 40 MB');
    expect(rec.budgets.find((b) => b.metric === 'final')?.ok).toBe(true);
  });

  it('a command that cannot start is an error record, not a throw', async () => {
    const rec = await runCommandScenario({ name: 'missing', command: ['/nonexistent/cellbudget-no-such-program'] });
    expect(rec.status).toBe('error');
    expect(rec.failure?.reason).toMatch(/could not start/);
    const bad = await runCommandScenario({ name: 'nul', command: [PY, 'a\u0000b'] });
    expect(bad.status).toBe('error');
    await expect(runCommandScenario({ name: 'empty', command: [] })).rejects.toMatchObject({ code: 'SCENARIO_INVALID' });
  });
});
