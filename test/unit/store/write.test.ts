// The whole store written into memory (no file), in both formats, and read back with zarrita
// (which reads format 2 and 3): every distribution's rows, chunk by chunk, for random datasets.
import fc from 'fast-check';
import * as zarr from 'zarrita';
import { describe, expect, it } from 'vitest';
import { nSrc, nTgt, planGroups } from '../../../src/pipeline/grouping.js';
import { MemorySink } from '../../../src/store/sink.js';
import { writeStore } from '../../../src/store/prepare.js';
import type { ZarrFormat } from '../../../src/store/prepare.js';
import { cellValue, datasetArb } from '../../helpers/arbitraries.js';

/** zarrita over a sink's objects (its keys are absolute). */
function storeOf(sink: MemorySink): Map<string, Uint8Array> {
  return new Map([...sink.objects].map(([k, v]) => [`/${k}`, v]));
}

async function readArray(store: Map<string, Uint8Array>, path: string): Promise<{ shape: number[]; data: ArrayLike<unknown> }> {
  const a = await zarr.open(zarr.root(store).resolve(path), { kind: 'array' });
  const { data, shape } = await zarr.get(a);
  return { shape, data: data as ArrayLike<unknown> };
}

describe.each([2, 3] as ZarrFormat[])('a store in zarr format %i', (format) => {
  it('holds every distribution’s rows in file order, whatever the window and chunk sizes', async () => {
    await fc.assert(
      fc.asyncProperty(datasetArb, fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 9 }), async (d, chunkRows, windowRowsN) => {
        const sink = new MemorySink();
        const cols = d.table.cols;
        const { plan, layout } = await writeStore(d.source, d.config, sink, {
          zarrFormat: format,
          chunkRows,
          windowBytes: windowRowsN * cols * 4,
        });
        const store = storeOf(sink);
        const ns = nSrc(plan);
        for (let dd = 0; dd < ns + nTgt(plan); dd++) {
          const rows =
            dd < ns
              ? plan.srcRows.subarray(plan.srcOffsets[dd]!, plan.srcOffsets[dd + 1]!)
              : plan.tgtRows.subarray(plan.tgtOffsets[dd - ns]!, plan.tgtOffsets[dd - ns + 1]!);
          const path = layout.distributions.paths[dd];
          if (rows.length === 0) {
            expect(path).toBeNull();
            continue;
          }
          const got = await readArray(store, path!);
          expect(got.shape).toEqual([rows.length, cols]);
          const want = Float32Array.from({ length: rows.length * cols }, (_, i) => cellValue(rows[Math.floor(i / cols)]!, i % cols));
          expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want));
        }
        const index = await readArray(store, 'annotation/metadata/old_obs_index');
        expect(Array.from(index.data as string[])).toEqual(Array.from({ length: plan.nObs }, (_, i) => String(i)));
      }),
      { seed: 25, numRuns: 40 },
    );
  });

  it('holds the maps, conditions and labels of the plan', async () => {
    const d = fc.sample(datasetArb, { seed: 3, numRuns: 1 })[0]!;
    const sink = new MemorySink();
    await writeStore(d.source, d.config, sink, { zarrFormat: format });
    const store = storeOf(sink);
    const plan = planGroups(d.config, d.source);
    for (const [s, tgts] of plan.srcToTgt) {
      expect(Array.from((await readArray(store, `data/src_to_tgt_dist_map/${s}`)).data as Int32Array)).toEqual(tgts);
    }
    const cond = await zarr.open(zarr.root(store).resolve('data/conditions'), { kind: 'group' });
    expect(cond.attrs['dist_ids']).toEqual(Array.from({ length: nTgt(plan) }, (_, t) => t));
    for (const col of Object.keys(plan.conditions[0]!)) {
      const a = await readArray(store, `data/conditions/${col}`);
      const dim = plan.conditions[0]![col]!.length;
      expect(a.shape).toEqual([nTgt(plan), 1, dim]);
      plan.conditions.forEach((c, t) =>
        expect(Array.from(a.data as Float64Array).slice(t * dim, (t + 1) * dim)).toEqual(Array.from(c[col]!)),
      );
    }
    const labels = await readArray(store, 'annotation/tgt_dist_idx_to_labels/json_labels');
    expect(Array.from(labels.data as string[]).map((s) => JSON.parse(s))).toEqual(plan.tgtLabels);
  });
});
