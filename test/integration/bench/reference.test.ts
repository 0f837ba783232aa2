/**
 * The Python reference the `prepare` benchmark compares against (bench/reference/): it must
 * reproduce every golden answer, and on equal work it must copy exactly the bytes
 * `cellbudget split --digest` copies (same digests), or the benchmark's comparison means
 * nothing. Skipped without Debian's python3-anndata.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GOLDEN, PY, pythonMissing } from '../../helpers/fixtures.js';
import { runCli } from '../../helpers/cli.js';

const REF = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'reference');
const missing = pythonMissing() ?? (existsSync(GOLDEN) ? null : `golden answers not found at ${GOLDEN}`);
if (missing) console.warn(`bench-reference: skipped (${missing})`);

describe.skipIf(missing !== null)("the benchmark's Python reference", () => {
  it("reproduces every golden answer (forced.json's recorded defect included)", () => {
    const r = spawnSync(PY, [join(REF, 'check_golden.py'), GOLDEN], { encoding: 'utf8' });
    expect(r.stdout.trim().split('\n')).toEqual(['by_line: ok', 'combos: ok', 'forced: ok', 'strings: ok', 'tiny: ok']);
    expect(r.status, r.stderr).toBe(0);
  });

  // forced.json: the reference keeps its defect, cellbudget the intent, so their splits differ.
  // --threads 2: the copy shared with a helper thread where the matrix is read directly (tiny, by_line, strings).
  it.each(['tiny', 'by_line', 'combos', 'strings'].flatMap((name) => ['1', '2'].map((threads) => [name, threads] as const)))(
    'copies the same bytes as split --digest on %s (--threads %s)',
    async (name, threads) => {
      const ref = spawnSync(
        PY,
        [join(REF, 'prepare_split.py'), `${GOLDEN}/${name}.h5ad`, '--config', `${GOLDEN}/${name}.json`, '--json', '--digest'],
        { encoding: 'utf8' },
      );
      expect(ref.status, ref.stderr).toBe(0);
      const ours = await runCli([
        'split',
        `${GOLDEN}/${name}.h5ad`,
        '--config',
        `${GOLDEN}/${name}.json`,
        '--json',
        '--digest',
        '--threads',
        threads,
      ]);
      expect(ours.code, ours.err).toBe(0);
      const a = JSON.parse(ours.out) as Record<string, unknown>;
      const b = JSON.parse(ref.stdout) as Record<string, unknown>;
      expect(a['digests']).toEqual(b['digests']);
      for (const k of ['n_obs', 'src_to_tgt', 'src_labels', 'tgt_labels', 'splits']) expect(a[k], k).toEqual(b[k]);
    },
  );
});
