/**
 * Write a whole report directory: report.json, report.md, junit.xml, report.html and the
 * PNG charts, as one unit. Everything is rendered first, then every file is written to a
 * temporary name beside its target (a full disk or a failed render stops here, and the
 * previous report stays whole: its temporaries are removed), then all are renamed into place
 * in one burst with SIGINT/SIGTERM/SIGHUP held until the last rename, report.json last. A
 * reader never sees half a file, nor new charts beside an old report.json. Temporaries of a
 * writer that died (SIGKILL, power loss) are removed by the next writer.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CellbudgetError } from '../../src/core/errors.js';
import { removeStaleTemporaries, writeAtomicAll } from '../../src/io/files.js';
import { renderChartPng, reportChartSpecs } from './charts.js';
import { compareReports, type Comparison, type CompareOptions } from './compare.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { Report } from '../../src/core/report.js';

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

export { pidAlive, removeStaleTemporaries, writeAtomic as writeFileAtomic } from '../../src/io/files.js';

const CHART_FILE = /^(timeline|peaks|family)-.*\.png$/;

/** report.json text: indented for people, with each [ms, bytes] sample pair on one line. */
export function reportJson(report: Report): string {
  return JSON.stringify(report, null, 1).replace(/\[\s+(-?[0-9.eE+-]+),\s+(-?[0-9.eE+-]+)\s+\]/g, '[$1, $2]') + '\n';
}

function outputError(dir: string, e: unknown): CellbudgetError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOSPC'
      ? 'the disk is full'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'the file system is read-only'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'the path (or a parent) is a file, not a folder'
            : (e as Error).message;
  return new CellbudgetError(
    'OUTPUT_UNWRITABLE',
    `Cannot write the report to ${dir}: ${why}${code ? ` (${code})` : ''}. The previous report there, if any, is unchanged.`,
    {
      file: dir,
      hint: 'Free disk space, or pass --out a writable folder.',
    },
    { cause: e },
  );
}

/** Write every output of `report` into `dir` (created if missing), as one unit. */
export async function writeReportDir(report: Report, dir: string, options: WriteReportOptions = {}): Promise<WrittenReport> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw outputError(dir, e);
  }
  await removeStaleTemporaries(dir);
  const comparison = options.comparison ?? (options.baseline ? compareReports(options.baseline, report, options.compare) : undefined);

  // 1. Render everything in memory: a failing renderer touches no file.
  const outputs: Array<[string, string | Uint8Array]> = [];
  const charts: string[] = [];
  if (options.charts ?? true) {
    for (const { file, spec } of reportChartSpecs(report)) {
      outputs.push([file, await renderChartPng(spec)]);
      charts.push(file);
    }
  }
  const md = renderMarkdown(report, { ...(comparison ? { comparison } : {}), charts });
  outputs.push(
    ['junit.xml', renderJunit(report)],
    ['report.md', md],
    ['report.html', await renderHtml(report, comparison ? { comparison } : {})],
    ['report.json', reportJson(report)],
  );

  // 2. Every temporary, then every rename, report.json last, with termination signals held;
  // on any failure the temporaries go and the old report stays whole. Charts of scenarios no
  // longer in the report would pass for current ones: they go before the signals are let through.
  const files = await writeAtomicAll(
    outputs.map(([name, data]) => [join(dir, name), data] as const),
    (e) => outputError(dir, e),
    async () => {
      if (!(options.charts ?? true)) return;
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (CHART_FILE.test(name) && !charts.includes(name)) await rm(join(dir, name), { force: true });
      }
    },
  );
  return { dir, files, ...(comparison ? { comparison } : {}) };
}
