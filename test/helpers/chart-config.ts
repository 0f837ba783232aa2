// Checks of the chart configuration function report.html runs: evaluated in an empty node:vm
// context on every spec the reports produce, every callback called; TypeScript's checker finds
// no undeclared name. Shared by the test of the source and the test of the built copy.
import { createContext, runInContext } from 'node:vm';
import ts from 'typescript';
import { expect } from 'vitest';
import { chartConfigFromSpec } from '../../harness/report/chart-config.js';
import { reportChartSpecs, timelineSpec, type ChartSpec, type LinesSpec } from '../../harness/report/chart-spec.js';
import { MAIN, sampleReport } from './report-fixtures.js';

type Fn = (...args: unknown[]) => unknown;
type Config = { type: string; data: unknown; options: Record<string, unknown>; plugins: Array<Record<string, unknown>> };

const GB = 1e9;

/** Every spec the reports produce (timelines, peak/final bars, families; with and without failures), a prediction, a secondary axis. */
export function everySpec(): ChartSpec[] {
  const specs = reportChartSpecs(sampleReport()).map((c) => c.spec);
  const failed = sampleReport();
  Object.assign(failed.runs.find((r) => r.scenario === MAIN)!, { status: 'died', failure: { step: 'prepare tahoe', reason: 'killed' } });
  specs.push(...reportChartSpecs(failed).map((c) => c.spec));
  const empty = sampleReport();
  Object.assign(empty.runs[0]!, { steps: [], samples: [], budgets: [], status: 'error', peak_bytes: 0, final_bytes: 0 });
  empty.runs = [empty.runs[0]!];
  empty.scenarios = empty.scenarios.slice(0, 1);
  specs.push(...reportChartSpecs(empty).map((c) => c.spec));
  const predicted: LinesSpec = timelineSpec({
    title: 'predicted',
    scale: 1,
    budgets: [{ metric: 'peak', limit_bytes: 300 * GB }],
    series: [
      {
        label: 'sequential (predicted)',
        strategy: 'sequential',
        predicted: true,
        points: [
          { t_ms: 0, bytes: 0, kind: 'step' },
          { t_ms: 1000, bytes: 200 * GB, kind: 'peak', step: 'load d1' },
        ],
      },
    ],
  });
  specs.push(predicted, { ...predicted, id: 'y2', y2: { label: 'measured (MB)', factor: 1000 } });
  return specs;
}

/** Chart.js as far as the callbacks see it; `drawn` counts the canvas calls each hook made. */
function standInChart(spec: ChartSpec, drawn: Map<string, number>, hook: string) {
  const state: Record<string | symbol, unknown> = {};
  const ctx = new Proxy(state, {
    get: (t, k) =>
      k === 'measureText'
        ? (s: string) => ({ width: String(s).length * 7 })
        : k in t
          ? t[k]
          : () => drawn.set(hook, (drawn.get(hook) ?? 0) + 1),
    set: (t, k, v) => ((t[k] = v), true),
  });
  const scale = { getPixelForValue: (v: number) => 500 - v, left: 80, right: 1180, top: 60, bottom: 500 };
  const hidden = new Set<number>();
  return {
    ctx,
    width: 1200,
    height: 600,
    chartArea: { left: 80, right: 1180, top: 60, bottom: 500 },
    scales: { x: { ...scale, getPixelForValue: (v: number) => 80 + v * 10 }, y: scale },
    getDatasetMeta: (i: number) => ({
      hidden: false,
      data:
        spec.kind === 'bars' ? (spec.groups[i]?.values ?? []).map((_, ci) => ({ x: 150 + ci * 300, y: 200, width: 60, base: 500 })) : [],
    }),
    isDatasetVisible: (i: number) => !hidden.has(i),
    setDatasetVisibility: (i: number, v: boolean) => (v ? hidden.delete(i) : hidden.add(i)),
    update: () => undefined,
    hidden,
  };
}

/** Every function in a configuration, with its key and where it sits. */
function functionsIn(v: unknown, path = 'config', seen = new Set<unknown>()): Array<{ path: string; key: string; fn: Fn }> {
  if (v === null || typeof v !== 'object' || seen.has(v)) return [];
  seen.add(v);
  return Object.entries(v).flatMap(([k, x]) =>
    typeof x === 'function' ? [{ path: `${path}.${k}`, key: k, fn: x as Fn }] : functionsIn(x, `${path}.${k}`, seen),
  );
}

const PLUGIN_HOOKS = new Set(['beforeDraw', 'beforeDatasetsDraw', 'afterDatasetsDraw', 'afterDraw']);

/** Calls one callback the way Chart.js would, with stand-ins; checks what it returns. Unknown callbacks fail the test. */
function call(spec: ChartSpec, key: string, fn: Fn, drawn: Map<string, number>, hookName: string): void {
  const chart = standInChart(spec, drawn, hookName);
  if (PLUGIN_HOOKS.has(key)) {
    fn(chart);
  } else if (key === 'title') {
    expect(fn([{ dataset: { label: 'eager' } }])).toBe('eager');
  } else if (key === 'label') {
    if (spec.kind === 'bars')
      expect(json(fn({ raw: spec.groups[0]?.values[0], dataIndex: 0, datasetIndex: 0 }))).toEqual(spec.groups[0]?.tips[0] ?? '');
    else
      expect(json(fn({ raw: spec.datasets[0]?.points[0] ?? null, dataIndex: 0, datasetIndex: 0 }))).toEqual(
        spec.datasets[0]?.points[0]?.tip ?? '',
      );
  } else if (key === 'generateLabels') {
    const labels = json(fn(chart)) as Array<{ text: string }>;
    const expected =
      spec.kind === 'bars' ? [...spec.groups, ...spec.categoryBudgets].map((g) => g.label) : spec.datasets.map((d) => d.label);
    expect(labels.map((l) => l.text)).toEqual(expected);
  } else if (key === 'onClick') {
    fn(null, { datasetIndex: 0 }, { chart });
    fn(null, {}, { chart });
    expect([...chart.hidden]).toEqual([0]);
  } else if (key === 'afterBuildTicks') {
    const axis = { ticks: [{ value: 2 }, { value: 2.5 }, { value: 3 }] };
    fn(axis);
    expect(axis.ticks.map((t) => t.value)).toEqual([2, 3]);
  } else {
    throw new Error(`no stand-in call for the callback '${key}': add one here so the check covers it`);
  }
}

/** A value from the vm's realm as plain JSON (functions dropped), comparable with one from Node. */
function json(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'function' ? '[function]' : x)));
}

/** The shipped script evaluated where nothing but JavaScript's own globals exists. */
function evaluateBare(script: string): (spec: ChartSpec, interactive: boolean) => Config {
  const fn = runInContext(script, createContext(Object.create(null)), { filename: 'report.html#chartConfigFromSpec' }) as unknown;
  expect(typeof fn).toBe('function');
  return fn as (spec: ChartSpec, interactive: boolean) => Config;
}

export function checkShipped(script: string): void {
  const shipped = evaluateBare(script);
  const specs = everySpec();
  const drawn = new Map<string, number>();
  const keys = new Set<string>();
  for (const spec of specs) {
    for (const interactive of [false, true]) {
      const where = `${spec.id} (${interactive ? 'interactive' : 'static'})`;
      const config = shipped(spec, interactive);
      expect(config.type, where).toBe(spec.kind === 'bars' ? 'bar' : 'line');
      // The page draws what the PNG draws.
      expect(json(config), where).toEqual(json(chartConfigFromSpec(spec, interactive)));
      for (const { path, key, fn } of functionsIn(config)) {
        keys.add(key);
        const plugin = PLUGIN_HOOKS.has(key) ? String(config.plugins.find((p) => p[key] === fn)?.['id']) : '';
        try {
          call(spec, key, fn, drawn, `${plugin}.${key}`);
        } catch (e) {
          throw new Error(`${where}: ${path} threw: ${(e as Error).message}`, { cause: e });
        }
      }
    }
  }
  // Not vacuous: the specs reached every callback Chart.js would call, and every plugin hook drew.
  expect([...keys].sort()).toEqual([
    'afterBuildTicks',
    'afterDatasetsDraw',
    'afterDraw',
    'beforeDatasetsDraw',
    'beforeDraw',
    'generateLabels',
    'label',
    'onClick',
    'title',
  ]);
  expect([...drawn.keys()].sort()).toEqual([
    'cbBackground.beforeDraw',
    'cbBarMarks.afterDatasetsDraw',
    'cbBudgets.afterDatasetsDraw',
    'cbLanes.afterDraw',
    'cbLanes.beforeDatasetsDraw',
  ]);
}

/** Names the script uses but never declares, by TypeScript's checker with nothing but the ES library (no DOM, no Node). */
export function undeclaredNames(script: string): string[] {
  const file = '/shipped/chart-config.js';
  const options: ts.CompilerOptions = {
    allowJs: true,
    checkJs: true,
    noEmit: true,
    lib: ['lib.es2023.d.ts'],
    types: [],
    target: ts.ScriptTarget.ES2022,
  };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, script, language) : read(name, language, ...rest);
  const program = ts.createProgram([file], options, host);
  return program
    .getSemanticDiagnostics(program.getSourceFile(file))
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '))
    .filter((m) => m.startsWith('Cannot find name'));
}
