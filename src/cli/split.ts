import { z } from 'zod';
import { readJsonFile } from '../io/files.js';
import type { DatasetSource, Label } from '../core/data.js';
import { h5Ready } from '../h5ad/file.js';
import { withH5ad } from '../h5ad/source.js';
import { parsePipelineConfig } from '../pipeline/config.js';
import type { PipelineConfig } from '../pipeline/config.js';
import { copyDistributions, nSrc, nTgt, planGroups, sourceRows } from '../pipeline/grouping.js';
import type { GroupPlan } from '../pipeline/grouping.js';
import { buildManifest } from '../pipeline/manifest.js';
import { assignSplits, copyDigest } from '../pipeline/splitter.js';
import type { SplitAssignment } from '../pipeline/splitter.js';
import { SPLITS } from '../core/names.js';
import type { Split } from '../core/names.js';
import { formatBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import type { RegisterCommand } from './context.js';

/** Read CONFIG.json: the golden files' `config` shape, or a golden file itself (its `config` is used). */
export function readPipelineConfig(path: string): PipelineConfig {
  let json = readJsonFile(path, z.unknown(), 'CONFIG_INVALID', { what: 'config file', hint: 'Pass the path of a JSON file with the DataManager and split settings.' });
  if (typeof json === 'object' && json !== null && !('dist_flag_key' in json) && 'config' in json) json = (json as { config: unknown }).config;
  return parsePipelineConfig(json, path);
}

interface SplitDigests {
  readonly digests: Record<Split, { sha256: string; bytes: number }>;
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
 * The work of `cellbudget split` on an open source: plan from obs, assign splits, and with
 * `digest` copy every distribution out (streamed in windows) and hash each split.
 *
 * All on this thread. A helper thread that faulted in the copy's pages and hashed the largest
 * split was measured not to help here: on 2 shared cores its start-up and the cores' contention
 * cost more than it saved (1M cells: 1.36-1.48 s against 1.21-1.31 s), and it added ~25 MB.
 */
export function runSplit(src: DatasetSource, config: PipelineConfig, opts: { digest: boolean }, stage: SplitStage = (_, fn) => fn()): SplitResult {
  const plan = stage('plan', () => planGroups(config, src));
  const assignment = stage('assign', () => assignSplits(plan, config.split));
  if (!opts.digest) return { plan, assignment, digests: null };
  // One buffer for the sources and one per split's targets: nothing here is dropped, and a
  // few large buffers cost less to allocate and fill than ~10^5 small ones.
  const pools = {
    src: new Int32Array(nSrc(plan)),
    tgt: Int32Array.from(assignment.tupleOfTgt, (ti) => 1 + SPLITS.indexOf(assignment.tupleSplit[ti]!)),
  };
  const copy = stage('materialize', () => copyDistributions(plan, sourceRows(src, config.data_location), undefined, { pools }));
  const digests = stage('digest', () => {
    const out = {} as Record<Split, { sha256: string; bytes: number }>;
    for (const s of SPLITS) out[s] = copyDigest(copy, assignment, s);
    return out;
  });
  return { plan, assignment, digests: { digests } };
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
  const ctl = Object.entries(plan.controlValue).map(([k, v]) => `${k}=${fmtLabel(v)}`).join(', ');
  lines.push(`${file}: ${plan.nObs} cells`);
  lines.push(`  sources (${plan.srcKeys.join(', ')}): ${nSrc(plan)}, ${plan.srcRows.length} control cells`);
  lines.push(`  targets (${[...plan.srcKeys, ...plan.tgtKeys].join(', ')}): ${nTgt(plan)}, ${plan.tgtRows.length} perturbed cells`);
  lines.push(`  control value: ${ctl}`);
  if (plan.droppedCells > 0) lines.push(`  cells with a missing key value (in no distribution): ${plan.droppedCells}`);
  const { ratios, random_state, split_by } = config.split;
  lines.push(`split by (${split_by.join(', ')}): ${a.tuples.length} unique tuples, ratios ${ratios.join('/')}, random_state ${random_state}`);
  const forced = a.forced.reduce((n, f) => n + f, 0);
  if (forced > 0) lines.push(`  forced into train: ${forced} tuple(s)`);
  const perSplit = SPLITS.map((s) => {
    const c = cellsOf(plan, a.tgt[s], a.src[s]);
    const digest = d ? [formatBytes(d.digests[s].bytes), `sha256 ${d.digests[s].sha256.slice(0, 16)}`] : [];
    return [s, `${a.sizes[s]} tuples`, `${a.tgt[s].length} targets`, `${a.src[s].length} sources`, `${c.tgtCells} target cells`, `${c.srcCells} source cells`, ...digest];
  });
  lines.push(formatTable(perSplit, { indent: '  ', align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'] }));
  const MAX = 12;
  for (const s of SPLITS) {
    const tuples = a.tuples.filter((_, i) => a.tupleSplit[i] === s).map((t) => (t.length === 1 ? fmtLabel(t[0]!) : `(${t.map(fmtLabel).join(', ')})`));
    lines.push(`  ${s}: ${tuples.slice(0, MAX).join(', ')}${tuples.length > MAX ? `, ... (${tuples.length - MAX} more)` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** `cellbudget split FILE --config CONFIG.json [--rows] [--json] [--digest]`. */
export const registerSplit: RegisterCommand = (program, ctx) => {
  program
    .command('split')
    .description('Group an .h5ad file into source/target distributions and split them like the reference pipeline; print the split manifest')
    .argument('<file>', 'the .h5ad file')
    .requiredOption('--config <config.json>', 'DataManager + split settings (the golden files\' "config" shape; a golden file itself also works)')
    .option('--rows', 'include src_rows / tgt_rows (row positions of every distribution) in the manifest')
    .option('--json', 'print the manifest as JSON (the fields of the golden files\' "expected")')
    .option('--digest', 'also copy the distributions out of the representation and print each split\'s bytes and SHA-256 (adds "digests" to --json)')
    .action(async (file: string, opts: { config: string; rows?: boolean; json?: boolean; digest?: boolean }) => {
      const config = readPipelineConfig(opts.config);
      await h5Ready();
      withH5ad(file, (src) => {
        const { plan, assignment: a, digests: d } = runSplit(src, config, { digest: opts.digest === true });
        for (const w of a.warnings) ctx.io.stderr.write(`cellbudget: warning: ${w}\n`);
        if (opts.json) {
          const manifest = buildManifest(plan, a, { rows: opts.rows === true });
          ctx.io.stdout.write(JSON.stringify(d ? { ...manifest, digests: d.digests } : manifest) + '\n');
        } else {
          ctx.io.stdout.write(summary(file, config, plan, a, d));
        }
      });
    });
};
