// The reference's empty test split (3 split_by tuples at 0.5/0.25/0.25 → 2/1/0) reaches the
// users of `run`, not only of `split`: the split happens inside the measuring child, and its
// warning used to stay there. Own file: the harness sweeps stale job folders once per process,
// which test/integration/run/cache.test.ts checks, and a run here first would sweep them for it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../../../src/core/report.js';
import { runCli as cli } from '../../helpers/cli.js';
import { pipelineYaml } from '../../helpers/scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'cb-run-warnings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, 'cache');

describe("the reference's empty test split reaches `run` users, not only `split` users", () => {
  // Three drugs split by drug at 0.5/0.25/0.25: train 2, val 1, test 0, as the reference does it.
  const file = (name: string, drugs: number): string => {
    const p = join(dir, `${name}.yaml`);
    writeFileSync(
      p,
      `name: ${name}
scale: 0.1
datasets:
  - name: first
    synthetic: { cells: 20000, features: 4, cell_lines: 2, drugs: ${drugs}, doses: [1.0], control_fraction: 0.1, seed: 1 }
  - name: second
    synthetic: { cells: 20000, features: 4, cell_lines: 2, drugs: 8, doses: [1.0], control_fraction: 0.1, seed: 2 }
${pipelineYaml([0.5, 0.25, 0.25])}strategies: [selective]
`,
    );
    return p;
  };

  it('warns once per scenario and dataset on stderr, keeps it in report.json and report.md, exits 0; a normal scenario says nothing', async () => {
    const out = join(dir, 'empty-test-out');
    const r = await cli(['run', file('empty-test', 3), file('plain', 8), '--ladder', 'off', '--out', out, '--cache', cache, '--no-charts']);
    expect(r.code).toBe(0);
    const warnings = r.err.split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^cellbudget: warning: empty-test \/ first: With 3 unique split_by tuple\(s\) and ratios \[0\.5, 0\.25, 0\.25\], the test split is empty \(train 2, val 1, test 3 − 2 − 1 = 0\)/,
      ),
    ]);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    const byScenario = Object.fromEntries(report.runs.map((run) => [run.scenario, run]));
    expect(byScenario['empty-test']?.status).toBe('ok');
    expect(byScenario['empty-test']?.warnings).toEqual([warnings[0]!.replace('cellbudget: warning: empty-test / ', '')]);
    expect(byScenario['plain']?.status).toBe('ok');
    expect(byScenario['plain']).not.toHaveProperty('warnings');
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/^- empty-test \/ first: With 3 unique split_by tuple\(s\).*the test split is empty/m);
    expect(md).not.toMatch(/plain \/ \w+: With/);
  }, 60_000);
});
