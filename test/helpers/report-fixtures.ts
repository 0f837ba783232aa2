/**
 * Hand-built reports for the renderer tests. The figures follow the original fix's table
 * (docs/reference-semantics.md#the-strategies) at full scale (two 132 GB datasets, peak 332 GB,
 * ~130 GB kept); they test rendering, not measurement.
 */
import type { BudgetResult, Report, RunRecord, RungRecord, ScenarioSummary, StepRecord } from '../../src/core/report.js';
import { withProjection } from '../../harness/report/projection.js';
import { evaluateBudgets } from '../../harness/report/budgets.js';

const GB = 1e9;
/** What each rung holds that does not grow with the data (the fixtures' runs are exactly affine). */
export const FIXED_BYTES = 0;

/** [label, duration ms, peak GB at full scale, end GB at full scale] */
export type StepPlan = [string, number, number, number];

export const PLANS: Record<string, StepPlan[]> = {
  eager: [
    ['load tahoe', 900, 132, 132],
    ['load sciplex', 900, 264, 264],
    ['prepare tahoe', 1200, 394, 394],
    ['prepare sciplex', 1200, 524, 524],
    ['split tahoe', 300, 526, 520],
    ['split sciplex', 300, 522, 520],
    ['retain', 200, 520, 260],
  ],
  sequential: [
    ['load tahoe', 900, 132, 132],
    ['prepare tahoe', 1200, 262, 262],
    ['delete-raw tahoe', 50, 262, 130],
    ['split tahoe', 300, 132, 100],
    ['load sciplex', 900, 232, 232],
    ['prepare sciplex', 1200, 332, 332],
    ['delete-raw sciplex', 50, 332, 200],
    ['split sciplex', 300, 200, 130],
  ],
  streaming: [
    ['plan tahoe', 300, 4, 3],
    ['stream tahoe', 2000, 104, 100],
    ['plan sciplex', 300, 103, 101],
    ['stream sciplex', 2000, 131, 128],
  ],
};

function runFrom(
  scenario: string,
  strategy: string,
  plan: StepPlan[],
  scale: number,
  budgets: { peak?: number; final?: number },
  opts: { died?: number } = {},
): RunRecord {
  const steps: StepRecord[] = [];
  const samples: Array<[number, number]> = [];
  let t = 0;
  let prev = 0;
  const stop = opts.died ?? plan.length;
  for (const [i, [label, dur, peakGb, endGb]] of plan.entries()) {
    if (i >= stop) break;
    const [name, dataset] = label.split(' ');
    const peak = FIXED_BYTES + peakGb * GB * scale;
    const end = FIXED_BYTES + endGb * GB * scale;
    // Samples every 10 ms: ramp to ~97% of the peak (sampling misses the top), then settle.
    for (let s = 0; s < dur; s += 10) {
      const f = s / dur;
      const v = f < 0.7 ? prev + (peak * 0.97 - prev) * (f / 0.7) : peak * 0.97 + (end - peak * 0.97) * ((f - 0.7) / 0.3);
      samples.push([t + s, Math.max(0, v)]);
    }
    steps.push({
      dataset: dataset ?? null,
      name: name ?? label,
      label,
      start_ms: t,
      end_ms: t + dur,
      peak_bytes: peak,
      end_bytes: end,
      heap_used_bytes: 9e6 + i * 1e5,
      external_bytes: end * 0.9,
      array_buffers_bytes: end * 0.88,
      wasm_bytes: 16.7e6,
      live_bytes: end * 0.85,
      gc_count: 3,
      gc_pause_ms: 1.5,
    });
    t += dur;
    prev = end;
  }
  const died = opts.died !== undefined;
  const peakBytes = Math.max(0, ...steps.map((s) => s.peak_bytes));
  const finalBytes = steps[steps.length - 1]?.end_bytes ?? 0;
  const results: BudgetResult[] = [];
  if (budgets.peak !== undefined) {
    const actual = (peakBytes - FIXED_BYTES) / scale + FIXED_BYTES;
    const at = steps.reduce<StepRecord | undefined>((b, s) => (!b || s.peak_bytes > b.peak_bytes ? s : b), undefined);
    results.push({
      metric: 'peak',
      limit_bytes: budgets.peak,
      actual_bytes: actual,
      ok: actual <= budgets.peak && !died,
      ...(at ? { step: at.label } : {}),
      message: `${scenario} / ${strategy}: peak ${Math.round(actual / GB)} GB (full scale) ${actual <= budgets.peak ? 'within' : 'exceeds the budget of'} ${budgets.peak / GB} GB${at ? ` at step '${at.label}'` : ''}.`,
    });
  }
  if (budgets.final !== undefined) {
    const actual = (finalBytes - FIXED_BYTES) / scale + FIXED_BYTES;
    results.push({
      metric: 'final',
      limit_bytes: budgets.final,
      actual_bytes: actual,
      ok: actual <= budgets.final && !died,
      message: `${scenario} / ${strategy}: final ${Math.round(actual / GB)} GB (full scale) ${actual <= budgets.final ? 'within' : 'exceeds the budget of'} ${budgets.final / GB} GB & <more>.`,
    });
  }
  const run: RunRecord = {
    scenario,
    strategy: strategy as RunRecord['strategy'],
    scale,
    method: 'kernel-hwm',
    status: died ? 'died' : 'ok',
    ...(died
      ? {
          failure: {
            reason: 'child killed by SIGKILL (out of memory?)',
            step: plan[stop]?.[0] ?? '?',
            signal: 'SIGKILL',
            exit_code: null,
            stderr_tail: 'FATAL ERROR: \u001b[31mheap <limit>\u001b[0m & "oom"',
          },
        }
      : {}),
    baseline_bytes: 48e6,
    peak_bytes: peakBytes,
    final_bytes: finalBytes,
    final_live_bytes: finalBytes * 0.85,
    duration_ms: t,
    steps,
    budgets: results,
    retained: {},
    samples,
    env: { MALLOC_ARENA_MAX: '2' },
  };
  return died ? run : project(run, budgets);
}

/** The run's ladder (its scale, half, a quarter; exactly affine), its projection, and budgets judged on it. */
function project(run: RunRecord, budgets: { peak?: number; final?: number }): RunRecord {
  const rungs: RungRecord[] = [1, 0.5, 0.25].map((f) => {
    const at = (b: number): number => FIXED_BYTES + (b - FIXED_BYTES) * f;
    return {
      scale: run.scale * f,
      status: 'ok',
      peak_bytes: at(run.peak_bytes),
      final_bytes: at(run.final_bytes),
      final_live_bytes: run.final_live_bytes * f,
      baseline_bytes: run.baseline_bytes,
      duration_ms: run.duration_ms * f,
      steps: run.steps.map((st) => ({ peak_bytes: at(st.peak_bytes), end_bytes: at(st.end_bytes), live_bytes: st.live_bytes * f })),
    };
  });
  const projected = withProjection(run, rungs);
  const judged = evaluateBudgets(projected, {
    ...(budgets.peak !== undefined ? { peakBytes: budgets.peak } : {}),
    ...(budgets.final !== undefined ? { finalBytes: budgets.final } : {}),
  });
  // Keep the fixtures' own messages (they carry text the renderers must escape).
  projected.budgets = judged.map((b) => ({ ...b, message: run.budgets.find((x) => x.metric === b.metric)?.message ?? b.message ?? '' }));
  return projected;
}

/** The fixture run re-projected after its figures changed (scaleRun). */
export function reproject(run: RunRecord): RunRecord {
  const budgets: { peak?: number; final?: number } = {};
  for (const b of run.budgets) {
    if (b.metric === 'peak') budgets.peak = b.limit_bytes;
    if (b.metric === 'final') budgets.final = b.limit_bytes;
  }
  const { projected: _p, ladder: _l, naive_full_scale: _n, ...bare } = run;
  return run.status === 'ok' ? project({ ...bare, steps: bare.steps.map(({ projected: _s, ...st }) => st) }, budgets) : run;
}

export const SCALE = 0.001;
export const MAIN = 'tahoe-sciplex-2x132GB';

/** A report with one scenario × three strategies (eager fails its peak budget) and a family with a died run. */
export function sampleReport(): Report {
  const budgets = { peak: 400 * GB, final: 150 * GB };
  const runs: RunRecord[] = [
    runFrom(MAIN, 'eager', PLANS['eager'] ?? [], SCALE, budgets),
    runFrom(MAIN, 'sequential', PLANS['sequential'] ?? [], SCALE, budgets),
    runFrom(MAIN, 'streaming', PLANS['streaming'] ?? [], SCALE, budgets),
  ];
  const scenarios: ScenarioSummary[] = [
    {
      name: MAIN,
      scale: SCALE,
      definition: {
        datasets: [
          { name: 'tahoe', size: '132GB' },
          { name: 'sciplex', size: '132GB' },
        ],
        budgets: { peak: '400GB', final: '150GB' },
      },
      n_datasets: 2,
    },
  ];
  for (const n of [2, 3, 4]) {
    const name = `n-datasets-N${n}`;
    scenarios.push({ name, scale: SCALE, definition: { family: { n: [2, 3, 4] } }, family: 'n-datasets', n_datasets: n });
    const seq: StepPlan[] = [];
    const eag: StepPlan[] = [];
    for (let i = 0; i < n; i++) {
      seq.push([`load d${i + 1}`, 400, 100 + i * 30, 100 + i * 30], [`prepare d${i + 1}`, 500, 200 + i * 30, 60 + i * 30]);
      eag.push([`load d${i + 1}`, 400, 100 * (i + 1), 100 * (i + 1)]);
    }
    for (let i = 0; i < n; i++) eag.push([`prepare d${i + 1}`, 500, 100 * n + 100 * (i + 1), 100 * n + 100 * (i + 1)]);
    runs.push(runFrom(name, 'sequential', seq, SCALE, { peak: 400 * GB }));
    runs.push(runFrom(name, 'eager', eag, SCALE, { peak: 400 * GB }, n === 4 ? { died: 6 } : {}));
  }
  return {
    version: 1,
    created: '2026-11-28T13:00:00.000Z',
    environment: {
      node: 'v20.20.2',
      platform: 'linux',
      kernel: '6.1.0-test',
      arch: 'x64',
      cpus: 2,
      total_memory_bytes: 24 * 2 ** 30,
      method: 'kernel-hwm',
      cellbudget: '0.1.0',
    },
    scenarios,
    runs,
  };
}

/** A copy of `report` with every figure of one run multiplied by `factor`. */
export function scaleRun(report: Report, scenario: string, strategy: string, factor: number): Report {
  const copy = structuredClone(report);
  copy.runs = copy.runs.map((r) => {
    if (r.scenario !== scenario || r.strategy !== strategy) return r;
    r.peak_bytes *= factor;
    r.final_bytes *= factor;
    r.final_live_bytes *= factor;
    for (const s of r.steps) {
      s.peak_bytes *= factor;
      s.end_bytes *= factor;
      s.live_bytes *= factor;
    }
    return reproject(r);
  });
  return copy;
}
