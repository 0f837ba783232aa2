/**
 * The scenario model: what a scenario says, as data. One zod schema per kind of scenario
 * (built-in, command, suite), the pipeline section being the pipeline's own schema
 * (src/pipeline/config.ts) and a dataset's `synthetic:` the one synthetic spec
 * (./synthetic.ts); the `model:` section the simulator reads; families expanded to N datasets.
 * The loader (harness/run/scenarios.ts) reads the YAML, names the file and line of a problem
 * and resolves paths; the harness, the simulator and the reports use these types. Pure.
 */
import { z } from 'zod';
import { CellbudgetError } from '../core/errors.js';
import { EXECUTOR_NAMES, ORDER_MODES, STRATEGY_NAMES, type ExecutorName, type OrderMode, type StrategyName } from '../core/names.js';
import { parsePipelineConfig, pipelineConfigSchema, type PipelineConfig } from '../pipeline/config.js';
import { SYNTHETIC_DEFAULTS as D, type SyntheticSpec } from './synthetic.js';

const size = z.union([z.string(), z.number()]);

/** A scenario's `synthetic:` section: sizes at full scale; everything but `size`/`cells` has a default. */
export const syntheticSchema = z
  .object({
    size: z.union([z.string(), z.number()]).exactOptional(),
    cells: z.number().int().positive().exactOptional(),
    features: z.number().int().positive().default(D.features),
    cell_lines: z.number().int().positive().default(D.cell_lines),
    drugs: z.number().int().positive().default(D.drugs),
    doses: z
      .array(z.number().nonnegative())
      .min(1)
      .default([...D.doses]),
    control_fraction: z.number().gt(0).lt(1).default(D.control_fraction),
    dtype: z.enum(['float32', 'float64']).default(D.dtype),
    compression: z.enum(['gzip', 'none']).default(D.compression),
    representation: z.enum(['dense', 'csr']).default(D.representation),
    density: z.number().gt(0).max(1).default(D.density),
    seed: z.number().int().nonnegative().default(D.seed),
    /** Keep the condition count as written instead of shrinking it with the scale. */
    keep_conditions: z.boolean().default(D.keep_conditions),
  })
  .strict()
  .refine((s) => (s.size === undefined) !== (s.cells === undefined), {
    message: 'give exactly one of `size` (e.g. 132GB) or `cells`',
  });

// The schema's output is the spec, field for field (a compile-time check).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameSpec: Same<z.output<typeof syntheticSchema>, SyntheticSpec> = true;
void sameSpec;

/**
 * A dataset's optional `model:` section: documented structure the synthetic spec cannot
 * express, or facts about a file that `inspect` would otherwise give (src/simulator reads it).
 */
export const modelSectionSchema = z
  .object({
    /** Fraction of the cells copied into distributions (0–1). */
    grouped_fraction: z.number().min(0).max(1).optional(),
    /** Share of the GroupedDistribution's bytes referenced by any split (0–1). */
    kept_fraction: z.number().min(0).max(1).optional(),
    /** Share of the GroupedDistribution's bytes referenced by the test split (0–kept_fraction). */
    test_fraction: z.number().min(0).max(1).optional(),
    /** obs bytes per cell once loaded. */
    obs_bytes_per_cell: z.number().min(0).optional(),
    /** uns bytes once loaded (e.g. 2GB). */
    uns_bytes: size.optional(),
    /** For `file:` datasets when the file is not at hand: its shape. */
    cells: z.number().int().min(0).optional(),
    features: z.number().int().min(0).optional(),
    dtype: z.enum(['float32', 'float64']).optional(),
    control_fraction: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((m) => m.test_fraction === undefined || m.kept_fraction === undefined || m.test_fraction <= m.kept_fraction, {
    message: 'test_fraction cannot exceed kept_fraction (the test split is part of what the splits keep)',
  });

export type ModelSection = z.output<typeof modelSectionSchema>;

const label = z.union([z.string(), z.number(), z.boolean()]);

/**
 * A `file:` dataset's `subsample:` section: how a rung below scale 1 keeps whole conditions
 * (docs/your-own-files.md). Without `by`, the scenario's pipeline keys say what a condition is.
 */
export const subsampleSchema = z
  .object({
    /** obs columns whose value tuples are the conditions; each column is one axis a rung keeps a subset of. */
    by: z.array(z.string().min(1)).min(1).optional(),
    /** Control cells: a boolean obs column, or `{column, equals}`; they are kept with the values they share with kept conditions. */
    control: z.union([z.string().min(1), z.object({ column: z.string().min(1), equals: label }).strict()]).optional(),
    /** The `by` columns the user's program splits train/val/test by: a rung keeps their split shares. */
    split_by: z.array(z.string().min(1)).min(1).optional(),
    ratios: z.tuple([z.number().gt(0).lt(1), z.number().gt(0).lt(1), z.number().gt(0).lt(1)]).optional(),
    /** Which conditions a rung keeps is seeded (numpy's RandomState(seed).permutation per axis). */
    seed: z.number().int().min(0).max(0xffffffff).default(0),
  })
  .strict()
  .refine((s) => s.by !== undefined || (s.control === undefined && s.split_by === undefined && s.ratios === undefined), {
    message: '`control`, `split_by` and `ratios` go with `by` (without `by`, the pipeline says them)',
  })
  .refine((s) => (s.split_by === undefined) === (s.ratios === undefined), {
    message: 'give `split_by` and `ratios` together (e.g. split_by: [drug], ratios: [0.7, 0.15, 0.15])',
  })
  .refine((s) => s.split_by === undefined || s.split_by.every((c) => s.by?.includes(c)), {
    message: '`split_by` must name columns of `by`',
  })
  .refine((s) => s.ratios === undefined || Math.abs(s.ratios[0] + s.ratios[1] + s.ratios[2] - 1) < 1e-9, {
    message: '`ratios` must sum to 1 (train, val, test)',
  });

export type SubsampleSection = z.output<typeof subsampleSchema>;

export const datasetSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . -'),
    synthetic: syntheticSchema.optional(),
    file: z.string().optional(),
    subsample: subsampleSchema.optional(),
    model: modelSectionSchema.optional(),
  })
  .strict()
  .refine((d) => (d.synthetic === undefined) !== (d.file === undefined), {
    message: 'a dataset needs exactly one of `synthetic:` or `file:`',
  })
  .refine((d) => d.subsample === undefined || d.file !== undefined, {
    message: '`subsample:` is for `file:` datasets (a synthetic dataset is scaled by its spec)',
  });

/** One dataset of a scenario, defaults applied: a synthetic spec or a file. */
export type DatasetDef = z.output<typeof datasetSchema>;

export const budgetsSchema = z.object({ peak: size.optional(), final: size.optional(), leak: size.optional() }).strict().default({});

/** Budgets in bytes, at full scale. */
export interface Budgets {
  peakBytes?: number;
  finalBytes?: number;
  leakBytes?: number;
}

const executor = z.enum(EXECUTOR_NAMES as unknown as [ExecutorName, ...ExecutorName[]]);

export const builtinScenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    scale: z.number().gt(0).max(1).default(1),
    family: z
      .object({ n: z.array(z.number().int().positive()).min(1) })
      .strict()
      .optional(),
    datasets: z.array(datasetSchema).min(1),
    pipeline: pipelineConfigSchema,
    strategies: z
      .array(z.enum(STRATEGY_NAMES as [StrategyName, ...StrategyName[]]))
      .min(1)
      .default(['eager', 'sequential', 'selective']),
    budgets: budgetsSchema,
    repeat: z.number().int().positive().default(1),
    /** Environment of the child (allocator settings are part of a scenario). */
    env: z.record(z.string(), z.string()).default({}),
    /**
     * Memory of the node the scenario stands for (full scale). A run whose RSS, net of its
     * baseline, passes node_memory × scale is killed as the node's OOM killer would.
     */
    node_memory: size.optional(),
    /** Row window for streaming reads, in rows (default: chosen by the reader). */
    window_rows: z.number().int().positive().optional(),
    /** Processing order: as listed, or `auto` (the planner's lowest-peak order; the first dataset stays the primary). */
    order: z.enum(ORDER_MODES as [OrderMode, ...OrderMode[]]).optional(),
    /** Where the runs happen: here (`local`) or as Slurm jobs (`slurm`); `--executor` overrides it. */
    executor: executor.optional(),
    /** Scale ladder for the full-scale projection: off, a number of rungs (scale, scale/2, …) or explicit scales. */
    ladder: z.union([z.literal('off'), z.number().int().min(2).max(8), z.array(z.number().gt(0).max(1)).min(2)]).optional(),
  })
  .strict();

export const commandScenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** Optional in the file: `command:` makes a command scenario. */
    kind: z.literal('command'),
    command: z.array(z.string()).min(1),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).default({}),
    timeout: size.optional(),
    scale: z.number().gt(0).max(1).default(1),
    budgets: budgetsSchema,
    /** Where the command's baseline comes from (see harness/command/command.ts); default auto. */
    baseline: z.enum(['auto', 'first-marker', 'start', 'zero']).default('auto'),
    /** Where it runs: here (`local`) or as a Slurm job (`slurm`); `--executor` overrides it. */
    executor: executor.optional(),
  })
  .strict();

export const suiteSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    suite: z.array(z.string()).min(1),
  })
  .strict();

/** Keys only one kind of scenario has: what `kind` is inferred from when it is not written. */
export const KIND_KEYS = {
  suite: ['suite'],
  command: ['command', 'cwd', 'timeout', 'baseline'],
  builtin: ['datasets', 'pipeline', 'strategies', 'family', 'repeat', 'node_memory', 'window_rows', 'order'],
} as const;
export type ScenarioKind = keyof typeof KIND_KEYS;

/** A built-in scenario, validated, paths resolved, family expanded. */
export interface BuiltinScenario {
  kind: 'builtin';
  name: string;
  description?: string;
  /** File the scenario came from. */
  source: string;
  scale: number;
  datasets: DatasetDef[];
  pipeline: PipelineConfig;
  strategies: StrategyName[];
  budgets: Budgets;
  repeat: number;
  env: Record<string, string>;
  windowRows?: number;
  /** Full-scale node memory: runs above node_memory × scale are killed. */
  nodeMemoryBytes?: number;
  /** Processing order mode (absent: as listed). */
  order?: OrderMode;
  /** Scale ladder (absent: harness/run/ladder.ts DEFAULT_LADDER). */
  ladder?: 'off' | number | number[];
  /** For an expanded family: its name and this member's N. */
  family?: { name: string; n: number };
  /** `executor:` as written (absent: the configured default). */
  executor?: ExecutorName;
  /** The scenario as written (parsed YAML), for reports. */
  definition: unknown;
}

export type CommandBaseline = 'auto' | 'first-marker' | 'start' | 'zero';

export interface CommandScenario {
  kind: 'command';
  name: string;
  description?: string;
  source: string;
  command: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs?: number;
  scale: number;
  budgets: Budgets;
  baseline: CommandBaseline;
  /** `executor:` as written (absent: the configured default). */
  executor?: ExecutorName;
  definition: unknown;
}

export type Scenario = BuiltinScenario | CommandScenario;

/**
 * N datasets from a template list: its first N, or all of it and then its last dataset
 * repeated, renamed `<name>_<i+1>`, seed counting on. Refuses (SCENARIO_INVALID) to repeat a
 * dataset that is not synthetic. `where` names the scenario in the message.
 */
export function familyDatasets(template: readonly DatasetDef[], n: number, where: string): DatasetDef[] {
  const datasets: DatasetDef[] = [];
  for (let i = 0; i < n; i++) {
    const t = template[Math.min(i, template.length - 1)];
    if (!t) break;
    if (i < template.length) {
      datasets.push(t);
      continue;
    }
    if (!t.synthetic) {
      throw new CellbudgetError('SCENARIO_INVALID', `${where}: a family repeats its last dataset, which must be synthetic.`, {
        key: 'family',
        hint: 'Make the last dataset `synthetic:` or list every dataset explicitly.',
      });
    }
    datasets.push({
      ...t,
      name: `${t.name}_${i + 1}`,
      synthetic: { ...t.synthetic, seed: t.synthetic.seed + (i - (template.length - 1)) },
    });
  }
  return datasets;
}

/** A family member: N datasets from the template list, named `<name>-N<n>`. */
export function expandFamily(base: BuiltinScenario, n: number, where: string = base.source): BuiltinScenario {
  return { ...base, name: `${base.name}-N${n}`, datasets: familyDatasets(base.datasets, n, where), family: { name: base.name, n } };
}

/**
 * What the simulator reads of a built-in scenario: its datasets (synthetic specs with their
 * defaults, files, `model:` sections) and the pipeline it splits by (absent: the simulator
 * assumes its default split). A loaded BuiltinScenario is one; so is a report's `expanded`.
 */
export interface ScenarioModel {
  readonly name?: string;
  readonly scale?: number;
  readonly datasets: readonly DatasetDef[];
  readonly pipeline?: PipelineConfig;
}

const scenarioModelSchema = z.looseObject({
  name: z.string().optional(),
  scale: z.number().gt(0).max(1).optional(),
  datasets: z.array(datasetSchema).min(1),
  pipeline: pipelineConfigSchema.optional(),
  family: z.object({ n: z.array(z.number().int().positive()).min(1) }).optional(),
});

/**
 * A scenario model from plain data: a report's `expanded` scenario, or — in reports written
 * before it was recorded — the definition as written, its family expanded to `nDatasets`.
 * Defaults applied, the pipeline validated; undefined when it does not describe built-in
 * datasets (a command scenario, an ingested log without a scenario).
 */
export function scenarioModel(data: unknown, opts: { nDatasets?: number; where?: string } = {}): ScenarioModel | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { kind: _kind, ...rest } = data as Record<string, unknown>;
  const r = scenarioModelSchema.safeParse(rest);
  if (!r.success) return undefined;
  const where = opts.where ?? r.data.name ?? 'scenario';
  const datasets = r.data.family && opts.nDatasets !== undefined ? familyDatasets(r.data.datasets, opts.nDatasets, where) : r.data.datasets;
  return {
    ...(r.data.name !== undefined ? { name: r.data.name } : {}),
    ...(r.data.scale !== undefined ? { scale: r.data.scale } : {}),
    datasets,
    ...(r.data.pipeline !== undefined ? { pipeline: parsePipelineConfig(r.data.pipeline, `${where}: pipeline`) } : {}),
  };
}

/** A built-in scenario as its runs saw it, for report.json (`scenarios[].expanded`): plain data that `scenarioModel` reads back. */
export function expandedScenario(s: BuiltinScenario): Record<string, unknown> {
  return {
    name: s.name,
    scale: s.scale,
    datasets: s.datasets,
    pipeline: s.pipeline,
    strategies: s.strategies,
    repeat: s.repeat,
    ...(s.family ? { family_member: s.family } : {}),
  };
}
