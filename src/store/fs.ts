/**
 * The store on disk: a StoreSink over a directory (positioned writes through a small cache of
 * open files), and the way a store comes into place. It is written into a hidden sibling
 * (`.NAME.cellbudget-<pid>-<random>.partial`), completed with a marker file, then renamed over
 * the target; an existing store is replaced only when asked (`force`), itself renamed aside
 * first and removed after. A run that dies leaves its partial sibling, which has no marker, is
 * not at the target's name, and is removed by the next run in that folder.
 * docs/training-store.md#safe-output
 */
import {
  closeSync,
  constants,
  existsSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CellbudgetError } from '../core/errors.js';
import { pidAlive } from '../io/files.js';
import type { StoreSink } from './sink.js';

/** The completion marker, written last into a store: our readers refuse a store without it. */
export const STORE_MARKER = '.cellbudget-store.json';

/**
 * Open chunk files kept at once: each distribution's current chunk, mostly, since every window
 * writes to every distribution it holds rows of; the least recently used is closed. Below the
 * common limit of 1024 open files; a lower limit (EMFILE) halves it.
 */
export const OPEN_FILES = 768;

function unwritable(path: string, e: unknown, what: string): CellbudgetError {
  const errno = (e as NodeJS.ErrnoException).code;
  const full = errno === 'ENOSPC' || errno === 'EDQUOT';
  return new CellbudgetError(
    'OUTPUT_UNWRITABLE',
    `Cannot ${what} ${path}${errno ? ` (${errno})` : ''}${full ? ': the disk is full' : ''}.`,
    {
      file: path,
      hint: full
        ? 'Free space on that file system (the store takes about the size of the representation), or write it elsewhere with --out.'
        : 'Check that the folder exists, is writable, and is not a file; or write the store elsewhere with --out.',
    },
    { cause: e },
  );
}

/** A StoreSink writing under `root`: keys are relative paths. Call `close()` (also on errors). */
export class DirectorySink implements StoreSink {
  readonly root: string;
  readonly #dirs = new Set<string>();
  /** Open files by key, least recently used first. */
  readonly #open = new Map<string, number>();
  #capacity: number;

  constructor(root: string, capacity = OPEN_FILES) {
    this.root = root;
    this.#capacity = capacity;
    this.#dirs.add(root);
  }

  #path(key: string): string {
    const path = join(this.root, key);
    const dir = dirname(path);
    if (!this.#dirs.has(dir)) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw unwritable(dir, e, 'create the folder');
      }
      this.#dirs.add(dir);
    }
    return path;
  }

  #fd(key: string): number {
    const hit = this.#open.get(key);
    if (hit !== undefined) {
      this.#open.delete(key);
      this.#open.set(key, hit);
      return hit;
    }
    this.#closeDownTo(this.#capacity - 1);
    const path = this.#path(key);
    let fd: number;
    try {
      fd = this.#openChunk(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'EMFILE' && code !== 'ENFILE') || this.#open.size < 2) throw unwritable(path, e, 'open');
      // The process may hold fewer files than we thought: keep half as many open.
      this.#capacity = Math.max(1, this.#open.size >> 1);
      this.#closeDownTo(this.#capacity - 1);
      try {
        fd = this.#openChunk(path);
      } catch (e2) {
        throw unwritable(path, e2, 'open');
      }
    }
    this.#open.set(key, fd);
    return fd;
  }

  #openChunk(path: string): number {
    // Not truncated: a chunk is filled window by window, and may be closed and reopened meanwhile.
    return openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o644);
  }

  /** Close the least recently used files until at most `n` are open. */
  #closeDownTo(n: number): void {
    while (this.#open.size > Math.max(0, n)) {
      const [oldKey, oldFd] = this.#open.entries().next().value as [string, number];
      this.#open.delete(oldKey);
      closeSync(oldFd);
    }
  }

  set(key: string, bytes: Uint8Array): void {
    const path = this.#path(key);
    try {
      writeFileSync(path, bytes);
    } catch (e) {
      throw unwritable(path, e, 'write');
    }
  }

  writeAt(key: string, offset: number, bytes: Uint8Array): void {
    const fd = this.#fd(key);
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
    } catch (e) {
      throw unwritable(join(this.root, key), e, 'write');
    }
  }

  resize(key: string, size: number): void {
    const fd = this.#fd(key);
    try {
      ftruncateSync(fd, size);
    } catch (e) {
      throw unwritable(join(this.root, key), e, 'extend');
    }
  }

  /** Close every open file. Idempotent. */
  close(): void {
    for (const fd of this.#open.values()) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.#open.clear();
  }
}

// `.<name>.cellbudget-<pid>-<random>.partial` (being written) and `.old` (a replaced store on its way out).
const PARTIAL = /^\.(.+)\.cellbudget-(\d+)-[a-z0-9]+\.(partial|old)$/;

/** A fresh hidden sibling of `target` to write the store into. */
export function partialDirFor(target: string): string {
  const dir = join(dirname(target), `.${basename(target)}.cellbudget-${process.pid}-${Math.random().toString(36).slice(2, 8)}.partial`);
  try {
    mkdirSync(dir);
  } catch (e) {
    throw unwritable(dir, e, 'create the folder');
  }
  return dir;
}

/** Remove partial stores (and replaced ones) that writers which are no longer running left in `dir`. */
export function removeStalePartials(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = PARTIAL.exec(name);
    if (!m || pidAlive(Number(m[2]))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** STORE_EXISTS unless `force`: a store (or anything) already at `target`. */
export function checkTarget(target: string, force: boolean): boolean {
  let exists: boolean;
  try {
    lstatSync(target);
    exists = true;
  } catch {
    exists = false;
  }
  if (exists && !force) {
    throw new CellbudgetError('STORE_EXISTS', `${target} already exists; cellbudget does not overwrite a store unless asked.`, {
      file: target,
      hint: 'Pass --force to replace it (the old store stays whole until the new one is complete), or choose another --out.',
    });
  }
  return exists;
}

const HELD: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Run `fn` with termination signals held (delivered after it), so it is not cut in half. */
function withSignalsHeld<T>(fn: () => T): T {
  const pending: NodeJS.Signals[] = [];
  const hold = (sig: NodeJS.Signals): void => void pending.push(sig);
  for (const s of HELD) process.on(s, hold);
  try {
    return fn();
  } finally {
    for (const s of HELD) process.removeListener(s, hold);
    const first = pending[0];
    if (first !== undefined && process.listenerCount(first) === 0) process.kill(process.pid, first);
  }
}

/**
 * Put the complete store in `partial` at `target`. With `force`, an existing target is first
 * renamed aside and removed once the new store is in place; termination signals wait until both
 * renames are done. Without `force`, a target that appeared meanwhile is STORE_EXISTS.
 */
export function commitStore(partial: string, target: string, force: boolean): { replaced: boolean } {
  const replaced = checkTarget(target, force);
  const aside = replaced ? partial.replace(/\.partial$/, '.old') : null;
  withSignalsHeld(() => {
    try {
      if (aside !== null) renameSync(target, aside);
      renameSync(partial, target);
    } catch (e) {
      if (aside !== null && !existsSync(target) && existsSync(aside)) renameSync(aside, target);
      throw unwritable(target, e, 'move the new store to');
    }
  });
  if (aside !== null) rmSync(aside, { recursive: true, force: true });
  return { replaced };
}

/** Write the completion marker into `dir` (through a temporary and a rename: never half a marker). */
export function writeMarker(dir: string, info: Readonly<Record<string, unknown>>): void {
  const tmp = join(dir, `${STORE_MARKER}.tmp`);
  try {
    writeFileSync(tmp, `${JSON.stringify({ complete: true, ...info }, null, 1)}\n`);
    renameSync(tmp, join(dir, STORE_MARKER));
  } catch (e) {
    throw unwritable(dir, e, 'complete the store');
  }
}

/**
 * The completion marker of the store at `path`: what `prepare` wrote last. STORE_INCOMPLETE when
 * there is none (a store being written, or one an interrupted run left), FILE_NOT_FOUND when
 * there is no store at all.
 */
export function readStoreMarker(path: string): Record<string, unknown> {
  if (!existsSync(path)) {
    throw new CellbudgetError('FILE_NOT_FOUND', `There is no store at ${path}.`, {
      file: path,
      hint: 'Write one with `cellbudget prepare FILE.h5ad --config CONFIG.json --out STORE.zarr`.',
    });
  }
  let text: string;
  try {
    text = readFileSync(join(path, STORE_MARKER), 'utf8');
  } catch (e) {
    throw new CellbudgetError(
      'STORE_INCOMPLETE',
      `${path} has no completion marker (${STORE_MARKER}): it is being written, or a run that wrote it was interrupted.`,
      { file: path, hint: 'Write it again with `cellbudget prepare … --force`.' },
      { cause: e },
    );
  }
  try {
    const marker = JSON.parse(text) as Record<string, unknown>;
    if (marker['complete'] === true) return marker;
  } catch {
    // fall through
  }
  throw new CellbudgetError('STORE_INCOMPLETE', `${path}: its completion marker ${STORE_MARKER} is damaged.`, {
    file: path,
    hint: 'Write the store again with `cellbudget prepare … --force`.',
  });
}

/** Bytes of every file under `dir` (a store's size on disk, as its files' lengths). */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += directoryBytes(p);
    else total += statSync(p).size;
  }
  return total;
}
