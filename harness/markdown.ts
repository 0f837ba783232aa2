/**
 * report.md: a Markdown summary for a pull-request comment or a CI job summary. One row per
 * scenario × strategy; budgets as ✅/❌; the change against a baseline when one is given.
 */
import { formatBytes } from '../src/units.js';
import { peakMeaning } from './charts.js';
import { compareReports, formatRatio, type Comparison, type CompareOptions, type MetricDelta, type Tier } from './compare.js';
import type { BudgetResult, Report, RunRecord } from './report.js';
import { liveBytesKnown } from './report.js';

export interface MarkdownOptions {
  /** A baseline report: adds Δ columns (compared with `compareReports`). */
  baseline?: Report;
  /** A comparison already made (takes precedence over `baseline`). */
  comparison?: Comparison;
  compare?: CompareOptions;
  /** Names of chart images in the same directory, linked under the table. */
  charts?: string[];
}

/** Escape free text for GitHub Markdown: HTML is live there, so `<more>` would vanish. */
function text(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}

/** Escape text for a Markdown table cell. */
function cell(s: string): string {
  return text(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}

function pct(f: number): string {
  return `${Number((f * 100).toFixed(1))}%`;
}

function budgetCell(b: BudgetResult): string {
  return `${b.ok ? '✅' : '❌'} ${b.metric} ≤ ${formatBytes(b.limit_bytes)}`;
}

const TIER_MARK: Record<Tier, string> = { ok: '', improved: ' 🟢', warn: ' ⚠️', fail: ' ❌' };

function deltaCell(d: MetricDelta | null | undefined): string {
  if (!d) return '—';
  return `${formatRatio(d.ratio)}${TIER_MARK[d.tier]}`;
}

function figure(measured: number, scale: number): string {
  return scale === 1 ? formatBytes(measured) : `${formatBytes(measured / scale)} <sub>(${formatBytes(measured)})</sub>`;
}

function statusCell(r: RunRecord): string {
  if (r.status === 'ok') return r.budgets.every((b) => b.ok) ? '✅' : '❌';
  return `💥 ${r.status}${r.failure?.step ? ` in ${r.failure.step}` : ''}`;
}

/** The Markdown summary of a report. */
export function renderMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const comparison = options.comparison ?? (options.baseline ? compareReports(options.baseline, report, options.compare) : undefined);
  const rowOf = (r: RunRecord) => comparison?.rows.find((c) => c.scenario === r.scenario && c.strategy === r.strategy);
  const checks = report.runs.flatMap((r) => r.budgets);
  const failedChecks = checks.filter((b) => !b.ok).length;
  const died = report.runs.filter((r) => r.status !== 'ok').length;
  const scales = [...new Set(report.runs.map((r) => r.scale))];

  const out: string[] = [];
  out.push('## cellbudget memory report', '');
  const verdict =
    failedChecks === 0 && died === 0 ? '✅ **All budgets met**' : `❌ **${failedChecks} of ${checks.length} budget checks failed**${died ? `, ${died} run${died > 1 ? 's' : ''} did not finish` : ''}`;
  out.push(`${verdict} — ${report.runs.length} runs over ${report.scenarios.length} scenarios.`);
  if (comparison) {
    out.push('', `Against the baseline: ${comparison.failures} at the fail tier (over +${pct(comparison.fail)} or did not finish) ❌, ${comparison.warnings} at the warn tier (over +${pct(comparison.warn)}) ⚠️.`);
  }
  out.push('');
  out.push(
    `Figures are net of the idle baseline and shown at full scale (measured / scale), the measured figure in small type${scales.length === 1 && scales[0] !== 1 ? ` (scale ${scales[0]})` : ''}. ` +
      `Peak: ${peakMeaning(report.environment.method)}; final: RSS at the end; kept: bytes the pipeline still references.`,
  );
  out.push('');

  const head = ['Scenario', 'Strategy', 'Status', 'Peak', 'Final', 'Kept', 'Budgets'];
  if (comparison) head.push('Δ peak', 'Δ final');
  out.push(`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i >= 3 && i <= 5 ? '---:' : i >= 7 ? '---:' : '---')).join('|')}|`);
  for (const r of report.runs) {
    const budgets = r.budgets.length > 0 ? r.budgets.map((b) => cell(budgetCell(b))).join('<br>') : '—';
    const row = [
      cell(r.scenario),
      cell(r.strategy),
      cell(statusCell(r)),
      `${figure(r.peak_bytes, r.scale)}${r.status !== 'ok' ? ' so far' : ''}`,
      r.status === 'ok' ? figure(r.final_bytes, r.scale) : '—',
      r.status === 'ok' && liveBytesKnown(r) ? figure(r.final_live_bytes, r.scale) : '—',
      budgets,
    ];
    if (comparison) {
      const c = rowOf(r);
      row.push(c?.note && !c.peak ? cell(c.note) : deltaCell(c?.peak), deltaCell(c?.final));
    }
    out.push(`| ${row.join(' | ')} |`);
  }

  const failures = report.runs.flatMap((r) => [
    ...r.budgets.filter((b) => !b.ok).map((b) => b.message ?? `${r.scenario} / ${r.strategy}: ${b.metric} ${formatBytes(b.actual_bytes)} over ${formatBytes(b.limit_bytes)}`),
    ...(r.status !== 'ok' ? [`${r.scenario} / ${r.strategy} ${r.status}${r.failure?.step ? ` in '${r.failure.step}'` : ''}: ${r.failure?.reason ?? 'no reason recorded'}`] : []),
  ]);
  if (failures.length > 0) {
    out.push('', '<details><summary>Failures</summary>', '');
    for (const f of failures) out.push(`- ${text(f)}`);
    out.push('', '</details>');
  }
  // Where runs were measured, when not here: a reader checks the node and the memory asked for.
  const remote = report.runs.filter((r) => r.executor === 'slurm');
  if (remote.length > 0) {
    out.push('', `Measured on Slurm (${remote.length} run${remote.length > 1 ? 's' : ''}):`, '');
    for (const r of remote) {
      out.push(`- ${text(`${r.scenario} / ${r.strategy}: Slurm job ${r.job_id ?? '?'} on ${r.node ?? 'an unknown node'}${r.requested_memory_bytes !== undefined ? `, --mem ${formatBytes(r.requested_memory_bytes)}` : ''}`)}`);
    }
  }
  if (options.charts && options.charts.length > 0) {
    out.push('', 'Charts: ' + options.charts.map((c) => `[${c}](${encodeURI(c)})`).join(' · '));
  }
  const env = report.environment;
  out.push('', `<sub>Node ${env.node} · ${env.platform} ${env.kernel} ${env.arch} · ${env.cpus} CPUs · ${formatBytes(env.total_memory_bytes)} · method ${env.method} · cellbudget ${env.cellbudget} · ${report.created}</sub>`, '');
  return out.join('\n');
}
