/**
 * Write a whole report directory: report.json, report.md, junit.xml, report.html and the
 * PNG charts, as one unit. Everything is rendered first, then every file is written to a
 * temporary name beside its target (a full disk or a failed render stops here, and the
 * previous report stays whole: its temporaries are removed), then all are renamed into place
 * in one burst with SIGINT/SIGTERM/SIGHUP held until the last rename, report.json last. A
 * reader never sees half a file, nor new charts beside an old report.json. Temporaries of a
 * writer that died (SIGKILL, power loss) are removed by the next writer.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CellbudgetError } from '../core/errors.js';
import { renderChartPng, reportChartSpecs } from './charts.js';
import { compareReports, type Comparison, type CompareOptions } from './compare.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { Report } from '../core/report.js';

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

// `.<name>.cellbudget-<pid>-<random>.tmp`; older versions wrote `<name>.<pid>.<random>.tmp`.
const TMP_FILE = /^(?:\.(.+)\.cellbudget-(\d+)-[a-z0-9]+|(.+)\.(\d+)\.[a-z0-9]+)\.tmp$/;

function tmpName(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.cellbudget-${process.pid}-${Math.random().toString(36).slice(2, 8)}.tmp`;
}

/** Whether a process with this pid is alive (a temp file of a live writer is not stale). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove temporary files in `dir` left by writers that are no longer running. */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TMP_FILE.exec(name);
    if (!m) continue;
    const pid = Number(m[2] ?? m[4]);
    if (pidAlive(pid)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Write `data` to `path` through a temporary file in the same directory and a rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tmpName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

const CHART_FILE = /^(timeline|peaks|family)-.*\.png$/;
const HELD: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** report.json text: indented for people, with each [ms, bytes] sample pair on one line. */
export function reportJson(report: Report): string {
  return JSON.stringify(report, null, 1).replace(/\[\s+(-?[0-9.eE+-]+),\s+(-?[0-9.eE+-]+)\s+\]/g, '[$1, $2]') + '\n';
}

function outputError(dir: string, e: unknown): CellbudgetError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'the file system is read-only' : code === 'ENOTDIR' || code === 'EEXIST' ? 'the path (or a parent) is a file, not a folder' : (e as Error).message;
  return new CellbudgetError('OUTPUT_UNWRITABLE', `Cannot write the report to ${dir}: ${why}${code ? ` (${code})` : ''}. The previous report there, if any, is unchanged.`, {
    file: dir,
    hint: 'Free disk space, or pass --out a writable folder.',
  }, { cause: e });
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
  outputs.push(['junit.xml', renderJunit(report)], ['report.md', md], ['report.html', await renderHtml(report, comparison ? { comparison } : {})], ['report.json', reportJson(report)]);

  // 2. Write every temporary; on any failure remove them all and leave the old report alone.
  const staged: Array<{ tmp: string; path: string }> = [];
  try {
    for (const [name, data] of outputs) {
      const path = join(dir, name);
      const tmp = tmpName(path);
      staged.push({ tmp, path });
      await writeFile(tmp, data);
    }
  } catch (e) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    throw outputError(dir, e);
  }

  // 3. Rename all into place, report.json last, with termination signals held meanwhile.
  const pending: NodeJS.Signals[] = [];
  const hold = (sig: NodeJS.Signals): void => {
    pending.push(sig);
  };
  for (const s of HELD) process.on(s, hold);
  try {
    for (const { tmp, path } of staged) await rename(tmp, path);
  } catch (e) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    throw outputError(dir, e);
  } finally {
    for (const s of HELD) process.removeListener(s, hold);
    // Charts of scenarios no longer in the report would pass for current ones.
    if (options.charts ?? true) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (CHART_FILE.test(name) && !charts.includes(name)) await rm(join(dir, name), { force: true });
      }
    }
    const first = pending[0];
    if (first !== undefined && process.listenerCount(first) === 0) process.kill(process.pid, first);
  }
  return { dir, files: staged.map((s) => s.path), ...(comparison ? { comparison } : {}) };
}
