import { z } from 'zod';
import { readJsonFile } from '../io/files.js';
import { itemSize } from '../core/data.js';
import type { DatasetSource, DirectRegion, Label } from '../core/data.js';
import { h5Ready } from '../h5ad/file.js';
import { withH5ad } from '../h5ad/source.js';
import { parsePipelineConfig } from '../pipeline/config.js';
import type { PipelineConfig } from '../pipeline/config.js';
import { copyDistributions, layoutCopy, nSrc, nTgt, planGroups, sourceRows } from '../pipeline/grouping.js';
import type { GroupPlan } from '../pipeline/grouping.js';
import { buildManifest } from '../pipeline/manifest.js';
import { assignSplits, copyDigest } from '../pipeline/splitter.js';
import type { SplitAssignment } from '../pipeline/splitter.js';
import { SPLITS } from '../core/names.js';
import type { Split } from '../core/names.js';
import { formatBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import type { RegisterCommand } from './context.js';
import { choiceOption } from './options.js';
import { digestShared, fillShared, helperStarted, HELPER_MIN_BYTES, startCopyHelper, stopCopyHelper } from './split-copy.js';
import type { DigestJob } from './split-copy.js';

/** Read CONFIG.json: the golden files' `config` shape, or a golden file itself (its `config` is used). */
export function readPipelineConfig(path: string): PipelineConfig {
  let json = readJsonFile(path, z.unknown(), 'CONFIG_INVALID', {
    what: 'config file',
    hint: 'Pass the path of a JSON file with the DataManager and split settings.',
  });
  if (typeof json === 'object' && json !== null && !('dist_flag_key' in json) && 'config' in json)
    json = (json as { config: unknown }).config;
  return parsePipelineConfig(json, path);
}

interface SplitDigests {
  readonly digests: Record<Split, { sha256: string; bytes: number }>;
  /** Threads that copied and hashed (2: with the helper of split-copy.ts). */
  readonly threads: 1 | 2;
}

/** Runs one named stage of `cellbudget split` (the benchmark times each; the CLI just calls it). */
export type SplitStage = <T>(name: 'plan' | 'assign' | 'materialize' | 'digest', fn: () => T) => T;

/** What `cellbudget split` computes for a file. */
export interface SplitResult {
  readonly plan: GroupPlan;
  readonly assignment: SplitAssignment;
  readonly digests: SplitDigests | null;
}

/**
 * The pools `split --digest` copies into: one buffer for the sources and one per split's
 * targets. Nothing here is dropped, and a few large buffers cost less to allocate and fill than
 * ~10^5 small ones.
 */
export function splitPools(plan: GroupPlan, a: SplitAssignment): { src: Int32Array; tgt: Int32Array } {
  return { src: new Int32Array(nSrc(plan)), tgt: Int32Array.from(a.tupleOfTgt, (ti) => 1 + SPLITS.indexOf(a.tupleSplit[ti]!)) };
}

/** The three splits to hash: each one's targets and sources. */
export function splitDigestJobs(a: SplitAssignment): DigestJob[] {
  return SPLITS.map((s) => ({ split: s, tgt: a.tgt[s], src: a.src[s] }));
}

/** How `runSplit` works: `threads` 1 or 2 forces the copy onto one thread or two; default: two when it pays. */
export interface SplitOptions {
  readonly digest: boolean;
  readonly threads?: 1 | 2;
}

/**
 * The work of `cellbudget split` on an open source: plan from obs, assign splits, and with
 * `digest` copy every distribution out (streamed in windows) and hash each split.
 *
 * An uncompressed contiguous representation of at least HELPER_MIN_BYTES is copied and hashed
 * on two threads (split-copy.ts); the helper starts first, so it boots while obs is planned.
 * Anything else (compressed, chunked, sparse, small) is copied on this thread.
 */
export function runSplit(src: DatasetSource, config: PipelineConfig, opts: SplitOptions, stage: SplitStage = (_, fn) => fn()): SplitResult {
  let region: DirectRegion | null = null;
  if (opts.digest && opts.threads !== 1) {
    try {
      region = src.directRegion?.(config.data_location) ?? null;
    } catch {
      region = null; // a wrong location is reported by planning, in its order
    }
    if (region !== null && opts.threads !== 2 && region.rows * region.cols * itemSize(region.dtype) < HELPER_MIN_BYTES) region = null;
  }
  let helper = region !== null ? startCopyHelper() : null;
  try {
    const plan = stage('plan', () => planGroups(config, src));
    const assignment = stage('assign', () => assignSplits(plan, config.split));
    if (!opts.digest) return { plan, assignment, digests: null };
    const pools = splitPools(plan, assignment);
    // No forced collection of planning's transients (obs columns, keys) before the copy: it
    // lowered the peak by 7-18 MB but cost 10-30 ms (1M cells, 10 runs alternating: 1.06 ->
    // 1.03 s, 325 -> 343 MB without it), and V8 collects them without a full collection of its
    // own once the copy is allocated.
    if (helper !== null && region !== null && helperStarted(helper)) {
      const h = helper;
      const r = region;
      helper = null; // from here on, the shared copy stops it
      const jobs = splitDigestJobs(assignment);
      // The helper hashes the split with the most target cells; this thread the other two.
      const cells = (s: Split): number => cellsOf(plan, assignment.tgt[s], new Int32Array()).tgtCells;
      const largest = SPLITS.reduce((a, b) => (cells(b) > cells(a) ? b : a));
      const shared = stage('materialize', () =>
        fillShared(h, layoutCopy(plan, r, undefined, { pools, shared: true, oneBuffer: true }), r, jobs, [largest]),
      );
      const digests = stage('digest', () => digestShared(shared));
      return { plan, assignment, digests: { digests, threads: 2 } };
    }
    const copy = stage('materialize', () => copyDistributions(plan, sourceRows(src, config.data_location), undefined, { pools }));
    const digests = stage('digest', () => {
      const out = {} as Record<Split, { sha256: string; bytes: number }>;
      for (const s of SPLITS) out[s] = copyDigest(copy, assignment, s);
      return out;
    });
    return { plan, assignment, digests: { digests, threads: 1 } };
  } finally {
    stopCopyHelper(helper);
  }
}

function fmtLabel(l: Label): string {
  return typeof l === 'string' ? l : String(l);
}

function cellsOf(plan: GroupPlan, tgt: Int32Array, src: Int32Array): { tgtCells: number; srcCells: number } {
  let tgtCells = 0;
  for (const t of tgt) tgtCells += plan.tgtOffsets[t + 1]! - plan.tgtOffsets[t]!;
  let srcCells = 0;
  for (const s of src) srcCells += plan.srcOffsets[s + 1]! - plan.srcOffsets[s]!;
  return { tgtCells, srcCells };
}

function summary(file: string, config: PipelineConfig, plan: GroupPlan, a: SplitAssignment, d: SplitDigests | null): string {
  const lines: string[] = [];
  const ctl = Object.entries(plan.controlValue)
    .map(([k, v]) => `${k}=${fmtLabel(v)}`)
    .join(', ');
  lines.push(`${file}: ${plan.nObs} cells`);
  lines.push(`  sources (${plan.srcKeys.join(', ')}): ${nSrc(plan)}, ${plan.srcRows.length} control cells`);
  lines.push(`  targets (${[...plan.srcKeys, ...plan.tgtKeys].join(', ')}): ${nTgt(plan)}, ${plan.tgtRows.length} perturbed cells`);
  lines.push(`  control value: ${ctl}`);
  if (plan.droppedCells > 0) lines.push(`  cells with a missing key value (in no distribution): ${plan.droppedCells}`);
  const { ratios, random_state, split_by } = config.split;
  lines.push(
    `split by (${split_by.join(', ')}): ${a.tuples.length} unique tuples, ratios ${ratios.join('/')}, random_state ${random_state}`,
  );
  const forced = a.forced.reduce((n, f) => n + f, 0);
  if (forced > 0) lines.push(`  forced into train: ${forced} tuple(s)`);
  const perSplit = SPLITS.map((s) => {
    const c = cellsOf(plan, a.tgt[s], a.src[s]);
    const digest = d ? [formatBytes(d.digests[s].bytes), `sha256 ${d.digests[s].sha256.slice(0, 16)}`] : [];
    return [
      s,
      `${a.sizes[s]} tuples`,
      `${a.tgt[s].length} targets`,
      `${a.src[s].length} sources`,
      `${c.tgtCells} target cells`,
      `${c.srcCells} source cells`,
      ...digest,
    ];
  });
  lines.push(formatTable(perSplit, { indent: '  ', align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'] }));
  if (d) lines.push(`  (every distribution copied and hashed on ${d.threads === 2 ? 'two threads' : 'one thread'})`);
  const MAX = 12;
  for (const s of SPLITS) {
    const tuples = a.tuples
      .filter((_, i) => a.tupleSplit[i] === s)
      .map((t) => (t.length === 1 ? fmtLabel(t[0]!) : `(${t.map(fmtLabel).join(', ')})`));
    lines.push(`  ${s}: ${tuples.slice(0, MAX).join(', ')}${tuples.length > MAX ? `, ... (${tuples.length - MAX} more)` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** `cellbudget split FILE --config CONFIG.json [--rows] [--json] [--digest]`. */
export const registerSplit: RegisterCommand = (program, ctx) => {
  program
    .command('split')
    .description(
      'Group an .h5ad file into source/target distributions and split them like the reference pipeline; print the split manifest',
    )
    .argument('<file>', 'the .h5ad file')
    .requiredOption(
      '--config <config.json>',
      'DataManager + split settings (the golden files\' "config" shape; a golden file itself also works)',
    )
    .option('--rows', 'include src_rows / tgt_rows (row positions of every distribution) in the manifest')
    .option('--json', 'print the manifest as JSON (the fields of the golden files\' "expected")')
    .option(
      '--digest',
      'also copy the distributions out of the representation and print each split\'s bytes and SHA-256 (adds "digests" to --json)',
    )
    .addOption(
      choiceOption(
        '--threads <n>',
        `threads for --digest's copy and hashing (default: 2 when the representation is uncompressed, contiguous and at least ${formatBytes(HELPER_MIN_BYTES)}, else 1); the digests are the same`,
        ['1', '2'] as const,
        'a thread count',
      ),
    )
    .action(async (file: string, opts: { config: string; rows?: boolean; json?: boolean; digest?: boolean; threads?: '1' | '2' }) => {
      const config = readPipelineConfig(opts.config);
      await h5Ready();
      withH5ad(file, (src) => {
        const {
          plan,
          assignment: a,
          digests: d,
        } = runSplit(src, config, { digest: opts.digest === true, ...(opts.threads ? { threads: opts.threads === '1' ? 1 : 2 } : {}) });
        for (const w of a.warnings) ctx.io.stderr.write(`cellbudget: warning: ${w}\n`);
        if (opts.threads === '2' && d?.threads === 1) {
          ctx.io.stderr.write(
            `cellbudget: note: ${config.data_location.join('/')} in ${file} was copied on one thread: two threads need a matrix they can read straight from the file (uncompressed, contiguous, float) and a helper thread that starts; the digests are the same.\n`,
          );
        }
        if (opts.json) {
          const manifest = buildManifest(plan, a, { rows: opts.rows === true });
          ctx.io.stdout.write(JSON.stringify(d ? { ...manifest, digests: d.digests } : manifest) + '\n');
        } else {
          ctx.io.stdout.write(summary(file, config, plan, a, d));
        }
      });
    });
};
