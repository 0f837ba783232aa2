/**
 * Streaming vs selective on a scenario, each run in its own measuring child (the harness):
 * peak and final (net of baseline), what the pipeline keeps (live bytes), peak/final,
 * peak − live (the overhead above what is kept), and time; streaming at several row-window
 * sizes, and both strategies in the planner's order (`order: auto`).
 *
 *   node --expose-gc dist/bench/streaming.js [SCENARIO=original-fix] [--runs N]
 *
 * Prints figures; asserts nothing. Times are medians of N runs (default 3).
 */
import { formatBytes } from '../src/core/units.js';
import { formatTable } from '../src/core/table.js';
import { defaultCacheDir, runScenarios } from '../harness/run/run.js';
import { loadScenarios, type BuiltinScenario } from '../harness/run/scenarios.js';
import type { RunRecord } from '../src/core/report.js';
import type { StrategyName } from '../src/core/names.js';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Math.max(1, Number(args[runsAt + 1]) || 3) : 3;
const scenarioArg = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '--runs') ?? 'original-fix';
const base = loadScenarios(scenarioArg).find((s): s is BuiltinScenario => s.kind === 'builtin');
if (!base) throw new Error(`${scenarioArg} has no built-in scenario`);

interface Variant {
  label: string;
  strategy: StrategyName;
  windowRows?: number;
  order?: 'auto';
}

const variants: Variant[] = [
  { label: 'selective', strategy: 'selective' },
  { label: 'selective, order auto', strategy: 'selective', order: 'auto' },
  { label: 'streaming (4 MB windows)', strategy: 'streaming' },
  { label: 'streaming, 64-row windows', strategy: 'streaming', windowRows: 64 },
  { label: 'streaming, 1024-row windows', strategy: 'streaming', windowRows: 1024 },
  { label: 'streaming, 65536-row windows', strategy: 'streaming', windowRows: 65536 },
  { label: 'streaming, order auto', strategy: 'streaming', order: 'auto' },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: string[][] = [];
for (const v of variants) {
  const scenario: BuiltinScenario = {
    ...base,
    strategies: [v.strategy],
    ...(v.windowRows !== undefined ? { windowRows: v.windowRows } : {}),
    ...(v.order ? { order: v.order } : {}),
  };
  const records: RunRecord[] = [];
  for (let i = 0; i < runs; i++) {
    const report = await runScenarios([scenario], { cacheDir: defaultCacheDir() });
    const r = report.runs[0]!;
    if (r.status !== 'ok') throw new Error(`${v.label}: ${r.status} ${r.failure?.reason ?? ''}`);
    records.push(r);
  }
  const peak = median(records.map((r) => r.peak_bytes));
  const final = median(records.map((r) => r.final_bytes));
  const live = median(records.map((r) => r.final_live_bytes));
  rows.push([
    v.label,
    records[0]!.order?.join(' → ') ?? 'as listed',
    formatBytes(peak),
    formatBytes(final),
    formatBytes(live),
    (peak / final).toFixed(3),
    formatBytes(peak - live),
    `${median(records.map((r) => r.duration_ms)).toFixed(0)} ms`,
  ]);
}

const header = ['variant', 'order', 'peak', 'final', 'kept (live)', 'peak/final', 'peak − kept', 'time (median)'];
process.stdout.write(
  `${base.name} at scale ${base.scale}, median of ${runs} run(s) per variant; figures net of each child's idle baseline\n`,
);
process.stdout.write(`${formatTable(rows, { head: header, rule: true })}\n`);
