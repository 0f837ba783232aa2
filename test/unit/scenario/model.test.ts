/**
 * One scenario model: the pipeline section is the pipeline's own schema and checks (judged
 * when the scenario loads, before anything runs), a synthetic dataset has one set of defaults,
 * and a report carries the scenario as its runs saw it, which the simulator reads back.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SYNTH_DEFAULTS } from '../../../src/h5ad/synth.js';
import { loadScenarios } from '../../../harness/run/scenarios.js';
import { expandedScenario, scenarioModel, type BuiltinScenario } from '../../../src/scenario/model.js';
import { SYNTHETIC_DEFAULTS } from '../../../src/scenario/synthetic.js';
import { datasetsFromScenario } from '../../../src/simulator/inputs.js';
import { scenarioOfRun } from '../../../src/simulator/predict.js';

const dir = mkdtempSync(join(tmpdir(), 'cb-scenario-model-'));
const originalFix = (): BuiltinScenario => loadScenarios('original-fix')[0] as BuiltinScenario;

describe('the pipeline section is judged at load, with the pipeline’s own checks', () => {
  test('bad ratios in a scenario are RATIOS_INVALID naming its file, before any run', () => {
    const p = join(dir, 'ratios.yaml');
    writeFileSync(p, readFileSync('scenarios/quick.yaml', 'utf8').replace('ratios: [0.7, 0.15, 0.15]', 'ratios: [0.7, 0.2, 0.2]'));
    expect(() => loadScenarios(p)).toThrow(expect.objectContaining({ code: 'RATIOS_INVALID', message: expect.stringContaining(p) }));
  });

  test('a loaded scenario’s pipeline is a validated config (defaults of the pipeline schema applied)', () => {
    const s = originalFix();
    expect(s.pipeline.split.holdout_combinations).toBe(false);
    expect(s.pipeline.split.force_training_values).toEqual({});
    expect(s.pipeline.split.ratios).toEqual([0.7, 0.15, 0.15]);
  });
});

describe('one synthetic spec, one set of defaults', () => {
  test('a dataset that says only its size gets the spec’s defaults; the generator’s are the same', () => {
    const p = join(dir, 'bare.yaml');
    writeFileSync(p, readFileSync('scenarios/quick.yaml', 'utf8').replace(/synthetic: \{[^}]*seed: 1 \}/, 'synthetic: { size: 132GB }'));
    const [s] = loadScenarios(p) as BuiltinScenario[];
    const { size: _size, ...synthetic } = s!.datasets[0]!.synthetic!;
    expect(synthetic).toEqual({ ...SYNTHETIC_DEFAULTS, doses: [...SYNTHETIC_DEFAULTS.doses] });
    expect(SYNTH_DEFAULTS).toMatchObject({
      features: SYNTHETIC_DEFAULTS.features,
      cellLines: SYNTHETIC_DEFAULTS.cell_lines,
      drugs: SYNTHETIC_DEFAULTS.drugs,
      doses: SYNTHETIC_DEFAULTS.doses,
      controlFraction: SYNTHETIC_DEFAULTS.control_fraction,
      dtype: SYNTHETIC_DEFAULTS.dtype,
      compression: SYNTHETIC_DEFAULTS.compression,
      format: SYNTHETIC_DEFAULTS.representation,
      density: SYNTHETIC_DEFAULTS.density,
      seed: SYNTHETIC_DEFAULTS.seed,
    });
  });
});

describe('the report carries the scenario as its runs saw it', () => {
  test('expandedScenario round-trips through scenarioModel: the same datasets and pipeline', () => {
    const s = originalFix();
    const back = scenarioModel(JSON.parse(JSON.stringify(expandedScenario(s))))!;
    expect(back.datasets).toEqual(s.datasets);
    expect(back.pipeline).toEqual(s.pipeline);
    expect(datasetsFromScenario(back, { scale: 1, documented: true })).toEqual(datasetsFromScenario(s, { scale: 1, documented: true }));
  });

  test('the simulator reads `expanded` (a run of one dataset, as --only-dataset makes) rather than the definition', () => {
    const s = originalFix();
    const one: BuiltinScenario = { ...s, name: `${s.name}@dataset_2`, datasets: s.datasets.filter((d) => d.name === 'dataset_2') };
    const report = {
      scenarios: [{ name: one.name, scale: one.scale, definition: s.definition, expanded: expandedScenario(one), n_datasets: 1 }],
    };
    expect(scenarioOfRun(report, { scenario: one.name })!.datasets.map((d) => d.name)).toEqual(['dataset_2']);
  });

  test('a report from before `expanded`: its definition, family expanded to N as the loader expands it', () => {
    const members = loadScenarios('n-datasets') as BuiltinScenario[];
    const n3 = members.find((m) => m.name === 'n-datasets-N3')!;
    const report = { scenarios: [{ name: n3.name, scale: n3.scale, definition: n3.definition, family: 'n-datasets', n_datasets: 3 }] };
    const model = scenarioOfRun(report, { scenario: n3.name })!;
    expect(model.datasets).toEqual(n3.datasets);
  });
});
