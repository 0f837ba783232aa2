// The scale ladder without measuring: which rungs a scenario gets, the projection a run gets
// from its rungs, and budgets judged on that projection.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { evaluateBudgets } from '../../../harness/report/budgets.js';
import { mmapFloorBytes, parseLadderFlag, planLadder } from '../../../harness/run/ladder.js';
import { projectionOf, withProjection } from '../../../harness/report/projection.js';
import type { RunRecord, RungRecord, StepRecord } from '../../../src/core/report.js';
import { MEASUREMENT_ENV } from '../../../harness/run/run.js';
import { matchingAxis, scaleSynthetic } from '../../../src/scenario/synthetic.js';
import { syntheticSchema } from '../../../src/scenario/model.js';
import { loadScenarios, type BuiltinScenario } from '../../../harness/run/scenarios.js';
import { isCellbudgetError } from '../../../src/core/errors.js';

const GB = 1e9;
const MB = 1e6;
const dir = mkdtempSync(join(tmpdir(), 'cb-ladder-'));

function scenario(extra: string, size = '132GB', scale = 0.001): BuiltinScenario {
  const path = join(dir, `s${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    path,
    `name: s
scale: ${scale}
datasets:
  - name: a
    synthetic: { size: ${size}, features: 50, cell_lines: 50, drugs: 380, doses: [0.05, 0.5, 5.0], seed: 1 }
pipeline:
  dist_flag_key: control
  src_dist_keys: [cell_line]
  tgt_dist_keys: [drug, dosage]
  data_location: [obsm, X_pca]
  split: { split_by: [drug], ratios: [0.7, 0.15, 0.15], random_state: 42 }
${extra}`,
  );
  return loadScenarios(path)[0] as BuiltinScenario;
}

describe('planLadder', () => {
  const env = { ...MEASUREMENT_ENV };
  test('by default: the scenario’s scale, half and a quarter of it', () => {
    expect(planLadder(scenario(''), undefined, env).scales).toEqual([0.001, 0.0005, 0.00025]);
  });
  test('ladder: N, a list (the scenario’s own scale always in it), off, and scale 1', () => {
    expect(planLadder(scenario('ladder: 4'), undefined, env).scales).toEqual([0.001, 0.0005, 0.00025, 0.000125]);
    expect(planLadder(scenario('ladder: [0.002, 0.0005]'), undefined, env).scales).toEqual([0.002, 0.001, 0.0005]);
    expect(planLadder(scenario('ladder: off'), undefined, env).scales).toEqual([0.001]);
    expect(planLadder(scenario('', '2GB', 1), undefined, env).scales).toEqual([1]);
    expect(planLadder(scenario(''), 2, env).scales).toEqual([0.001, 0.0005]);
  });
  test('a rung whose matrices fall under the pinned mmap threshold is left out and replaced above, with a note', () => {
    // 132 GB of 50 float32 features at 0.0001: 13.2 MB; at 0.00005: 6.6 MB < 8 MiB.
    const p = planLadder(scenario('', '132GB', 0.0001), undefined, env);
    expect(p.scales).toEqual([0.0004, 0.0002, 0.0001]);
    expect(p.notes.join(' ')).toMatch(/rung 0\.00005 left out: its smallest matrix would be 6\.6 MB, under the 8\.3\d MB mmap threshold/);
    expect(p.notes.join(' ')).toMatch(/rung 0\.0004 added above the scenario's scale/);
    expect(mmapFloorBytes(env)).toBe(8 * 1024 * 1024);
    // Without the pin glibc's ceiling (32 MiB) is the floor.
    expect(mmapFloorBytes({})).toBe(32 * 1024 * 1024);
  });
  test('a scenario key that is not a ladder is refused naming the key', () => {
    let err: unknown;
    try {
      scenario('ladder: 1.5');
    } catch (e) {
      err = e;
    }
    expect(isCellbudgetError(err) && err.code).toBe('SCENARIO_INVALID');
    expect(String((err as Error).message)).toMatch(/ladder/);
  });
});

describe('parseLadderFlag', () => {
  test('off, a count, or scales', () => {
    expect(parseLadderFlag('off')).toBe('off');
    expect(parseLadderFlag('3')).toBe(3);
    expect(parseLadderFlag('0.001,0.0005')).toEqual([0.001, 0.0005]);
  });
  test.each(['0', '9', 'two', '0.001', '1.5,0.5', '-1,0.5'])('refuses %j with a usage error', (v) => {
    expect(() => parseLadderFlag(v)).toThrow(/--ladder/);
  });
});

describe('rungs keep the full dataset’s split shares', () => {
  test('a floored rung takes 20 drugs (14/3/3) rather than 10 (7/2/1), as 380 drugs split 266/57/57', () => {
    expect(matchingAxis(10, 10, 380, [0.7, 0.15, 0.15])).toBe(20);
    const s = scaleSynthetic(
      syntheticSchema.parse({
        size: '130GB',
        features: 342,
        cell_lines: 50,
        drugs: 380,
        doses: [0.05, 0.5, 5],
        control_fraction: 0.05,
        seed: 1,
      }),
      0.001,
      'x',
      { split_by: ['drug'], ratios: [0.7, 0.15, 0.15] },
    );
    expect(s.drugs).toBe(20);
    expect(s.cell_lines).toBe(2);
  });

  test('a dataset with fewer split_by values than the floor keeps its own (3 drugs stay 3, its empty test split with them)', () => {
    expect(matchingAxis(3, 10, 3, [0.5, 0.25, 0.25])).toBe(3);
    const s = scaleSynthetic(syntheticSchema.parse({ cells: 20000, features: 4, cell_lines: 2, drugs: 3, doses: [1], seed: 1 }), 0.1, 'x', {
      split_by: ['drug'],
      ratios: [0.5, 0.25, 0.25],
    });
    expect(s.drugs).toBe(3);
  });
});

function step(label: string, peak: number, end: number, live: number): StepRecord {
  const [name, dataset] = label.split(' ');
  return {
    dataset: dataset ?? null,
    name: name ?? label,
    label,
    start_ms: 0,
    end_ms: 1,
    peak_bytes: peak,
    end_bytes: end,
    heap_used_bytes: 0,
    external_bytes: 0,
    array_buffers_bytes: 0,
    wasm_bytes: 0,
    live_bytes: live,
    gc_count: 0,
    gc_pause_ms: 0,
  };
}

/** A run whose every figure is fixed + scale × full, at `scale`, and its rungs at the given scales. */
function affineRun(scales: number[], fixed = 3 * MB): { run: RunRecord; rungs: RungRecord[] } {
  const plan: Array<[string, number, number, number]> = [
    ['load a', 132, 132, 131],
    ['prepare a', 262, 262, 261],
    ['delete-raw a', 262, 131, 130],
  ];
  const at = (s: number): { steps: StepRecord[]; peak: number; final: number; live: number } => {
    const steps = plan.map(([l, p, e, v]) => step(l, fixed + p * GB * s, fixed + e * GB * s, v * GB * s));
    return { steps, peak: Math.max(...steps.map((x) => x.peak_bytes)), final: steps.at(-1)!.end_bytes, live: steps.at(-1)!.live_bytes };
  };
  const main = at(scales[0]!);
  const run: RunRecord = {
    scenario: 's',
    strategy: 'sequential',
    scale: scales[0]!,
    method: 'kernel-hwm',
    status: 'ok',
    baseline_bytes: 150 * MB,
    peak_bytes: main.peak,
    final_bytes: main.final,
    final_live_bytes: main.live,
    duration_ms: 1,
    steps: main.steps,
    budgets: [],
    retained: {},
    samples: [],
    env: {},
  };
  const rungs = scales.map((s): RungRecord => {
    const x = at(s);
    return {
      scale: s,
      status: 'ok',
      peak_bytes: x.peak,
      final_bytes: x.final,
      final_live_bytes: x.live,
      baseline_bytes: 150 * MB,
      duration_ms: 1,
      steps: x.steps.map((st) => ({ peak_bytes: st.peak_bytes, end_bytes: st.end_bytes, live_bytes: st.live_bytes })),
    };
  });
  return { run, rungs };
}

describe('withProjection', () => {
  test('the run and each step at full scale, the rungs and the naive figure kept for diagnosis', () => {
    const { run, rungs } = affineRun([0.001, 0.0005, 0.00025]);
    const r = withProjection(run, rungs, ['a note']);
    const p = r.projected!;
    expect(p.method).toBe('ladder');
    expect(p.peak_bytes).toBeCloseTo(262 * GB + 3 * MB, -4);
    expect(p.final_bytes).toBeCloseTo(131 * GB + 3 * MB, -4);
    expect(p.kept_bytes).toBeCloseTo(130 * GB, -4);
    expect(p.fixed_bytes).toBeCloseTo(3 * MB, -2);
    expect(p.scales).toEqual([0.001, 0.0005, 0.00025]);
    expect(p.linear).toBe(true);
    expect(p.interval.peak[0]).toBeLessThan(p.peak_bytes);
    expect(p.interval.final[1]).toBeGreaterThan(p.final_bytes);
    expect(r.steps.map((s) => Math.round(s.projected!.peak_bytes / GB))).toEqual([132, 262, 262]);
    expect(r.steps[2]!.projected!.final_bytes).toBeCloseTo(131 * GB + 3 * MB, -4);
    expect(r.ladder).toMatchObject({ scales: [0.001, 0.0005, 0.00025], notes: ['a note'] });
    // What ÷ scale would say: the 3 MB fixed part multiplied by 1000.
    expect(r.naive_full_scale!.peak_bytes).toBeCloseTo(262 * GB + 3 * GB, -4);
  });

  test('a rung that died or has other steps is left out of the fit', () => {
    const { run, rungs } = affineRun([0.001, 0.0005, 0.00025]);
    const broken: RungRecord[] = [rungs[0]!, { ...rungs[1]!, status: 'died' }, { ...rungs[2]!, steps: rungs[2]!.steps.slice(1) }];
    const p = withProjection(run, broken).projected!;
    expect(p.method).toBe('single-rung');
    expect(p.peak_bytes).toBeCloseTo(run.peak_bytes / run.scale, -3);
  });

  test('a run at scale 1 is its own projection; a run without rungs is measured ÷ scale, said so', () => {
    const { run } = affineRun([1]);
    expect(projectionOf(run)).toMatchObject({
      method: 'measured',
      peak_bytes: run.peak_bytes,
      interval: { peak: [run.peak_bytes, run.peak_bytes] },
    });
    const { run: scaled } = affineRun([0.01]);
    expect(projectionOf(scaled)).toMatchObject({ method: 'single-rung', peak_bytes: scaled.peak_bytes / 0.01 });
  });
});

describe('budgets on the projection', () => {
  const { run, rungs } = affineRun([0.001, 0.0005, 0.00025]);
  const r = withProjection(run, rungs);
  const p = r.projected!;
  test('ok, exceeded (by how much, at which step), or uncertain when the interval straddles the limit', () => {
    const [ok] = evaluateBudgets(r, { peakBytes: p.interval.peak[1] + GB });
    expect(ok).toMatchObject({ verdict: 'ok', ok: true, actual_bytes: p.peak_bytes, interval: p.interval.peak, step: 'prepare a' });
    expect(ok!.message).toMatch(/projected from scales 0\.001, 0\.0005, 0\.00025/);
    const [over] = evaluateBudgets(r, { peakBytes: p.interval.peak[0] - GB });
    expect(over).toMatchObject({ verdict: 'exceeded', ok: false });
    expect(over!.message).toMatch(/exceeds the budget of .* by .* at step 'prepare a'/);
    const [unsure] = evaluateBudgets(r, { peakBytes: p.peak_bytes });
    expect(unsure).toMatchObject({ verdict: 'uncertain', ok: true });
    expect(unsure!.message).toMatch(/uncertain against the budget .* its interval straddles the limit/);
  });
  test('a ladder that is not a line makes every verdict uncertain', () => {
    const bent = rungs.map((g, i) => (i === 2 ? { ...g, peak_bytes: g.peak_bytes + 40 * MB } : g));
    const b = withProjection(run, bent);
    expect(b.projected!.linear).toBe(false);
    const [v] = evaluateBudgets(b, { peakBytes: 10 * GB });
    expect(v).toMatchObject({ verdict: 'uncertain' });
    expect(v!.message).toMatch(/not linear/);
  });
});
