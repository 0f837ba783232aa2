/**
 * The synthetic-dataset cache (`.cache/synthetic/`): one `<key>.h5ad` per generator spec and
 * beside it `<key>.json`, which carries the spec, the file's size and its SHA-256. An entry is
 * used only when it checks out: the size must match, and when the file's modification time
 * differs from the one recorded at the last verification the whole file is hashed again. A
 * truncated, edited or half-copied entry, or one without its record (written by an older
 * version), is regenerated instead of failing every later run. Temporary files of a
 * generation that was interrupted (Ctrl-C, SIGKILL) are removed.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { synthesize, synthSpecKey, type SynthSpec } from '../../src/h5ad/synth.js';
import { pidAlive, writeAtomic } from '../../src/io/files.js';

export interface CacheRecord {
  version: 1;
  key: string;
  spec: SynthSpec;
  bytes: number;
  sha256: string;
  /** mtime (ms) of the file when its hash was last checked. */
  verified_mtime_ms: number;
  created: string;
}

/** What `cachedSynthetic` did with the entry. */
export type CacheOutcome = { action: 'reused' } | { action: 'generated'; reason: string };

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

// synthesize() writes `.<name>.<pid>.<time>.tmp` beside its target.
const SYNTH_TMP = /^\..+\.(\d+)\.[a-z0-9]+\.tmp$/;
const swept = new Set<string>();

/** Remove temporaries of generations whose process is gone (once per folder and process). */
export function removeStaleCacheTemporaries(cacheDir: string): string[] {
  if (swept.has(cacheDir)) return [];
  swept.add(cacheDir);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(cacheDir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = SYNTH_TMP.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(cacheDir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function readRecord(path: string): CacheRecord | null {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as CacheRecord;
    return r.version === 1 && typeof r.sha256 === 'string' && typeof r.bytes === 'number' ? r : null;
  } catch {
    return null;
  }
}

/** Why the entry cannot be used as it is, or null when it checks out. */
async function damage(file: string, recordPath: string, key: string): Promise<string | null> {
  if (!existsSync(file)) return 'not generated yet';
  const record = readRecord(recordPath);
  if (!record) return 'it has no checksum record (made by an older cellbudget, or its record is damaged)';
  if (record.key !== key) return 'its record belongs to another spec';
  const st = statSync(file);
  if (st.size !== record.bytes)
    return `it is ${st.size.toLocaleString('en-US')} bytes, its record says ${record.bytes.toLocaleString('en-US')} (truncated or overwritten)`;
  if (st.mtimeMs !== record.verified_mtime_ms) {
    if ((await sha256File(file)) !== record.sha256) return 'its SHA-256 no longer matches its record (the file was modified)';
    await writeAtomic(recordPath, `${JSON.stringify({ ...record, verified_mtime_ms: st.mtimeMs }, null, 1)}\n`);
  }
  return null;
}

/** Where the cache keeps the file for `spec` (whether or not it is there yet). */
export function cachedSyntheticPath(spec: SynthSpec, cacheDir: string): string {
  return join(cacheDir, `${synthSpecKey(spec)}.h5ad`);
}

/**
 * The cached file for `spec` in `cacheDir`, generated (again) when missing or damaged.
 * `onGenerate` is told before a generation starts, with the reason. `sweep: false` leaves
 * other generations' temporaries alone (a folder other machines write to: their pids mean
 * nothing here).
 */
export async function cachedSynthetic(
  spec: SynthSpec,
  cacheDir: string,
  onGenerate?: (reason: string) => void,
  opts: { sweep?: boolean } = {},
): Promise<{ file: string; outcome: CacheOutcome }> {
  mkdirSync(cacheDir, { recursive: true });
  if (opts.sweep !== false) removeStaleCacheTemporaries(cacheDir);
  const key = synthSpecKey(spec);
  const file = join(cacheDir, `${key}.h5ad`);
  const recordPath = join(cacheDir, `${key}.json`);
  const reason = await damage(file, recordPath, key);
  if (reason === null) return { file, outcome: { action: 'reused' } };
  onGenerate?.(reason);
  rmSync(recordPath, { force: true });
  await synthesize(spec, file);
  const st = statSync(file);
  const record: CacheRecord = {
    version: 1,
    key,
    spec,
    bytes: st.size,
    sha256: await sha256File(file),
    verified_mtime_ms: st.mtimeMs,
    created: new Date().toISOString(),
  };
  await writeAtomic(recordPath, `${JSON.stringify(record, null, 1)}\n`);
  return { file, outcome: { action: 'generated', reason } };
}

export interface SharedCacheOptions {
  /** A lock not refreshed for this long belonged to a generator that died (default 60 s). */
  staleMs?: number;
  /** How often a waiting job looks at the lock again (default 1 s). */
  pollMs?: number;
  /** Told once when this job waits for another's generation. */
  onWait?: (holder: string) => void;
}

/**
 * `cachedSynthetic` for a cache several machines share (Slurm jobs on several nodes at once):
 * one generator per entry at a time, through a lock file created exclusively (`wx`, which NFS
 * v3+ honours) and touched while it works; the others wait, then reuse the entry. A lock
 * untouched for `staleMs` belonged to a job that died and is taken over, with the entry's
 * half-written temporaries.
 */
export async function sharedCachedSynthetic(
  spec: SynthSpec,
  cacheDir: string,
  onGenerate?: (reason: string) => void,
  opts: SharedCacheOptions = {},
): Promise<{ file: string; outcome: CacheOutcome }> {
  const staleMs = opts.staleMs ?? 60_000;
  const pollMs = opts.pollMs ?? 1000;
  mkdirSync(cacheDir, { recursive: true });
  const key = synthSpecKey(spec);
  const lock = join(cacheDir, `${key}.lock`);
  let told = false;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let age = 0;
      let holder = 'another job';
      try {
        age = Date.now() - statSync(lock).mtimeMs;
        holder = readFileSync(lock, 'utf8').trim() || holder;
      } catch {
        continue; // released meanwhile
      }
      if (age > staleMs) {
        rmSync(lock, { force: true });
        continue;
      }
      if (!told) opts.onWait?.(holder);
      told = true;
      await new Promise((r) => setTimeout(r, pollMs));
      continue;
    }
    writeSync(fd, `${hostname()} pid ${process.pid}\n`);
    closeSync(fd);
    const heartbeat = setInterval(
      () => {
        try {
          const now = new Date();
          utimesSync(lock, now, now);
        } catch {
          // taken over after all; the rename below still leaves a whole file
        }
      },
      Math.max(1000, staleMs / 4),
    );
    heartbeat.unref();
    try {
      // Under the lock, any temporary of this entry is a dead generator's.
      for (const name of readdirSync(cacheDir))
        if (name.startsWith(`.${key}.h5ad.`) && name.endsWith('.tmp')) rmSync(join(cacheDir, name), { force: true });
      return await cachedSynthetic(spec, cacheDir, onGenerate, { sweep: false });
    } finally {
      clearInterval(heartbeat);
      rmSync(lock, { force: true });
    }
  }
}
