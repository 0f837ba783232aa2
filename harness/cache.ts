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
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { synthesize, synthSpecKey, type SynthSpec } from '../src/h5ad/synth.js';
import { pidAlive, writeFileAtomic } from './write-report.js';

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
  if (st.size !== record.bytes) return `it is ${st.size.toLocaleString('en-US')} bytes, its record says ${record.bytes.toLocaleString('en-US')} (truncated or overwritten)`;
  if (st.mtimeMs !== record.verified_mtime_ms) {
    if ((await sha256File(file)) !== record.sha256) return 'its SHA-256 no longer matches its record (the file was modified)';
    await writeFileAtomic(recordPath, `${JSON.stringify({ ...record, verified_mtime_ms: st.mtimeMs }, null, 1)}\n`);
  }
  return null;
}

/**
 * The cached file for `spec` in `cacheDir`, generated (again) when missing or damaged.
 * `onGenerate` is told before a generation starts, with the reason.
 */
export async function cachedSynthetic(spec: SynthSpec, cacheDir: string, onGenerate?: (reason: string) => void): Promise<{ file: string; outcome: CacheOutcome }> {
  mkdirSync(cacheDir, { recursive: true });
  removeStaleCacheTemporaries(cacheDir);
  const key = synthSpecKey(spec);
  const file = join(cacheDir, `${key}.h5ad`);
  const recordPath = join(cacheDir, `${key}.json`);
  const reason = await damage(file, recordPath, key);
  if (reason === null) return { file, outcome: { action: 'reused' } };
  onGenerate?.(reason);
  rmSync(recordPath, { force: true });
  await synthesize(spec, file);
  const st = statSync(file);
  const record: CacheRecord = { version: 1, key, spec, bytes: st.size, sha256: await sha256File(file), verified_mtime_ms: st.mtimeMs, created: new Date().toISOString() };
  await writeFileAtomic(recordPath, `${JSON.stringify(record, null, 1)}\n`);
  return { file, outcome: { action: 'generated', reason } };
}
