/**
 * junit.xml in the common (Ant/Jenkins/GitLab/GitHub) schema: testsuites > testsuite per
 * scenario > testcase per strategy × budget. Budget failures are <failure> (judged on the
 * full-scale projection); an uncertain budget passes with a <system-out> warning; a run that
 * died or errored is an <error> on each of its test cases (no verdict could be reached).
 */
import { formatBytes } from '../../src/core/units.js';
import type { BudgetResult, Report, RunRecord } from '../../src/core/report.js';
import { projectionBasis } from './budgets.js';
import { formatProjected, projectionOf } from './projection.js';

// XML 1.0 forbids most control characters even when escaped; stderr tails carry ANSI codes.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escape text for XML content and attribute values. */
export function xmlEscape(s: string): string {
  return s
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function attrs(a: Record<string, string | number>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');
}

interface Case {
  name: string;
  classname: string;
  time: number;
  failure?: { message: string; type: string; body: string };
  error?: { message: string; type: string; body: string };
  /** An uncertain budget passes with a warning here (`--strict` fails it in the CLI). */
  out?: string;
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function caseName(r: RunRecord, b: BudgetResult): string {
  return `${r.strategy}: ${b.metric} ≤ ${formatBytes(b.limit_bytes)}`;
}

function casesOf(r: RunRecord): Case[] {
  const classname = `cellbudget.${r.scenario}`;
  const time = r.duration_ms / 1000;
  if (r.status !== 'ok') {
    const f = r.failure;
    const message = `${r.scenario} / ${r.strategy} ${r.status}${f?.step ? ` in '${f.step}'` : ''}: ${f?.reason ?? 'no reason recorded'}`;
    const body = [
      message,
      f?.signal ? `signal: ${f.signal}` : '',
      f?.exit_code !== undefined && f.exit_code !== null ? `exit code: ${f.exit_code}` : '',
      `peak so far: ${formatBytes(r.peak_bytes)} measured at scale ${r.scale} (no full-scale figure: the run did not finish)`,
      r.executor === 'slurm'
        ? `Slurm job ${r.job_id ?? '?'} on ${r.node ?? 'an unknown node'}${r.requested_memory_bytes !== undefined ? `, --mem ${formatBytes(r.requested_memory_bytes)}` : ''}`
        : '',
      f?.stderr_tail ? `stderr (tail):\n${f.stderr_tail}` : '',
    ]
      .filter((x) => x)
      .join('\n');
    const error = { message, type: r.status === 'died' ? 'RunDied' : 'RunError', body };
    if (r.budgets.length === 0) return [{ name: `${r.strategy}: runs to completion`, classname, time, error }];
    return r.budgets.map((b) => ({ name: caseName(r, b), classname, time, error }));
  }
  if (r.budgets.length === 0) return [{ name: `${r.strategy}: runs to completion`, classname, time }];
  return r.budgets.map((b) => {
    const c: Case = { name: caseName(r, b), classname, time };
    const details = `actual (full scale, ${projectionBasis(projectionOf(r))}): ${formatProjected(b.actual_bytes, b.interval)}\nbudget: ${formatBytes(b.limit_bytes)}\nscale: ${r.scale}${b.step ? `\nstep: ${b.step}` : ''}`;
    if (!b.ok) {
      const message = b.message ?? `${b.metric} ${formatBytes(b.actual_bytes)} exceeds ${formatBytes(b.limit_bytes)}`;
      c.failure = { message, type: 'BudgetExceeded', body: `${message}\n${details}` };
    } else if (b.verdict === 'uncertain') {
      c.out = `warning: ${b.message ?? `${b.metric} is uncertain against ${formatBytes(b.limit_bytes)}`}\n${details}`;
    }
    return c;
  });
}

/** The junit.xml text of a report. */
export function renderJunit(report: Report): string {
  const byScenario = new Map<string, RunRecord[]>();
  for (const s of report.scenarios) byScenario.set(s.name, []);
  for (const r of report.runs) {
    const list = byScenario.get(r.scenario) ?? [];
    list.push(r);
    byScenario.set(r.scenario, list);
  }
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let totalMs = 0;
  let id = 0;
  for (const [scenario, runs] of byScenario) {
    if (runs.length === 0) continue;
    const cases = runs.flatMap(casesOf);
    const f = cases.filter((c) => c.failure).length;
    const e = cases.filter((c) => c.error).length;
    const ms = runs.reduce((a, r) => a + r.duration_ms, 0);
    tests += cases.length;
    failures += f;
    errors += e;
    totalMs += ms;
    const lines = [
      `  <testsuite${attrs({
        name: scenario,
        tests: cases.length,
        failures: f,
        errors: e,
        skipped: 0,
        time: seconds(ms), // ISO 8601 without zone or fraction: the pattern the Ant/Jenkins schemas accept.
        timestamp: report.created.slice(0, 19),
        hostname: 'localhost',
        id: id++,
        package: 'cellbudget',
      })}>`,
      `    <properties>`,
      `      <property${attrs({ name: 'scale', value: String(runs[0]?.scale ?? '') })}/>`,
      `      <property${attrs({ name: 'method', value: report.environment.method })}/>`,
      `      <property${attrs({ name: 'node', value: report.environment.node })}/>`,
      `    </properties>`,
    ];
    for (const c of cases) {
      const open = `    <testcase${attrs({ name: c.name, classname: c.classname, time: c.time.toFixed(3) })}`;
      if (c.failure) {
        lines.push(
          `${open}>`,
          `      <failure${attrs({ message: c.failure.message, type: c.failure.type })}>${xmlEscape(c.failure.body)}</failure>`,
          `    </testcase>`,
        );
      } else if (c.error) {
        lines.push(
          `${open}>`,
          `      <error${attrs({ message: c.error.message, type: c.error.type })}>${xmlEscape(c.error.body)}</error>`,
          `    </testcase>`,
        );
      } else if (c.out) {
        lines.push(`${open}>`, `      <system-out>${xmlEscape(c.out)}</system-out>`, `    </testcase>`);
      } else {
        lines.push(`${open}/>`);
      }
    }
    lines.push(`    <system-out></system-out>`, `    <system-err></system-err>`, `  </testsuite>`);
    suites.push(lines.join('\n'));
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'cellbudget', tests, failures, errors, time: seconds(totalMs) })}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
