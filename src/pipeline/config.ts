/**
 * The DataManager and splitter settings, validated like the reference (and a little more:
 * the flag may be derived from a column value, e.g. control = `drug == "DMSO_TF"`).
 */
import { z } from 'zod';
import { CellbudgetError } from '../core/errors.js';
import type { Label } from '../core/data.js';

/** A flag derived from a column: a cell is a control when `obs[column] == equals`. */
export interface DerivedFlag {
  column: string;
  equals: Label;
}

export interface DataManagerConfig {
  /** Boolean obs column marking control cells, or a derived flag. */
  dist_flag_key: string | DerivedFlag;
  src_dist_keys: string[];
  tgt_dist_keys: string[];
  /** covariate (a src or tgt key) → uns key holding its embeddings. */
  rep_keys: Record<string, string>;
  /** Path of the representation, e.g. ['obsm', 'X_pca'], ['X'], ['layers', 'counts']. */
  data_location: string[];
}

export interface SplitConfig {
  split_by: string[];
  ratios: [number, number, number];
  random_state: number;
  holdout_combinations: boolean;
  force_training_values: Record<string, Label | Label[]>;
}

export interface PipelineConfig extends DataManagerConfig {
  split: SplitConfig;
}

/** The obs column the flag is read from. */
export function flagColumn(config: DataManagerConfig): string {
  return typeof config.dist_flag_key === 'string' ? config.dist_flag_key : config.dist_flag_key.column;
}

const label = z.union([z.string(), z.number(), z.boolean()]);
const nonEmptyKey = z.string().min(1);

const splitSchema = z.strictObject({
  split_by: z.array(nonEmptyKey).min(1),
  ratios: z.array(z.number()),
  random_state: z.number().int().min(0).max(0xffffffff).default(0),
  holdout_combinations: z.boolean().default(false),
  force_training_values: z.record(z.string(), z.union([label, z.array(label)])).default({}),
});

const dataManagerShape = {
  dist_flag_key: z.union([nonEmptyKey, z.strictObject({ column: nonEmptyKey, equals: label })]),
  src_dist_keys: z.array(nonEmptyKey).min(1),
  tgt_dist_keys: z.array(nonEmptyKey).min(1),
  rep_keys: z.record(z.string(), nonEmptyKey).default({}),
  data_location: z.array(nonEmptyKey).min(1),
};

const dataManagerSchema = z.strictObject(dataManagerShape);
/**
 * The pipeline config's shape (the golden files' `config`; a scenario's `pipeline:`). What it
 * cannot say (disjoint keys, ratios summing to 1, force keys within split_by) parsePipelineConfig checks.
 */
export const pipelineConfigSchema = z.strictObject({ ...dataManagerShape, split: splitSchema });

function invalid(where: string | undefined, key: string, message: string, value?: unknown, hint?: string): CellbudgetError {
  return new CellbudgetError('CONFIG_INVALID', `${where ? `${where}: ` : ''}config key '${key}' ${message}`, {
    key,
    ...(where !== undefined ? { file: where } : {}),
    ...(value !== undefined ? { value } : {}),
    hint: hint ?? 'Fix that key in the configuration (the golden files under shared/golden show the expected shape).',
  });
}

function zodError(e: z.ZodError, where: string | undefined): CellbudgetError {
  const issue = e.issues[0];
  const key = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  return invalid(where, key, `is invalid: ${issue?.message ?? 'unknown problem'}.`);
}

function checkUnique(where: string | undefined, key: string, values: readonly string[]): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw invalid(where, key, `lists '${v}' twice.`, values, 'Each key may appear once.');
    seen.add(v);
  }
}

function checkDataManager(c: DataManagerConfig, where: string | undefined): void {
  checkUnique(where, 'src_dist_keys', c.src_dist_keys);
  checkUnique(where, 'tgt_dist_keys', c.tgt_dist_keys);
  const both = c.src_dist_keys.filter((k) => c.tgt_dist_keys.includes(k));
  if (both.length > 0) {
    throw invalid(
      where,
      'tgt_dist_keys',
      `shares ${both.map((k) => `'${k}'`).join(', ')} with src_dist_keys.`,
      both,
      'Source and target keys must be disjoint: a key either defines the control population or the perturbation.',
    );
  }
  const flag = flagColumn(c);
  const distKeys = [...c.src_dist_keys, ...c.tgt_dist_keys];
  if (typeof c.dist_flag_key === 'string' && distKeys.includes(flag)) {
    throw invalid(where, 'dist_flag_key', `'${flag}' is also a src/tgt key.`, flag, 'Use a separate boolean column as the flag.');
  }
  for (const k of Object.keys(c.rep_keys)) {
    if (!distKeys.includes(k)) {
      throw invalid(
        where,
        `rep_keys.${k}`,
        `names '${k}', which is not a src or tgt key (keys: ${distKeys.join(', ')}).`,
        k,
        'rep_keys maps a src/tgt key to the uns entry holding its embeddings; remove the entry or add the key.',
      );
    }
  }
}

function checkSplit(c: DataManagerConfig, raw: z.infer<typeof splitSchema>, where: string | undefined): SplitConfig {
  const r = raw.ratios;
  if (r.length !== 3 || r.some((x) => !(x > 0 && x < 1)) || Math.abs(r[0]! + r[1]! + r[2]! - 1) > 1e-9) {
    throw new CellbudgetError(
      'RATIOS_INVALID',
      `${where ? `${where}: ` : ''}split.ratios must be three values in (0, 1) summing to 1 (train, val, test); got [${r.join(', ')}].`,
      {
        key: 'split.ratios',
        value: r,
        ...(where !== undefined ? { file: where } : {}),
        hint: 'For example [0.6, 0.2, 0.2].',
      },
    );
  }
  checkUnique(where, 'split.split_by', raw.split_by);
  const distKeys = [...c.src_dist_keys, ...c.tgt_dist_keys];
  for (const k of raw.split_by) {
    if (!distKeys.includes(k))
      throw invalid(where, 'split.split_by', `names '${k}', which is not a src or tgt key (keys: ${distKeys.join(', ')}).`, k);
  }
  // The reference refuses force keys outside split_by (ValueError "force_training_values keys
  // must be a subset of split_by"): a forced value elsewhere can match every tuple and empty
  // val and test.
  for (const k of Object.keys(raw.force_training_values)) {
    if (!raw.split_by.includes(k)) {
      throw invalid(
        where,
        `split.force_training_values.${k}`,
        `names '${k}', which is not a split_by key (split_by: ${raw.split_by.join(', ')}).`,
        k,
        `force_training_values keys must be a subset of split_by, as in the reference: add '${k}' to split.split_by or remove it from force_training_values.`,
      );
    }
  }
  return {
    split_by: raw.split_by,
    ratios: [r[0]!, r[1]!, r[2]!],
    random_state: raw.random_state,
    holdout_combinations: raw.holdout_combinations,
    force_training_values: raw.force_training_values,
  };
}

function toDataManager(d: z.infer<typeof dataManagerSchema>): DataManagerConfig {
  return {
    dist_flag_key:
      typeof d.dist_flag_key === 'string' ? d.dist_flag_key : { column: d.dist_flag_key.column, equals: d.dist_flag_key.equals },
    src_dist_keys: d.src_dist_keys,
    tgt_dist_keys: d.tgt_dist_keys,
    rep_keys: d.rep_keys,
    data_location: d.data_location,
  };
}

/** Validate a DataManager config (no split section). Throws CONFIG_INVALID naming the key. */
export function parseDataManagerConfig(json: unknown, where?: string): DataManagerConfig {
  const res = dataManagerSchema.safeParse(json);
  if (!res.success) throw zodError(res.error, where);
  const c = toDataManager(res.data);
  checkDataManager(c, where);
  return c;
}

/**
 * Validate a pipeline config (the golden files' `config` shape). Throws CONFIG_INVALID
 * naming the offending key, or RATIOS_INVALID.
 */
export function parsePipelineConfig(json: unknown, where?: string): PipelineConfig {
  const res = pipelineConfigSchema.safeParse(json);
  if (!res.success) throw zodError(res.error, where);
  const dm = toDataManager(res.data);
  checkDataManager(dm, where);
  return { ...dm, split: checkSplit(dm, res.data.split, where) };
}
