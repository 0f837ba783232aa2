/**
 * Building dataset models from the three sources of inputs: a scenario (src/scenario: its
 * synthetic specs, optional documented `model:` sections), facts about a real file (from
 * `inspect`: obs only, no matrix read), or a `--dataset NAME=SIZE,...` spec.
 * Pure: the caller reads files.
 */
import { itemSize } from '../core/data.js';
import { CellbudgetError } from '../core/errors.js';
import { parseBytes } from '../core/units.js';
import type { ModelSection, ScenarioModel } from '../scenario/model.js';
import { scaleSynthetic } from '../scenario/synthetic.js';
import type { GroupPlan } from '../pipeline/grouping.js';
import type { SplitAssignment } from '../pipeline/splitter.js';
import { SPLITS } from '../core/names.js';
import { documentedStructure, syntheticDataset, validateDataset, type DatasetModel, type SplitSpec, type SplitStructure } from './model.js';

export { modelSectionSchema, type ModelSection } from '../scenario/model.js';

/** Exact facts about a real file (from `inspect`, and from grouping/splitting its obs when available). */
export interface FileFacts {
  readonly cells: number;
  readonly features: number;
  readonly itemsize: number;
  /** Bytes of the representation once loaded; default dense cells × features × itemsize. */
  readonly representationBytes?: number;
  readonly obsBytesPerCell?: number;
  readonly unsBytes?: number;
  readonly controlFraction?: number;
  /** Exact grouped fraction and split structure computed from obs (see `structureFromCounts`). */
  readonly groupedFraction?: number;
  readonly structure?: SplitStructure;
}

/**
 * The split structure from exact row counts (e.g. from the pipeline's planGroups and
 * assignSplits run over a file's obs): rows of each split's targets, control rows each
 * split's sources reference, control rows referenced by any split, and grouped rows.
 */
export function structureFromCounts(c: {
  readonly groupedRows: number;
  readonly perturbedRows: Readonly<Record<'train' | 'val' | 'test', number>>;
  readonly sourceRows: Readonly<Record<'train' | 'val' | 'test', number>>;
  readonly sourceRowsUnion: number;
}): SplitStructure {
  const g = c.groupedRows > 0 ? c.groupedRows : 1;
  return {
    perturbed: { train: c.perturbedRows.train / g, val: c.perturbedRows.val / g, test: c.perturbedRows.test / g },
    sources: { train: c.sourceRows.train / g, val: c.sourceRows.val / g, test: c.sourceRows.test / g },
    sourcesUnion: c.sourceRowsUnion / g,
  };
}

/** @deprecated The scenario model (src/scenario/model.ts) is what the simulator reads. */
export type ScenarioLike = ScenarioModel;

export interface DatasetsOptions {
  /** Scale the synthetic datasets to (1 = full scale, the scenario's `scale` for predicting a measured run). */
  readonly scale: number;
  /** Facts about `file:` datasets, by dataset name. */
  readonly facts?: Readonly<Record<string, FileFacts>>;
  /**
   * Honour documented structure (`model:` grouped/kept/test fractions, obs bytes) on
   * synthetic datasets. Off when predicting a measured run: the generator's data is what
   * was measured, not the documented data it stands for.
   */
  readonly documented: boolean;
}

/**
 * The split a dataset is modelled with when its scenario gives no pipeline (an ingested log
 * described by its datasets alone): the shipped scenarios' split.
 */
export const DEFAULT_MODEL_SPLIT: SplitSpec = { split_by: ['drug'], ratios: [0.7, 0.15, 0.15] };

/** The split spec of a scenario (its pipeline's, validated when the scenario was; DEFAULT_MODEL_SPLIT without one). */
export function splitSpecOf(s: ScenarioModel): SplitSpec {
  const split = s.pipeline?.split;
  return split ? { split_by: split.split_by, ratios: split.ratios } : DEFAULT_MODEL_SPLIT;
}

/** Dataset models for a scenario at `opts.scale` (synthetic datasets scaled as the harness scales them). */
export function datasetsFromScenario(s: ScenarioModel, opts: DatasetsOptions): DatasetModel[] {
  const split = splitSpecOf(s);
  return s.datasets.map((d, i) => {
    const where = `datasets[${i}] (${d.name})`;
    const model: ModelSection = d.model ?? {};
    if (d.synthetic) {
      const scaled = scaleSynthetic(d.synthetic, opts.scale, `${where}.synthetic`, split);
      const base = syntheticDataset(
        d.name,
        {
          cells: scaled.cells,
          features: scaled.features,
          cell_lines: scaled.cell_lines,
          drugs: scaled.drugs,
          doses: scaled.doses.length,
          control_fraction: scaled.control_fraction,
          itemsize: itemSize(scaled.dtype),
          density: scaled.representation === 'csr' ? scaled.density : undefined,
        },
        split,
      );
      return validateDataset(opts.documented ? applyModel(base, model, split) : base);
    }
    const facts = opts.facts?.[d.name] ?? factsFromModel(model);
    if (!facts) {
      throw new CellbudgetError('CONFIG_INVALID', `${where}: the file's shape is unknown, so its memory cannot be predicted.`, {
        key: `datasets[${i}].model`,
        value: d.file,
        hint: 'Make the file readable (the planner inspects its obs and matrix shape), or give `model: { cells: …, features: …, dtype: … }`.',
      });
    }
    // A real file is taken as-is, not scaled.
    return validateDataset(applyModel(fromFacts(d.name, facts, split), model, split));
  });
}

function factsFromModel(m: ModelSection): FileFacts | undefined {
  if (m.cells === undefined || m.features === undefined) return undefined;
  return {
    cells: m.cells,
    features: m.features,
    itemsize: itemSize(m.dtype ?? 'float32'),
    ...(m.control_fraction !== undefined ? { controlFraction: m.control_fraction } : {}),
  };
}

/** A dataset from file facts; without an exact structure, the split ratios stand for it. */
export function fromFacts(name: string, f: FileFacts, split: SplitSpec): DatasetModel {
  const c = f.controlFraction ?? 0.05;
  return {
    name,
    cells: f.cells,
    features: f.features,
    itemsize: f.itemsize,
    representationBytes: f.representationBytes ?? f.cells * f.features * f.itemsize,
    ...(f.obsBytesPerCell !== undefined ? { obsBytesPerCell: f.obsBytesPerCell } : {}),
    unsBytes: f.unsBytes ?? 0,
    controlFraction: c,
    groupedFraction: f.groupedFraction ?? 1,
    structure: f.structure ?? ratioStructure(c, split.ratios),
  };
}

/** Many split_by values, all sources in every split: shares follow the ratios. */
export function ratioStructure(control: number, ratios: readonly [number, number, number]): SplitStructure {
  const p = 1 - control;
  return {
    perturbed: { train: p * ratios[0], val: p * ratios[1], test: p * ratios[2] },
    sources: { train: control, val: control, test: control },
    sourcesUnion: control,
  };
}

function applyModel(d: DatasetModel, m: ModelSection, split: SplitSpec): DatasetModel {
  let structure = d.structure;
  if (m.kept_fraction !== undefined || m.test_fraction !== undefined) {
    const kept = m.kept_fraction ?? 1;
    const test = m.test_fraction ?? kept * split.ratios[2];
    structure = documentedStructure(kept, test, split.ratios);
  }
  return {
    ...d,
    structure,
    ...(m.grouped_fraction !== undefined ? { groupedFraction: m.grouped_fraction } : {}),
    ...(m.obs_bytes_per_cell !== undefined ? { obsBytesPerCell: m.obs_bytes_per_cell } : {}),
    ...(m.uns_bytes !== undefined ? { unsBytes: parseBytes(m.uns_bytes, `${d.name}.model.uns_bytes`) } : {}),
    ...(m.control_fraction !== undefined ? { controlFraction: m.control_fraction } : {}),
  };
}

/**
 * A dataset from `NAME=SIZE[,features=N,dtype=float32,control=F,train=F,val=F,test=F,obs=B,grouped=F,kept=F,kept_test=F]`.
 * SIZE is the dense representation's bytes, as a scenario's `size:`.
 */
export function datasetFromSpec(spec: string): DatasetModel {
  const eq = spec.indexOf('=');
  if (eq <= 0) {
    throw new CellbudgetError('USAGE', `--dataset '${spec}' is not NAME=SIZE[,key=value…].`, {
      key: '--dataset',
      value: spec,
      hint: 'Write e.g. --dataset tahoe=132GB,features=50,control=0.05.',
    });
  }
  const name = spec.slice(0, eq);
  const [sizeText = '', ...rest] = spec.slice(eq + 1).split(',');
  const kv = new Map<string, string>();
  for (const part of rest) {
    const [k, v] = part.split('=');
    if (!k || v === undefined) {
      throw new CellbudgetError('USAGE', `--dataset ${name}: '${part}' is not key=value.`, {
        key: '--dataset',
        value: spec,
        hint: 'Separate keys with commas: features=50,control=0.05.',
      });
    }
    kv.set(k.trim(), v.trim());
  }
  const known = new Set(['features', 'dtype', 'control', 'train', 'val', 'test', 'obs', 'grouped', 'kept', 'kept_test']);
  for (const k of kv.keys()) {
    if (!known.has(k)) {
      throw new CellbudgetError('USAGE', `--dataset ${name}: unknown key '${k}'.`, {
        key: '--dataset',
        value: k,
        hint: `Known keys: ${[...known].join(', ')}.`,
      });
    }
  }
  if (/^\s*-/.test(sizeText)) {
    throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `--dataset ${name}: size ${sizeText} is negative.`, {
      key: `${name}.size`,
      value: sizeText,
      hint: 'A dataset size is a positive amount such as 132GB.',
    });
  }
  const size = parseBytes(sizeText, `--dataset ${name} size`);
  const num = (k: string, dflt: number): number => {
    const v = kv.get(k);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n)) {
      throw new CellbudgetError('USAGE', `--dataset ${name}: ${k}='${v}' is not a number.`, {
        key: `${name}.${k}`,
        value: v,
        hint: `Write e.g. ${k}=0.15.`,
      });
    }
    return n;
  };
  const dtype = kv.get('dtype') ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new CellbudgetError('USAGE', `--dataset ${name}: dtype '${dtype}' is not float32 or float64.`, {
      key: `${name}.dtype`,
      value: dtype,
      hint: 'Use dtype=float32 or dtype=float64.',
    });
  }
  const itemsize = itemSize(dtype);
  const features = num('features', 50);
  if (!(features > 0)) {
    throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `--dataset ${name}: features must be positive, got ${features}.`, {
      key: `${name}.features`,
      value: features,
      hint: 'Give the representation width, e.g. features=50.',
    });
  }
  const test = num('test', 0.15);
  const val = num('val', 0.15);
  const train = num('train', 1 - test - val);
  for (const [k, v] of [
    ['test', test],
    ['val', val],
    ['train', train],
  ] as const) {
    if (!(v >= 0 && v <= 1)) {
      throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `--dataset ${name}: ${k}=${v} is outside 0–1.`, {
        key: `${name}.${k}`,
        value: v,
        hint: 'Split ratios are fractions that sum to 1.',
      });
    }
  }
  if (Math.abs(train + val + test - 1) > 1e-6) {
    throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `--dataset ${name}: train+val+test = ${train + val + test}, not 1.`, {
      key: `${name}.test`,
      value: test,
      hint: 'Give ratios summing to 1.',
    });
  }
  const control = num('control', 0.05);
  const cells = Math.floor(size / (features * itemsize));
  const ratios: [number, number, number] = [train, val, test];
  let structure = ratioStructure(Math.min(Math.max(control, 0), 1), ratios);
  if (kv.has('kept') || kv.has('kept_test')) {
    const kept = num('kept', 1);
    const keptTest = num('kept_test', kept * test);
    if (keptTest > kept) {
      throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `--dataset ${name}: kept_test=${keptTest} exceeds kept=${kept}.`, {
        key: `${name}.kept_test`,
        value: keptTest,
        hint: 'The test split is part of what the splits keep.',
      });
    }
    structure = documentedStructure(kept, keptTest, ratios);
  }
  return validateDataset({
    name,
    cells,
    features,
    itemsize,
    representationBytes: cells * features * itemsize,
    ...(kv.has('obs') ? { obsBytesPerCell: num('obs', 16) } : {}),
    unsBytes: 0,
    controlFraction: control,
    groupedFraction: num('grouped', 1),
    structure,
  });
}

/**
 * Exact grouped fraction and split structure of a real dataset from its obs alone: the
 * pipeline's group plan and split assignment (no matrix read). Row counts stand for bytes
 * because every grouped row has the same width.
 */
export function structureFromPlan(plan: GroupPlan, a: SplitAssignment): { groupedFraction: number; structure: SplitStructure } {
  const rows = (offsets: Int32Array, idx: ArrayLike<number>): number => {
    let n = 0;
    for (let i = 0; i < idx.length; i++) n += offsets[idx[i]! + 1]! - offsets[idx[i]!]!;
    return n;
  };
  const groupedRows = plan.srcRows.length + plan.tgtRows.length;
  const union = new Set<number>();
  for (const k of SPLITS) for (const s of a.src[k]) union.add(s);
  const structure = structureFromCounts({
    groupedRows,
    perturbedRows: {
      train: rows(plan.tgtOffsets, a.tgt.train),
      val: rows(plan.tgtOffsets, a.tgt.val),
      test: rows(plan.tgtOffsets, a.tgt.test),
    },
    sourceRows: {
      train: rows(plan.srcOffsets, a.src.train),
      val: rows(plan.srcOffsets, a.src.val),
      test: rows(plan.srcOffsets, a.src.test),
    },
    sourceRowsUnion: rows(plan.srcOffsets, [...union]),
  });
  return { groupedFraction: plan.nObs > 0 ? groupedRows / plan.nObs : 0, structure };
}
