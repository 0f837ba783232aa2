import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runCli(args);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

describe('cellbudget plan', () => {
  test('--json gives every strategy at full scale and the recommended order', async () => {
    const r = await cli('plan', 'scenarios/original-fix.yaml', '--node-memory', '400GB,512GB,1TB', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      strategies: Array<{ name: string; peak_bytes: number; final_bytes: number; peak_step: string; best_order: string[] }>;
      recommended_order: string[];
      recommended: { sbatch: string };
    };
    expect(j.strategies.map((s) => s.name)).toEqual(['eager', 'sequential', 'selective', 'streaming']);
    const selective = j.strategies.find((s) => s.name === 'selective')!;
    expect(selective.peak_step).toBe('prepare dataset_2');
    expect(selective.best_order).toEqual(['dataset_2', 'dataset_1']);
    expect(j.recommended_order.length).toBe(2);
    expect(j.recommended.sbatch).toMatch(/^#SBATCH --mem=\d+G$/);
  });

  test('--dataset form prints a table with the node columns', async () => {
    const r = await cli(
      'plan',
      '--dataset',
      'tahoe=132GB,features=50',
      '--dataset',
      'sciplex=20GB',
      '--primary',
      'sciplex',
      '--node-memory',
      '400GB,1TB',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/primary sciplex/);
    expect(r.stdout).toMatch(/#SBATCH --mem=\d+G/);
  });

  test.each([
    [['--dataset', 'a=-10GB'], /negative/],
    [['--dataset', 'a=10GB,control=1.5'], /control fraction.*between 0 and 1/],
    [['--dataset', 'a=10GB,test=2'], /test=2 is outside 0–1/],
    [['--dataset', 'a=10GB', '--primary', 'nope'], /--primary 'nope' is not one of the datasets/],
    [['--dataset', 'a=10GB', '--headroom', '150%'], /headroom/],
    [['--dataset', 'a=10GB,colour=red'], /unknown key 'colour'/],
    [[], /needs a scenario or at least one --dataset/],
  ])('bad input %j exits 2 naming the input', async (args, message) => {
    const r = await cli('plan', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('no node fitting is a finding (exit 1), not bad input', async () => {
    const r = await cli('plan', '--dataset', 'a=900GB', '--node-memory', '100GB');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/check failed \[NO_NODE_FITS\]: No strategy fits any node size/);
    expect(r.stdout).toMatch(/#SBATCH --mem=/);
  });

  test('a model: section with a contradiction is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-plan-'));
    const text = readFileSync('scenarios/original-fix.yaml', 'utf8').replace('test_fraction: 0.2308', 'test_fraction: 0.9');
    writeFileSync(join(dir, 's.yaml'), text);
    const r = await cli('plan', join(dir, 's.yaml'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/test_fraction cannot exceed kept_fraction/);
  });
});

describe('cellbudget simulate', () => {
  test('--json gives step timelines; --out writes simulation.json and a chart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-sim-'));
    const r = await cli('simulate', 'scenarios/original-fix.yaml', '--json', '--out', dir, '--strategy', 'eager,selective');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { strategies: Array<{ name: string; peak_bytes: number; steps: unknown[] }> };
    expect(j.strategies.map((s) => s.name)).toEqual(['eager', 'selective']);
    expect(j.strategies[1]!.steps).toHaveLength(11);
    expect(existsSync(join(dir, 'simulation.json'))).toBe(true);
    expect(existsSync(join(dir, 'original-fix-predicted.png'))).toBe(true);
  });
});

describe('cellbudget plan exit codes', () => {
  it('plan exits 1 when no node fits (a finding, not bad input)', async () => {
    const r = await runCli(['plan', '--dataset', 'a=900GB', '--node-memory', '100GB']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/NO_NODE_FITS/);
  });
});
