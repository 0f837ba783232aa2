// Writing a rung streams: its peak stays far below the matrix it copies (which is many read
// windows long), measured in this process with the kernel's high-water mark (or sampled RSS).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h5Ready } from '../../../src/h5ad/file.js';
import { writeRung } from '../../../src/h5ad/rung.js';
import { synthesize } from '../../../src/h5ad/synth.js';
import { parsePipelineConfig } from '../../../src/pipeline/config.js';
import { conditionKeys } from '../../../src/scenario/subsample.js';
import { measureMemory } from '../../../src/vitest/index.js';
import { growYoungGeneration } from '../../../src/memory/warmup.js';

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-rung-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pipeline = parsePipelineConfig({
  dist_flag_key: 'control',
  src_dist_keys: ['cell_line'],
  tgt_dist_keys: ['drug', 'dosage'],
  data_location: ['obsm', 'X_pca'],
  split: { split_by: ['drug'], ratios: [0.7, 0.15, 0.15] },
});
const keys = conditionKeys({ name: 'big' }, pipeline, 'test');
const WINDOW = 1 << 20;
const SIZES = { none: 128e6, gzip: 64e6 } as const;

describe('a rung is written in bounded memory', () => {
  beforeAll(async () => {
    await h5Ready();
    for (const compression of ['none', 'gzip'] as const) {
      await synthesize(
        { size: SIZES[compression], features: 256, cellLines: 10, drugs: 60, compression, seed: 2 },
        join(dir, `big-${compression}.h5ad`),
      );
    }
    // Both HDF5 instances (reader and writer) loaded and their heaps grown to a window before measuring.
    await writeRung(join(dir, 'big-none.h5ad'), keys, 0.1, join(dir, 'warm.h5ad'), undefined, { windowBytes: WINDOW });
    // V8's young generation at its cap, as a measuring child has it: its growth (up to 32 MB,
    // whenever garbage fills it) is the runtime's, not the writer's.
    growYoungGeneration();
  }, 120_000);

  it.each(['none', 'gzip'] as const)(
    'a matrix (%s, 128 or 64 MB) at scale 0.5 in 1 MiB windows peaks far below the half it writes',
    async (compression) => {
      const m = await measureMemory(() =>
        writeRung(join(dir, `big-${compression}.h5ad`), keys, 0.5, join(dir, `rung-${compression}.h5ad`), undefined, {
          windowBytes: WINDOW,
        }),
      );
      const written = m.value.written.matrices.find((x) => x.location === 'obsm/X_pca')!;
      expect(written.fullBytes).toBe(SIZES[compression]);
      expect(written.keptBytes).toBeGreaterThan(0.4 * SIZES[compression]);
      console.info(
        `rung of a ${SIZES[compression] / 1e6} MB ${compression} matrix: peak ${(m.peakBytes / 1e6).toFixed(1)} MB (${m.method}) writing ${(written.keptBytes / 1e6).toFixed(1)} MB`,
      );
      // obs's key columns (62-125k cells: a few MB), a read and a write window, V8's young
      // generation refilling with the string windows' garbage: a copy held whole would be the
      // 32-64 MB the rung holds, or the 64-128 MB of the source.
      expect(m.peakBytes).toBeLessThan(16e6);
    },
  );
});
