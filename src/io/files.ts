/**
 * Files the way every command reads and writes them: a JSON file checked against a zod schema
 * with one set of error codes (unreadable: FILE_NOT_FOUND; not JSON or not the format: the
 * caller's code), and writes that go to a temporary beside the target and are renamed into
 * place, so a reader never sees half a file. Temporaries are named
 * `.<name>.cellbudget-<pid>-<random>.tmp`, which `removeStaleTemporaries` recognises.
 */
import { readFileSync } from 'node:fs';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { z } from 'zod';
import { CellbudgetError, type ErrorCode } from '../core/errors.js';

export interface JsonFileKind {
  /** What the file is, for messages: "report", "calibration file", "config file". */
  readonly what: string;
  /** What to give instead, e.g. "Pass the report.json a `cellbudget run` wrote." */
  readonly hint: string;
}

/** The first few problems zod found, each with the key it is at: "runs.0.scale: expected number". */
function issues(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`)
    .join('; ');
}

/**
 * Read `path` as JSON and check it against `schema`; returns what the schema makes of it. A
 * file that cannot be read is FILE_NOT_FOUND; one that is not JSON, or not what the schema
 * describes, is `code` (REPORT_INVALID, CALIBRATION_INVALID, CONFIG_INVALID…), naming the key.
 */
export function readJsonFile<S extends z.ZodType>(path: string, schema: S, code: ErrorCode, kind: JsonFileKind): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    throw new CellbudgetError(
      'FILE_NOT_FOUND',
      `Cannot read the ${kind.what} ${path}${errno ? ` (${errno})` : ''}.`,
      { file: path, hint: kind.hint },
      { cause: e },
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new CellbudgetError(code, `${path} is not JSON: ${(e as Error).message}.`, { file: path, hint: kind.hint }, { cause: e });
  }
  const r = schema.safeParse(data);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new CellbudgetError(code, `${path} is not a ${kind.what}: ${issues(r.error)}.`, {
      file: path,
      ...(first?.path.length ? { key: first.path.map(String).join('.') } : {}),
      hint: kind.hint,
    });
  }
  return r.data;
}

function tmpName(path: string): string {
  return join(dirname(path), `.${basename(path)}.cellbudget-${process.pid}-${Math.random().toString(36).slice(2, 8)}.tmp`);
}

/**
 * Write `data` to `path` through a temporary in the same folder and a rename (atomic on one
 * file system): a reader sees the old file or the new one, never half of either. The
 * temporary is removed when the write fails; the error is the file system's.
 */
export async function writeAtomic(path: string, data: string | Uint8Array, opts: { mode?: number } = {}): Promise<void> {
  const tmp = tmpName(path);
  try {
    await writeFile(tmp, data, opts.mode !== undefined ? { mode: opts.mode } : {});
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Several files written as one unit: each to its temporary first (a failure removes them all
 * and touches no target), then renamed into place in the order given, with SIGINT, SIGTERM and
 * SIGHUP held until the last rename and `afterRenames` are done (then delivered). Errors go
 * through `onError`. Returns the paths written.
 */
export async function writeAtomicAll(
  files: ReadonlyArray<readonly [path: string, data: string | Uint8Array]>,
  onError: (e: unknown) => Error,
  afterRenames: () => Promise<void> = async () => {},
): Promise<string[]> {
  const staged: Array<{ tmp: string; path: string }> = [];
  try {
    for (const [path, data] of files) {
      const tmp = tmpName(path);
      staged.push({ tmp, path });
      await writeFile(tmp, data);
    }
  } catch (e) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    throw onError(e);
  }
  const pending: NodeJS.Signals[] = [];
  const hold = (sig: NodeJS.Signals): void => void pending.push(sig);
  for (const s of HELD) process.on(s, hold);
  try {
    for (const { tmp, path } of staged) await rename(tmp, path);
    await afterRenames();
  } catch (e) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    throw onError(e);
  } finally {
    for (const s of HELD) process.removeListener(s, hold);
    const first = pending[0];
    if (first !== undefined && process.listenerCount(first) === 0) process.kill(process.pid, first);
  }
  return staged.map((s) => s.path);
}

const HELD: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Whether a process with this pid is alive (a temporary of a live writer is not stale). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// `.<name>.cellbudget-<pid>-<random>.tmp`; older versions wrote `<name>.<pid>.<random>.tmp`.
const TMP_FILE = /^(?:\.(.+)\.cellbudget-(\d+)-[a-z0-9]+|(.+)\.(\d+)\.[a-z0-9]+)\.tmp$/;

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
    if (pidAlive(Number(m[2] ?? m[4]))) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
