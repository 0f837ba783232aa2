import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { stringify } from 'yaml';
import { builtinScenarios } from '../../../src/cli/plan.js';
import { fileFacts } from '../../../harness/run/facts.js';
import { SPLITS } from '../../../src/core/names.js';
import { describeGolden, GOLDEN } from '../../helpers/fixtures.js';

interface Golden {
  config: Record<string, unknown>;
  expected: {
    n_obs: number;
    src_rows: Record<string, number[]>;
    tgt_rows: Record<string, number[]>;
    splits: Record<'train' | 'val' | 'test', { tgt: number[]; src: number[] }>;
  };
}

describeGolden('a real file: exact structure from obs alone', () => {
  test.each(['combos', 'by_line'])('%s: grouped fraction and split shares match the reference pipeline', async (name) => {
    const g = JSON.parse(readFileSync(join(GOLDEN, `${name}.json`), 'utf8')) as Golden;
    const dir = mkdtempSync(join(tmpdir(), 'cb-files-'));
    const path = join(dir, 's.yaml');
    writeFileSync(
      path,
      stringify({ name: `golden-${name}`, scale: 1, datasets: [{ name, file: join(GOLDEN, `${name}.h5ad`) }], pipeline: g.config }),
    );
    const [scenario] = builtinScenarios(path);
    const facts = (await fileFacts(scenario!))[name]!;
    const e = g.expected;
    // Rows per distribution index (the golden JSON keys them by index).
    const len = (rows: Record<string, number[]>, idx: number[]): number => idx.reduce((a, i) => a + rows[String(i)]!.length, 0);
    const all = (rows: Record<string, number[]>): number => Object.values(rows).reduce((a, r) => a + r.length, 0);
    const grouped = all(e.src_rows) + all(e.tgt_rows);
    expect(facts.cells).toBe(e.n_obs);
    expect(facts.groupedFraction).toBeCloseTo(grouped / e.n_obs, 12);
    for (const k of SPLITS) {
      expect(facts.structure!.perturbed[k], `${k} perturbed`).toBeCloseTo(len(e.tgt_rows, e.splits[k].tgt) / grouped, 12);
      expect(facts.structure!.sources[k], `${k} sources`).toBeCloseTo(len(e.src_rows, e.splits[k].src) / grouped, 12);
    }
  });
});
