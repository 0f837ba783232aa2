/**
 * The split manifest: what `cellbudget split --json` prints. Exactly the fields of
 * `expected` in the golden files, so a manifest can be compared with the reference's.
 */
import type { Label } from '../core/data.js';
import type { Split } from '../core/names.js';
import type { GroupPlan } from './grouping.js';
import { nSrc, nTgt } from './grouping.js';
import type { SplitAssignment } from './splitter.js';

export type SrcToTgtJson = Array<[number, number[]]>;

export interface SplitManifestEntry {
  tgt: number[];
  src: number[];
  src_to_tgt: SrcToTgtJson;
}

export interface SplitManifest {
  n_obs: number;
  src_to_tgt: SrcToTgtJson;
  src_rows?: Record<string, number[]>;
  tgt_rows?: Record<string, number[]>;
  src_labels: Record<string, Label[]>;
  tgt_labels: Record<string, Label[]>;
  conditions: Record<string, Record<string, number[]>>;
  splits: Record<Split, SplitManifestEntry>;
}

function srcToTgtJson(m: ReadonlyArray<readonly [number, readonly number[]]>): SrcToTgtJson {
  return m.map(([s, ts]) => [s, [...ts]]);
}

function rowsJson(rows: Int32Array, offsets: Int32Array, n: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (let d = 0; d < n; d++) out[String(d)] = Array.from(rows.subarray(offsets[d]!, offsets[d + 1]!));
  return out;
}

/** Build the manifest of a plan and its split assignment; `rows` adds src_rows/tgt_rows. */
export function buildManifest(plan: GroupPlan, a: SplitAssignment, opts: { rows?: boolean } = {}): SplitManifest {
  const src_labels: Record<string, Label[]> = {};
  plan.srcLabels.forEach((l, i) => (src_labels[String(i)] = [...l]));
  const tgt_labels: Record<string, Label[]> = {};
  plan.tgtLabels.forEach((l, i) => (tgt_labels[String(i)] = [...l]));
  const conditions: Record<string, Record<string, number[]>> = {};
  plan.conditions.forEach((c, i) => {
    const o: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(c)) o[k] = Array.from(v);
    conditions[String(i)] = o;
  });
  const entry = (s: Split): SplitManifestEntry => ({
    tgt: Array.from(a.tgt[s]),
    src: Array.from(a.src[s]),
    src_to_tgt: srcToTgtJson(a.srcToTgt[s]),
  });
  return {
    n_obs: plan.nObs,
    src_to_tgt: srcToTgtJson(plan.srcToTgt),
    ...(opts.rows
      ? { src_rows: rowsJson(plan.srcRows, plan.srcOffsets, nSrc(plan)), tgt_rows: rowsJson(plan.tgtRows, plan.tgtOffsets, nTgt(plan)) }
      : {}),
    src_labels,
    tgt_labels,
    conditions,
    splits: { train: entry('train'), val: entry('val'), test: entry('test') },
  };
}
