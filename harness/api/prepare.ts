/**
 * `cellbudget prepare SCENARIO --out DIR`: one GroupedDistribution store per dataset of a
 * built-in scenario. `file:` datasets are read as they are; synthetic ones are generated (once,
 * cached) at the scenario's scale or `scale`, as `run` does.
 */
import { join } from 'node:path';
import { CellbudgetError } from '../../src/core/errors.js';
import { checkTarget } from '../../src/store/fs.js';
import { prepareStore, type PrepareStoreOptions, type PreparedStore } from '../../src/store/prepare.js';
import type { Progress } from '../run/progress.js';
import { defaultCacheDir, materializeDatasets } from '../run/run.js';
import { loadScenarios, type BuiltinScenario } from '../run/scenarios.js';

export interface PrepareScenarioOptions extends Omit<PrepareStoreOptions, 'observer' | 'name'> {
  /** Where synthetic datasets are generated and reused (default: the harness's cache). */
  readonly cacheDir?: string;
  /** Every scenario at this scale instead of its own. */
  readonly scale?: number;
  readonly progress?: Progress;
}

export interface PreparedScenarioStore extends PreparedStore {
  readonly scenario: string;
  readonly dataset: string;
}

/** Where each dataset's store goes: DIR/DATASET.zarr, or DIR/SCENARIO/DATASET.zarr when the argument names several scenarios. */
function targets(scenarios: readonly BuiltinScenario[], outDir: string): Array<{ scenario: BuiltinScenario; index: number; path: string }> {
  const several = scenarios.length > 1;
  return scenarios.flatMap((s) =>
    s.datasets.map((d, index) => ({
      scenario: s,
      index,
      path: several ? join(outDir, s.name, `${d.name}.zarr`) : join(outDir, `${d.name}.zarr`),
    })),
  );
}

/** Prepare every dataset of the built-in scenarios `arg` names (a shipped name or a YAML file). */
export async function prepareScenarioStores(
  arg: string,
  outDir: string,
  opts: PrepareScenarioOptions = {},
): Promise<PreparedScenarioStore[]> {
  const all = loadScenarios(arg);
  const builtin = all
    .filter((s): s is BuiltinScenario => s.kind === 'builtin')
    .map((s) => (opts.scale === undefined ? s : { ...s, scale: opts.scale }));
  if (builtin.length === 0) {
    throw new CellbudgetError('NOTHING_TO_RUN', `${arg} has no built-in scenario: a command scenario has no datasets to prepare.`, {
      value: arg,
      hint: 'Name a scenario with `datasets:` and `pipeline:`, or prepare one file: cellbudget prepare FILE.h5ad --config CONFIG.json --out STORE.zarr.',
    });
  }
  const planned = targets(builtin, outDir);
  // Refuse before generating anything.
  for (const t of planned) checkTarget(t.path, opts.force === true);
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const out: PreparedScenarioStore[] = [];
  for (const s of builtin) {
    const files = await materializeDatasets(s, cacheDir, opts.progress);
    for (const t of planned.filter((p) => p.scenario === s)) {
      const d = files[t.index]!;
      opts.progress?.step(`preparing ${s.name}/${d.name} → ${t.path}`);
      const store = await prepareStore(d.file, s.pipeline, t.path, { ...opts, name: d.name });
      out.push({ ...store, scenario: s.name, dataset: d.name });
    }
  }
  return out;
}
