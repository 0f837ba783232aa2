// The scenario YAML the harness tests write: one pipeline block and one two-dataset scenario
// (Tahoe-like conditions, 132 GB each at full scale), so the test files differ only in what
// they vary.
import { writeFileSync } from 'node:fs';

/** The `pipeline:` block: split by drug at `ratios`, seed 42. */
export function pipelineYaml(ratios: readonly [number, number, number] = [0.7, 0.15, 0.15]): string {
  return `pipeline:
  dist_flag_key: control
  src_dist_keys: [cell_line]
  tgt_dist_keys: [drug, dosage]
  rep_keys: { cell_line: cell_line_embeddings, drug: drug_embeddings }
  data_location: [obsm, X_pca]
  split: { split_by: [drug], ratios: [${ratios.join(', ')}], random_state: 42 }
`;
}

export const PIPELINE = pipelineYaml();

export interface TwoDatasetOptions {
  scale?: number;
  size?: string;
  features?: number;
  strategies?: string;
  pipeline?: string;
  /** YAML appended after `strategies:`. */
  extra?: string;
}

/** Write a scenario of two synthetic datasets, `first` and `second` (seeds 1 and 2), to `path`; returns `path`. */
export function writeTwoDatasetScenario(path: string, name: string, o: TwoDatasetOptions = {}): string {
  const data = (seed: number): string =>
    `    synthetic: { size: ${o.size ?? '132GB'}, features: ${o.features ?? 20}, cell_lines: 50, drugs: 380, doses: [0.5, 5.0], control_fraction: 0.05, seed: ${seed} }`;
  writeFileSync(
    path,
    `name: ${name}
scale: ${o.scale ?? 0.00005}
datasets:
  - name: first
${data(1)}
  - name: second
${data(2)}
${o.pipeline ?? PIPELINE}strategies: ${o.strategies ?? '[eager, sequential, selective, streaming]'}
${o.extra ?? ''}`,
  );
  return path;
}
