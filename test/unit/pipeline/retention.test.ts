// What the pipeline keeps must not keep what it was made from: a plan (and so a
// GroupedDistribution and its splits) that held its source would hold the raw dataset until
// the GroupedDistribution is deleted, and the strategies' "delete raw" step would free nothing.
import { describe, expect, it } from 'vitest';
import { forceGc } from '../../../src/memory/gc.js';
import { parsePipelineConfig } from '../../../src/pipeline/config.js';
import { planGroups, prepareData } from '../../../src/pipeline/grouping.js';
import { assignSplits, splitGrouped } from '../../../src/pipeline/splitter.js';
import { withH5ad } from '../../../src/h5ad/source.js';
import { loadDataset } from '../../../src/pipeline/load.js';
import { readFileSync } from 'node:fs';
import { DATASETS } from '../../helpers/fixtures.js';
import { h5Ready } from '../../../src/h5ad/file.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

const config = parsePipelineConfig(JSON.parse(readFileSync(`${DATASETS}/combos.config.json`, 'utf8')) as unknown);

/** Collected once nothing else refers to it: a WeakRef is cleared after the job that made it. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    await new Promise((r) => setTimeout(r, 0));
    forceGc();
  }
  return ref.deref() === undefined;
}

describe('the pipeline keeps no reference to its source', () => {
  it('a plan, a GroupedDistribution and its splits let the loaded dataset go', async () => {
    const kept = withH5ad(`${DATASETS}/combos.h5ad`, (file) => {
      const loaded = loadDataset(file, config);
      const gd = prepareData(config, loaded);
      const plan = planGroups(config, loaded);
      const splits = splitGrouped(gd, assignSplits(gd.plan, config.split));
      return { gd, plan, splits, ref: new WeakRef(loaded) };
    });
    expect(await collected(kept.ref)).toBe(true);
    // Still usable after the source is gone, conditions (made on first use) included.
    expect(kept.gd.plan.conditions.length).toBe(kept.gd.tgtData.length);
    expect(kept.plan.conditions.length).toBeGreaterThan(0);
    expect(kept.splits.train.tgtData.length + kept.splits.test.tgtData.length + kept.splits.val.tgtData.length).toBeGreaterThan(0);
  });
});
