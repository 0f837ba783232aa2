// Where the tests find their files: the fixtures committed in fixtures/ (written by Python
// anndata/h5py, present in every checkout) and the reference pipeline's answers in
// shared/golden (beside a developer's checkout and in CI; a user's clone has none).
import { spawnSync } from 'node:child_process';
import { describe, it } from 'vitest';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { underCi } from '../../harness/run/progress.js';

export const PY = process.env['CELLBUDGET_PYTHON'] ?? '/usr/bin/python3';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** fixtures/: reader/ (one file per encoding), datasets/ (perturbation files + their configs). */
export const FIXTURES = join(repo, 'fixtures');
export const READER_FIXTURES = join(FIXTURES, 'reader');
export const DATASETS = join(FIXTURES, 'datasets');

/** shared/golden beside the checkout: real anndata files with the reference pipeline's answers. */
export const GOLDEN = process.env['CELLBUDGET_GOLDEN'] ?? resolve(repo, '..', 'shared', 'golden');

/** CI always has the reference answers: a run there without them must fail, not skip. */
const inCi = underCi();

/** Whether the reference answers are here; tests that judge fidelity skip without them. */
export const goldenPresent: boolean = existsSync(join(GOLDEN, 'tiny.json'));

if (!goldenPresent && inCi) {
  throw new Error(
    `CI is set but the reference answers are missing: ${GOLDEN} has no tiny.json. CI must run with shared/golden beside the checkout (or CELLBUDGET_GOLDEN pointing at it).`,
  );
}

/** Why Python with anndata cannot run here, or null when it can. */
export function pythonMissing(): string | null {
  const r = spawnSync(PY, ['-c', 'import h5py, anndata, scipy'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PY} with h5py, anndata and scipy is not available (install Debian's python3-anndata)`;
}

/** The committed reader fixtures (windows, kinds, legacy07, pre07, lzf, storage.json). */
export function fixtureDir(): string {
  return READER_FIXTURES;
}

type Suite = (name: string, fn: () => void) => void;
function absent(name: string): void {
  console.info(`skipping '${name}': the reference answers (${GOLDEN}) are absent; set CELLBUDGET_GOLDEN to run it`);
  describe.skip(`${name} (needs shared/golden)`, () => {
    it.skip('the reference answers are not beside this checkout', () => {});
  });
}
const withoutGolden = Object.assign((name: string, _fn: () => void) => absent(name), {
  each: (_cases: readonly unknown[]) => (name: string, _fn: (...args: never[]) => void) => absent(name),
});
/**
 * `describe` for suites that judge fidelity against shared/golden: without it the suite is
 * one skipped line and its body (which reads the answers) never runs.
 */
export const describeGolden = (goldenPresent ? describe : withoutGolden) as Suite & { each: typeof describe.each };
