/**
 * Facts the simulator needs about real files, read without touching the matrix. I/O, so
 * it lives beside the harness, not in the pure simulator.
 */
import { itemSize, readDtype } from '../../src/core/data.js';
import { obsColumnBytes } from '../../src/pipeline/source-memory.js';
import { planGroups } from '../../src/pipeline/grouping.js';
import { assignSplits } from '../../src/pipeline/splitter.js';
import { structureFromPlan, type FileFacts } from '../../src/simulator/index.js';
import type { BuiltinScenario } from '../../src/scenario/model.js';

/**
 * Facts about a scenario's `file:` datasets, read from obs only (no matrix read): shape and
 * dtype of the representation, obs bytes, and the exact split structure from the pipeline's
 * own grouping and split assignment.
 */
export async function fileFacts(s: BuiltinScenario): Promise<Record<string, FileFacts>> {
  const facts: Record<string, FileFacts> = {};
  const files = s.datasets.filter((d) => d.file !== undefined);
  if (files.length === 0) return facts;
  // h5wasm (and its WebAssembly heap) loads only when a real file is there to inspect.
  const { h5Ready, withH5ad } = await import('../../src/h5ad/index.js');
  await h5Ready();
  const config = s.pipeline;
  for (const d of files) {
    facts[d.name] = withH5ad(d.file!, (src) => {
      const info = src.matrixInfo(config.data_location);
      const itemsize = itemSize(readDtype(info.dtype));
      let obsBytes = 0;
      for (const c of src.obsColumnNames()) obsBytes += obsColumnBytes(src.readObsColumn(c));
      const groups = planGroups(config, src);
      const exact = structureFromPlan(groups, assignSplits(groups, config.split));
      const control = groups.srcRows.length / Math.max(1, groups.srcRows.length + groups.tgtRows.length);
      return {
        cells: src.nObs,
        features: info.shape[1],
        itemsize,
        representationBytes: info.memoryBytes,
        obsBytesPerCell: src.nObs > 0 ? obsBytes / src.nObs : 0,
        controlFraction: control,
        groupedFraction: exact.groupedFraction,
        structure: exact.structure,
      };
    });
  }
  return facts;
}
