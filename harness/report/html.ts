/**
 * report.html: one self-contained page that opens offline. Chart.js, the chart specs, the
 * report data and the spec → config function are inlined; a Content-Security-Policy forbids
 * any network access, so what renders is exactly what is in the file.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { formatBytes } from '../../src/core/units.js';
import { chartConfigScript } from './chart-config.js';
import { reportChartSpecs, type ChartSpec } from './chart-spec.js';
import { baselineNote, methodText, peakMeaning } from '../../src/core/methods.js';
import { compareReports, formatRatio, type Comparison, type CompareOptions, type MetricDelta } from './compare.js';
import type { BudgetResult, Interval, Report, RunRecord } from '../../src/core/report.js';
import { projectionBasis } from './budgets.js';
import { formatProjected, formatSpread, projectionOf, stepProjectionOf } from './projection.js';
import { liveBytesKnown, scenarioWarnings } from '../../src/core/figures.js';

export interface HtmlOptions {
  baseline?: Report;
  comparison?: Comparison;
  compare?: CompareOptions;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

let chartJsSource: Promise<string> | undefined;
/** The UMD build of Chart.js from node_modules (its exports map hides the path). */
function loadChartJs(): Promise<string> {
  chartJsSource ??= (async () => {
    const require = createRequire(import.meta.url);
    const main = require.resolve('chart.js');
    return readFile(join(dirname(main), 'chart.umd.js'), 'utf8');
  })();
  return chartJsSource;
}

/** The full-scale figure (projected, with its interval) and what was measured at the run's scale in small type. */
function both(projected: number, interval: Interval, measured: number, scale: number, linear = true): string {
  if (scale === 1) return esc(formatBytes(measured));
  const spread = formatSpread(projected, interval);
  const title = `projected ${formatProjected(projected, interval)}; measured ${formatBytes(measured)} at scale ${scale}`;
  return `<span title="${esc(title)}">${esc(formatBytes(projected))}${spread ? ` <small>${esc(spread)}</small>` : ''}${linear ? '' : ' <span class="warn">?</span>'}</span> <small>(${esc(formatBytes(measured))})</small>`;
}

const MARK = { ok: '✓', exceeded: '✗', uncertain: '?' } as const;
const CLASS = { ok: 'good', exceeded: 'bad', uncertain: 'warn' } as const;

function deltaHtml(d: MetricDelta | null | undefined): string {
  if (!d) return '—';
  const cls = d.tier === 'fail' ? 'bad' : d.tier === 'warn' ? 'warn' : d.tier === 'improved' ? 'good' : '';
  return `<span class="${cls}">${esc(formatRatio(d.ratio))}</span>`;
}

function runRow(r: RunRecord, comparison: Comparison | undefined): string {
  const verdictOf = (b: BudgetResult): 'ok' | 'exceeded' | 'uncertain' => b.verdict ?? (b.ok ? 'ok' : 'exceeded');
  const budgets = r.budgets.length
    ? r.budgets
        .map(
          (b) =>
            `<span class="${CLASS[verdictOf(b)]}" title="${esc(b.message ?? '')}">${MARK[verdictOf(b)]} ${esc(b.metric)} ≤ ${esc(formatBytes(b.limit_bytes))}</span>`,
        )
        .join('<br>')
    : '—';
  const failures = [
    ...r.budgets.filter((b) => !b.ok || b.verdict === 'uncertain').map((b) => esc(b.message ?? `${b.metric} over budget`)),
    ...(r.status !== 'ok'
      ? [`<b>${esc(r.status)}</b>${r.failure?.step ? ` in ${esc(r.failure.step)}` : ''}: ${esc(r.failure?.reason ?? '')}`]
      : []),
  ];
  const c = comparison?.rows.find((x) => x.scenario === r.scenario && x.strategy === r.strategy);
  const ok = r.status === 'ok';
  const p = projectionOf(r);
  return `<tr class="${ok && r.budgets.every((b) => b.ok) ? '' : 'failed'}">
<td>${esc(r.scenario)}</td><td>${esc(r.strategy)}</td><td>${ok ? 'ok' : `<span class="bad">${esc(r.status)}</span>`}</td>
<td class="num">${ok ? both(p.peak_bytes, p.interval.peak, r.peak_bytes, r.scale, p.linear) : `${esc(formatBytes(r.peak_bytes))} <small>so far, at ${r.scale}</small>`}</td><td class="num">${ok ? both(p.final_bytes, p.interval.final, r.final_bytes, r.scale, p.linear) : '—'}</td><td class="num">${ok && liveBytesKnown(r) ? both(p.kept_bytes, p.interval.kept, r.final_live_bytes, r.scale, p.linear) : '—'}</td>
<td class="budgets">${budgets}</td>${comparison ? `<td class="num">${deltaHtml(c?.peak)}</td><td class="num">${deltaHtml(c?.final)}</td>` : ''}<td class="msg">${failures.join('<br>') || ''}</td></tr>`;
}

function stepsTable(r: RunRecord): string {
  const rows = r.steps
    .map((s) => {
      const p = stepProjectionOf(s, r.scale);
      return `<tr><td>${esc(s.label)}</td><td class="num">${(s.start_ms / 1000).toFixed(2)}–${(s.end_ms / 1000).toFixed(2)} s</td><td class="num">${both(p.peak_bytes, p.interval.peak, s.peak_bytes, r.scale, p.linear)}</td><td class="num">${both(p.final_bytes, p.interval.final, s.end_bytes, r.scale, p.linear)}</td>
<td class="num">${esc(formatBytes(s.heap_used_bytes))}</td><td class="num">${esc(formatBytes(s.external_bytes))}</td><td class="num">${esc(formatBytes(s.wasm_bytes))}</td><td class="num">${esc(formatBytes(s.live_bytes))}</td><td class="num">${s.gc_count} (${s.gc_pause_ms.toFixed(1)} ms)</td></tr>`;
    })
    .join('\n');
  const env = Object.entries(r.env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const where =
    r.executor === 'slurm'
      ? `, Slurm job ${r.job_id ?? '?'} on ${r.node ?? 'an unknown node'}${r.requested_memory_bytes !== undefined ? ` (--mem ${formatBytes(r.requested_memory_bytes)})` : ''}`
      : '';
  return `<details><summary>${esc(r.scenario)} / ${esc(r.strategy)}: ${r.steps.length} steps, ${(r.duration_ms / 1000).toFixed(2)} s, baseline ${esc(formatBytes(r.baseline_bytes))}${esc(where)}${env ? `, env ${esc(env)}` : ''}</summary>
<table><thead><tr><th>step</th><th>time</th><th>peak</th><th>end</th><th>V8 heap</th><th>external</th><th>wasm</th><th>referenced</th><th>GCs</th></tr></thead><tbody>
${rows}
</tbody></table>
<p class="note">peak/end: full scale, projected over the ladder (${esc(projectionBasis(projectionOf(r)))}) ± its interval, <small>(measured at scale ${r.scale})</small>, ${esc(baselineNote(r.method))}; V8 heap, external, wasm, referenced: measured, absolute, at the step end.</p>${ladderTable(r)}
${r.failure?.stderr_tail ? `<pre>${esc(r.failure.stderr_tail)}</pre>` : ''}</details>`;
}

/** What each rung of the run's ladder measured. */
function ladderTable(r: RunRecord): string {
  const rungs = r.ladder?.rungs ?? [];
  if (rungs.length < 2) return '';
  const rows = rungs
    .map(
      (g) =>
        `<tr><td class="num">${g.scale}${g.run !== undefined ? ` <small>(run ${g.run + 1})</small>` : ''}</td><td>${esc(g.status)}</td><td class="num">${esc(formatBytes(g.peak_bytes))}</td><td class="num">${esc(formatBytes(g.final_bytes))}</td><td class="num">${esc(formatBytes(g.final_live_bytes))}</td><td class="num">${esc(formatBytes(g.baseline_bytes))}</td><td class="num">${(g.duration_ms / 1000).toFixed(2)} s</td></tr>`,
    )
    .join('\n');
  const fit = r.projected?.fit;
  const fitLine = fit
    ? `fit: peak ${esc(formatBytes(fit.peak.fixed_bytes))} + scale × ${esc(formatBytes(fit.peak.proportional_bytes))} (residual ${(fit.peak.residual * 100).toFixed(1)}%${fit.peak.constrained ? ', slope raised to the live bytes’' : ''}); final ${esc(formatBytes(fit.final.fixed_bytes))} + scale × ${esc(formatBytes(fit.final.proportional_bytes))} (residual ${(fit.final.residual * 100).toFixed(1)}%${fit.final.constrained ? ', slope raised to the live bytes’' : ''})`
    : '';
  return `<table><thead><tr><th>rung (scale)</th><th>status</th><th>peak</th><th>final</th><th>referenced</th><th>baseline</th><th>time</th></tr></thead><tbody>
${rows}
</tbody></table><p class="note">${fitLine}${(r.ladder?.notes ?? []).map((n) => `<br>${esc(n)}`).join('')}</p>`;
}

/** The HTML report of `report` as one string. */
export async function renderHtml(report: Report, options: HtmlOptions = {}): Promise<string> {
  const comparison = options.comparison ?? (options.baseline ? compareReports(options.baseline, report, options.compare) : undefined);
  const specs: ChartSpec[] = reportChartSpecs(report).map((c) => c.spec);
  const chartJs = (await loadChartJs()).replace(/<\/script/gi, '<\\/script');
  const env = report.environment;
  const checks = report.runs.flatMap((r) => r.budgets);
  const failed = checks.filter((b) => !b.ok).length;
  const uncertain = checks.filter((b) => b.verdict === 'uncertain').length;
  const died = report.runs.filter((r) => r.status !== 'ok').length;
  const verdict =
    failed === 0 && died === 0
      ? uncertain === 0
        ? `<p class="verdict good">✓ All ${checks.length} budget checks met.</p>`
        : `<p class="verdict warn">? ${uncertain} of ${checks.length} budget checks uncertain (the projected interval straddles the limit); none failed.</p>`
      : `<p class="verdict bad">✗ ${failed} of ${checks.length} budget checks failed${uncertain ? `, ${uncertain} uncertain` : ''}${died ? `; ${died} run${died > 1 ? 's' : ''} did not finish` : ''}.</p>`;

  const chartBlocks = specs
    .map(
      (s) =>
        `<figure class="chart"><div class="box"><canvas id="${esc(s.id)}" role="img" aria-label="${esc(s.title)}"></canvas></div></figure>`,
    )
    .join('\n');
  const warningItems = [...scenarioWarnings(report.runs)].flatMap(([scenario, ws]) =>
    ws.map((w) => `<li>${esc(`${scenario} / ${w}`)}</li>`),
  );
  const warnings =
    warningItems.length > 0
      ? `<p class="note"><span class="warn">⚠ Warnings</span> (not failures):</p>\n<ul id="warnings" class="note">\n${warningItems.join('\n')}\n</ul>`
      : '';
  const scenarios = report.scenarios
    .map(
      (s) =>
        `<details><summary>${esc(s.name)} — scale ${s.scale}, ${s.n_datasets} dataset${s.n_datasets === 1 ? '' : 's'}${s.family ? `, family ${esc(s.family)}` : ''}</summary><pre>${esc(toYaml(s.definition ?? null))}</pre></details>`,
    )
    .join('\n');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>cellbudget memory report — ${esc(report.created)}</title>
<style>
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; margin: 24px auto; max-width: 1280px; color: #1a1a1a; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; } th, td { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; white-space: nowrap; } td.msg { max-width: 380px; font-size: 13px; }
tr.failed td { background: #fff5f5; } small { color: #666; } .good { color: #137333; } .bad { color: #c00000; font-weight: bold; } .warn { color: #b36b00; font-weight: bold; }
.verdict { font-size: 18px; } .note { font-size: 13px; color: #555; } pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 13px; }
figure.chart { margin: 16px 0; } .box { position: relative; width: 100%; max-width: 1200px; border: 1px solid #eee; }
td.budgets span { white-space: nowrap; }
details { margin: 6px 0; } summary { cursor: pointer; }
</style>
</head>
<body>
<h1>cellbudget memory report</h1>
<p class="note">${esc(report.created)} · ${report.runs.length} runs · ${report.scenarios.length} scenarios</p>
${verdict}
<h2>Results</h2>
<p class="note">Full scale: projected from a ladder of scales, each figure fitted as fixed + scale × proportional, with the half-width of its interval in small type (hover for the interval), and the figure measured at the scenario's own scale in brackets; all ${esc(baselineNote(env.method))}. <span class="warn">?</span>: the ladder is not linear; a budget marked ? is uncertain (its interval straddles the limit). Peak: ${esc(peakMeaning(env.method))}; final: RSS at the end; kept: bytes the pipeline still references (the gap to final is allocator retention).</p>
<table id="results"><thead><tr><th>scenario</th><th>strategy</th><th>status</th><th>peak</th><th>final</th><th>kept</th><th>budgets</th>${comparison ? '<th>Δ peak</th><th>Δ final</th>' : ''}<th>failures</th></tr></thead><tbody>
${report.runs.map((r) => runRow(r, comparison)).join('\n')}
</tbody></table>
${warnings}
<h2>Charts</h2>
<p class="note">Hover a point for its step, bytes and the heap / external / wasm breakdown. Click a legend entry to hide a series.</p>
${chartBlocks}
<h2>Steps</h2>
${report.runs.map(stepsTable).join('\n')}
<h2>Scenarios</h2>
${scenarios}
<h2>Environment</h2>
<table id="environment"><tbody>
<tr><th>Node</th><td>${esc(env.node)}</td></tr>
<tr><th>platform</th><td>${esc(`${env.platform} ${env.arch}`)}</td></tr>
<tr><th>kernel</th><td>${esc(env.kernel)}</td></tr>
<tr><th>CPUs / memory</th><td>${env.cpus} / ${esc(formatBytes(env.total_memory_bytes))}</td></tr>
<tr><th>cellbudget</th><td>${esc(env.cellbudget)}</td></tr>
<tr><th>measurement</th><td><b>${esc(env.method)}</b>: ${esc(methodText(env.method).explanation)}<br>A scaled scenario is measured at a ladder of scales, each rung in its own child, and projected to full scale as fixed + scale × proportional.</td></tr>
</tbody></table>
<script>${chartJs}</script>
<script type="application/json" id="cellbudget-specs">${scriptJson(specs)}</script>
<script type="application/json" id="cellbudget-report">${scriptJson(report)}</script>
<script>
"use strict";
var chartConfigFromSpec = ${chartConfigScript()};
(function () {
  var specs = JSON.parse(document.getElementById('cellbudget-specs').textContent);
  window.cellbudgetReport = JSON.parse(document.getElementById('cellbudget-report').textContent);
  window.cellbudgetCharts = specs.map(function (spec) {
    var canvas = document.getElementById(spec.id);
    return new Chart(canvas, chartConfigFromSpec(spec, true));
  });
})();
</script>
</body>
</html>
`;
}
