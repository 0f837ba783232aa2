// `cellbudget subsample`: parse, one call, print; refusals exit 2 with their code.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withH5ad } from '../../../src/h5ad/source.js';
import { parseControl } from '../../../src/cli/subsample.js';
import { DATASETS } from '../../helpers/fixtures.js';
import { runCli } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-subsample-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cellbudget subsample', () => {
  it('writes a rung by a pipeline config and prints the scale it reached', async () => {
    const out = join(dir, 'combos.h5ad');
    const r = await runCli([
      'subsample',
      join(DATASETS, 'combos.h5ad'),
      '--scale',
      '0.3',
      '--config',
      join(DATASETS, 'combos.config.json'),
      '--out',
      out,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote .*combos\.h5ad/);
    const cells = withH5ad(out, (s) => s.nObs);
    expect(r.out).toContain(`${cells} of 1,000 cells: scale ${(cells / 1000).toPrecision(3)} reached (asked 0.3)`);
    expect(r.out).toMatch(/split by drug\+dosage: \d+ values, shares/);
  });

  it('writes a rung by --by with a derived control, as JSON', async () => {
    const out = join(dir, 'tiny.h5ad');
    const r = await runCli([
      'subsample',
      join(DATASETS, 'tiny.h5ad'),
      '--scale',
      '0.5',
      '--by',
      'cell_line,drug',
      '--control',
      'drug=DMSO',
      '--json',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      selection: { cells: number; reachedScale: number; axes: Array<{ columns: string[] }> };
      reached_bytes_scale: number;
    };
    expect(j.selection.cells).toBe(withH5ad(out, (s) => s.nObs));
    expect(j.selection.axes.map((a) => a.columns)).toEqual([['cell_line'], ['drug']]);
    expect(j.reached_bytes_scale).toBeCloseTo(j.selection.reachedScale, 10);
  });

  it('refuses a scale below the smallest rung of whole conditions (exit 2, SCENARIO_IMPOSSIBLE), and a call without keys (USAGE)', async () => {
    const small = await runCli([
      'subsample',
      join(DATASETS, 'tiny.h5ad'),
      '--scale',
      '0.001',
      '--config',
      join(DATASETS, 'tiny.config.json'),
      '--out',
      join(dir, 'x.h5ad'),
    ]);
    expect(small.code).toBe(2);
    expect(small.err).toMatch(/^cellbudget: error \[SCENARIO_IMPOSSIBLE\]: .*Use scales of at least/);
    const none = await runCli(['subsample', join(DATASETS, 'tiny.h5ad'), '--scale', '0.5', '--out', join(dir, 'y.h5ad')]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/\[USAGE\]: Say what makes a condition/);
  });

  it('reads --control as a boolean column or a column=value, numbers and booleans as such', () => {
    expect(parseControl('control')).toBe('control');
    expect(parseControl('drug=DMSO_TF')).toEqual({ column: 'drug', equals: 'DMSO_TF' });
    expect(parseControl('dosage=0')).toEqual({ column: 'dosage', equals: 0 });
    expect(parseControl('is_ctrl=true')).toEqual({ column: 'is_ctrl', equals: true });
  });
});
