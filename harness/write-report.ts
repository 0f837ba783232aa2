/**
 * Write a whole report directory: report.json, report.md, junit.xml, report.html and the
 * PNG charts. Each file goes to a temporary name and is renamed into place, so a reader (a CI
 * step, a browser) never sees half a file; report.json is renamed last and marks completion.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderChartPng, reportChartSpecs } from './charts.js';
import { compareReports, type Comparison, type CompareOptions } from './compare.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { Report } from './report.js';

export interface WriteReportOptions {
  /** Compare against this report (Δ columns in report.md and report.html). */
  baseline?: Report;
  comparison?: Comparison;
  compare?: CompareOptions;
  /** Render the PNG charts (default true). */
  charts?: boolean;
}

export interface WrittenReport {
  dir: string;
  /** Absolute or dir-relative paths of every file written, report.json last. */
  files: string[];
  comparison?: Comparison;
}

/** Write `data` to `path` through a temporary file in the same directory and a rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

const CHART_FILE = /^(timeline|peaks|family)-.*\.png$/;

/** report.json text: indented for people, with each [ms, bytes] sample pair on one line. */
export function reportJson(report: Report): string {
  return JSON.stringify(report, null, 1).replace(/\[\s+(-?[0-9.eE+-]+),\s+(-?[0-9.eE+-]+)\s+\]/g, '[$1, $2]') + '\n';
}

/** Write every output of `report` into `dir` (created if missing). */
export async function writeReportDir(report: Report, dir: string, options: WriteReportOptions = {}): Promise<WrittenReport> {
  await mkdir(dir, { recursive: true });
  const comparison = options.comparison ?? (options.baseline ? compareReports(options.baseline, report, options.compare) : undefined);
  const files: string[] = [];
  const charts: string[] = [];
  if (options.charts ?? true) {
    for (const { file, spec } of reportChartSpecs(report)) {
      const path = join(dir, file);
      await writeFileAtomic(path, await renderChartPng(spec));
      files.push(path);
      charts.push(file);
    }
    // Charts of scenarios no longer in the report would pass for current ones.
    for (const name of await readdir(dir)) {
      if (CHART_FILE.test(name) && !charts.includes(name)) await rm(join(dir, name), { force: true });
    }
  }
  const md = renderMarkdown(report, { ...(comparison ? { comparison } : {}), charts });
  const outputs: Array<[string, string]> = [
    ['junit.xml', renderJunit(report)],
    ['report.md', md],
    ['report.html', await renderHtml(report, comparison ? { comparison } : {})],
    ['report.json', reportJson(report)],
  ];
  for (const [name, text] of outputs) {
    const path = join(dir, name);
    await writeFileAtomic(path, text);
    files.push(path);
  }
  return { dir, files, ...(comparison ? { comparison } : {}) };
}
