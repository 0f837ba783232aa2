/**
 * On every shipped scenario (family members up to N = 2, synthetic datasets at a small
 * scale), streaming retains what selective retains, and so it does in any processing order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { materializeDatasets } from '../../../harness/run/run.js';
import { loadScenarios, shippedScenarioNames, type BuiltinScenario } from '../../../harness/run/scenarios.js';
import { openH5ad } from '../../../src/h5ad/source.js';
import { parsePipelineConfig } from '../../../src/pipeline/config.js';
import { retainedDigests, runStrategy, type StrategyInput } from '../../../src/strategies/index.js';
import type { StepObserver } from '../../../src/core/names.js';
import { parseBytes } from '../../../src/core/units.js';
import { h5Ready } from '../../../src/h5ad/file.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

const SCALE = 0.00005; // 132 GB -> 6.6 MB
const observer: StepObserver = { step: (_dataset, _name, fn) => fn() };
const cache = mkdtempSync(join(tmpdir(), 'cb-streaming-scn-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

function shipped(): BuiltinScenario[] {
  const byName = new Map<string, BuiltinScenario>();
  for (const arg of shippedScenarioNames()) {
    for (const s of loadScenarios(arg)) {
      if (s.kind !== 'builtin' || (s.family && s.family.n > 2)) continue;
      const synthetic = s.datasets.some((d) => d.synthetic);
      // About 6.6 MB per dataset whatever its full size (a 2 GB dataset at 0.00005 has 73 cells).
      const largest = Math.max(...s.datasets.map((d) => parseBytes(d.synthetic?.size ?? 0, 'size')));
      byName.set(s.name, synthetic ? { ...s, scale: Math.min(s.scale, (SCALE * 132e9) / Math.max(largest, 132e9 * SCALE)) } : s);
    }
  }
  return [...byName.values()];
}

describe('streaming on the shipped scenarios', () => {
  const scenarios = shipped();

  it('covers the shipped built-in scenarios', () => {
    const names = scenarios.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['original-fix', 'n-datasets-N1', 'n-datasets-N2', 'golden-files']));
  });

  it.each(scenarios.map((s) => [s.name, s] as const))('%s: streaming retains what selective retains', async (_name, scenario) => {
    const files = await materializeDatasets(scenario, cache);
    const inputs: StrategyInput[] = files.map((f) => ({ name: f.name, open: () => openH5ad(f.file) }));
    const config = parsePipelineConfig(scenario.pipeline, scenario.name);
    const run = (strategy: 'selective' | 'streaming', order?: string[]) =>
      retainedDigests(runStrategy(strategy, inputs, config, observer, { gc: () => {}, ...(order ? { order } : {}) }).retained);
    const selective = run('selective');
    expect(Object.keys(selective)).toEqual(files.map((f) => f.name));
    expect(Object.keys(selective[files[0]!.name]!)).toEqual(['train', 'val', 'test']);
    expect(run('streaming')).toEqual(selective);
    if (inputs.length > 1) expect(run('streaming', inputs.map((i) => i.name).reverse())).toEqual(selective);
  });
});
