/**
 * report.md: a Markdown summary for a pull-request comment or a CI job summary. One row per
 * scenario × strategy; budgets as ✅/❌; the change against a baseline when one is given.
 */
import { formatBytes } from '../../src/core/units.js';
import { baselineNote, peakMeaning } from '../../src/core/methods.js';
import { compareReports, formatRatio, type Comparison, type CompareOptions, type MetricDelta, type Tier } from './compare.js';
import type { BudgetResult, Interval, Report, RunRecord } from '../../src/core/report.js';
import { formatScales, formatSpread, projectionOf } from './projection.js';
import { liveBytesKnown, scenarioWarnings } from '../../src/core/figures.js';

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

const VERDICT_MARK = { ok: '✅', exceeded: '❌', uncertain: '❔' } as const;

function budgetCell(b: BudgetResult): string {
  return `${VERDICT_MARK[b.verdict ?? (b.ok ? 'ok' : 'exceeded')]} ${b.metric} ≤ ${formatBytes(b.limit_bytes)}${b.verdict === 'uncertain' ? ' (uncertain)' : ''}`;
}

const TIER_MARK: Record<Tier, string> = { ok: '', improved: ' 🟢', warn: ' ⚠️', fail: ' ❌' };

function deltaCell(d: MetricDelta | null | undefined): string {
  if (!d) return '—';
  return `${formatRatio(d.ratio)}${TIER_MARK[d.tier]}`;
}

/** The projected figure with its interval, and what was measured at the run's own scale in small type. */
function figure(projected: number, interval: Interval, measured: number, scale: number, linear: boolean): string {
  if (scale === 1) return formatBytes(measured);
  const spread = formatSpread(projected, interval);
  return `${formatBytes(projected)}${spread ? ` ${spread}` : ''}${linear ? '' : ' ❔'} <sub>(${formatBytes(measured)} at ${scale})</sub>`;
}

function statusCell(r: RunRecord): string {
  if (r.status === 'ok') return r.budgets.some((b) => !b.ok) ? '❌' : r.budgets.some((b) => b.verdict === 'uncertain') ? '❔' : '✅';
  return `💥 ${r.status}${r.failure?.step ? ` in ${r.failure.step}` : ''}`;
}

/** The Markdown summary of a report. */
export function renderMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const comparison = options.comparison ?? (options.baseline ? compareReports(options.baseline, report, options.compare) : undefined);
  const rowOf = (r: RunRecord) => comparison?.rows.find((c) => c.scenario === r.scenario && c.strategy === r.strategy);
  const checks = report.runs.flatMap((r) => r.budgets);
  const failedChecks = checks.filter((b) => !b.ok).length;
  const uncertainChecks = checks.filter((b) => b.verdict === 'uncertain').length;
  const died = report.runs.filter((r) => r.status !== 'ok').length;
  const scales = [...new Set(report.runs.map((r) => r.scale))];

  const out: string[] = [];
  out.push('## cellbudget memory report', '');
  const verdict =
    failedChecks === 0 && died === 0
      ? uncertainChecks === 0
        ? '✅ **All budgets met**'
        : `❔ **${uncertainChecks} of ${checks.length} budget checks uncertain** (the projected interval straddles the limit), none failed`
      : `❌ **${failedChecks} of ${checks.length} budget checks failed**${uncertainChecks ? `, ${uncertainChecks} uncertain` : ''}${died ? `, ${died} run${died > 1 ? 's' : ''} did not finish` : ''}`;
  out.push(`${verdict} — ${report.runs.length} runs over ${report.scenarios.length} scenarios.`);
  if (comparison) {
    out.push(
      '',
      `Against the baseline: ${comparison.failures} at the fail tier (over +${pct(comparison.fail)} or did not finish) ❌, ${comparison.warnings} at the warn tier (over +${pct(comparison.warn)}) ⚠️.`,
    );
  }
  out.push('');
  const ladders = [...new Set(report.runs.filter((r) => r.projected?.method === 'ladder').map((r) => formatScales(r.projected!)))];
  out.push(
    `Figures are ${baselineNote(report.environment.method)} and shown at full scale: projected from a ladder of scales${ladders.length === 1 ? ` (${ladders[0]})` : ''} as fixed + scale × proportional, ± the interval of that fit, with the figure measured at the scenario's own scale in small type${scales.length === 1 && scales[0] !== 1 ? ` (scale ${scales[0]})` : ''}. ` +
      `Peak: ${peakMeaning(report.environment.method)}; final: RSS at the end; kept: bytes the pipeline still references. ❔: uncertain — the interval straddles a budget, or the ladder is not linear.`,
  );
  out.push('');

  const head = ['Scenario', 'Strategy', 'Status', 'Peak', 'Final', 'Kept', 'Budgets'];
  if (comparison) head.push('Δ peak', 'Δ final');
  out.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i >= 3 && i <= 5 ? '---:' : i >= 7 ? '---:' : '---')).join('|')}|`);
  for (const r of report.runs) {
    const p = projectionOf(r);
    const budgets = r.budgets.length > 0 ? r.budgets.map((b) => cell(budgetCell(b))).join('<br>') : '—';
    const row = [
      cell(r.scenario),
      cell(r.strategy),
      cell(statusCell(r)),
      r.status === 'ok'
        ? figure(p.peak_bytes, p.interval.peak, r.peak_bytes, r.scale, p.linear)
        : `${formatBytes(r.peak_bytes)} so far <sub>(at ${r.scale})</sub>`,
      r.status === 'ok' ? figure(p.final_bytes, p.interval.final, r.final_bytes, r.scale, p.linear) : '—',
      r.status === 'ok' && liveBytesKnown(r) ? figure(p.kept_bytes, p.interval.kept, r.final_live_bytes, r.scale, p.linear) : '—',
      budgets,
    ];
    if (comparison) {
      const c = rowOf(r);
      row.push(c?.note && !c.peak ? cell(c.note) : deltaCell(c?.peak), deltaCell(c?.final));
    }
    out.push(`| ${row.join(' | ')} |`);
  }

  const failures = report.runs.flatMap((r) => [
    ...r.budgets
      .filter((b) => !b.ok || b.verdict === 'uncertain')
      .map(
        (b) => b.message ?? `${r.scenario} / ${r.strategy}: ${b.metric} ${formatBytes(b.actual_bytes)} over ${formatBytes(b.limit_bytes)}`,
      ),
    ...(r.status !== 'ok'
      ? [
          `${r.scenario} / ${r.strategy} ${r.status}${r.failure?.step ? ` in '${r.failure.step}'` : ''}: ${r.failure?.reason ?? 'no reason recorded'}`,
        ]
      : []),
  ]);
  if (failures.length > 0) {
    out.push('', '<details><summary>Failures and uncertain budgets</summary>', '');
    for (const f of failures) out.push(`- ${text(f)}`);
    out.push('', '</details>');
  }
  // Outside the <details>: a split with nothing in it is worth seeing even when every budget held.
  const warnings = [...scenarioWarnings(report.runs)].flatMap(([scenario, ws]) => ws.map((w) => `${scenario} / ${w}`));
  if (warnings.length > 0) {
    out.push('', `⚠️ Warnings (${warnings.length}; not failures):`, '');
    for (const w of warnings) out.push(`- ${text(w)}`);
  }
  // Where runs were measured, when not here: a reader checks the node and the memory asked for.
  const remote = report.runs.filter((r) => r.executor === 'slurm');
  if (remote.length > 0) {
    out.push('', `Measured on Slurm (${remote.length} run${remote.length > 1 ? 's' : ''}):`, '');
    for (const r of remote) {
      out.push(
        `- ${text(`${r.scenario} / ${r.strategy}: Slurm job ${r.job_id ?? '?'} on ${r.node ?? 'an unknown node'}${r.requested_memory_bytes !== undefined ? `, --mem ${formatBytes(r.requested_memory_bytes)}` : ''}`)}`,
      );
    }
  }
  if (options.charts && options.charts.length > 0) {
    out.push('', 'Charts: ' + options.charts.map((c) => `[${c}](${encodeURI(c)})`).join(' · '));
  }
  const env = report.environment;
  out.push(
    '',
    `<sub>Node ${env.node} · ${env.platform} ${env.kernel} ${env.arch} · ${env.cpus} CPUs · ${formatBytes(env.total_memory_bytes)} · method ${env.method} · cellbudget ${env.cellbudget} · ${report.created}</sub>`,
    '',
  );
  return out.join('\n');
}
