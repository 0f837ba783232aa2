import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { DatasetSource } from '../../../src/core/data.js';
import { withH5ad } from '../../../src/h5ad/source.js';
import { parsePipelineConfig } from '../../../src/pipeline/config.js';
import { planGroups, prepareData } from '../../../src/pipeline/grouping.js';
import { buildManifest } from '../../../src/pipeline/manifest.js';
import type { SplitManifest } from '../../../src/pipeline/manifest.js';
import { assignSplits, splitGrouped } from '../../../src/pipeline/splitter.js';
import { SPLITS } from '../../../src/core/names.js';

import { describeGolden, GOLDEN } from '../../helpers/fixtures.js';
import { h5Ready } from '../../../src/h5ad/file.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();
const CASES = ['tiny', 'by_line', 'combos', 'strings', 'forced'] as const;

interface GoldenCase {
  config: unknown;
  expected: SplitManifest;
  reference_defect?: string;
}

function loadCase(name: string): GoldenCase {
  return JSON.parse(readFileSync(`${GOLDEN}/${name}.json`, 'utf8')) as GoldenCase;
}

function expectConditionsClose(actual: SplitManifest['conditions'], expected: SplitManifest['conditions']): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [t, cond] of Object.entries(expected)) {
    const got = actual[t]!;
    expect(Object.keys(got), `target ${t}`).toEqual(Object.keys(cond));
    for (const [k, vec] of Object.entries(cond)) {
      const g = got[k]!;
      expect(g.length, `target ${t} ${k}`).toBe(vec.length);
      vec.forEach((v, i) => expect(Math.abs(g[i]! - v), `target ${t} ${k}[${i}]`).toBeLessThanOrEqual(1e-9));
    }
  }
}

describeGolden.each(CASES)('golden case %s', (name) => {
  const g = loadCase(name);
  const config = parsePipelineConfig(g.config, `${name}.json`);
  const { manifest, gd, a } = withH5ad(`${GOLDEN}/${name}.h5ad`, (src) => {
    const gd = prepareData(config, src);
    const a = assignSplits(gd.plan, config.split);
    return { gd, a, manifest: buildManifest(gd.plan, a, { rows: true }) };
  });
  const e = g.expected;

  it('groups exactly like the reference', () => {
    expect(manifest.n_obs).toBe(e.n_obs);
    expect(manifest.src_labels).toEqual(e.src_labels);
    expect(manifest.tgt_labels).toEqual(e.tgt_labels);
    expect(manifest.src_to_tgt).toEqual(e.src_to_tgt);
    expect(manifest.src_rows).toEqual(e.src_rows);
    expect(manifest.tgt_rows).toEqual(e.tgt_rows);
    expectConditionsClose(manifest.conditions, e.conditions);
  });

  it("copies each distribution's rows out of the representation", () => {
    withH5ad(`${GOLDEN}/${name}.h5ad`, (src) => {
      const loc = config.data_location;
      const m = src.readRows(loc, 0, src.nObs);
      for (const [d, rows] of Object.entries(e.tgt_rows ?? {})) {
        const got = gd.tgtData[Number(d)]!;
        expect(got.dtype).toBe(m.dtype);
        expect(got.rows).toBe(rows.length);
        rows.forEach((r, i) =>
          expect(Array.from(got.data.subarray(i * m.cols, (i + 1) * m.cols))).toEqual(
            Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols)),
          ),
        );
      }
      for (const [d, rows] of Object.entries(e.src_rows ?? {})) {
        const got = gd.srcData[Number(d)]!;
        rows.forEach((r, i) =>
          expect(Array.from(got.data.subarray(i * m.cols, (i + 1) * m.cols))).toEqual(
            Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols)),
          ),
        );
      }
    });
  });

  if (g.reference_defect === undefined) {
    it('splits exactly like the reference', () => {
      expect(manifest.splits).toEqual(e.splits);
      const { src_rows: _s, tgt_rows: _t, ...rest } = manifest;
      expect(Object.keys(rest)).toEqual(Object.keys(e).filter((k) => k !== 'src_rows' && k !== 'tgt_rows'));
    });
  } else {
    it('splits with the intended force_training_values semantics, not the recorded defect', () => {
      const forcedValues = config.split.force_training_values;
      const keys = [...gd.plan.srcKeys, ...gd.plan.tgtKeys];
      const isForced = (t: number): boolean =>
        Object.entries(forcedValues).some(([k, v]) => {
          const l = gd.plan.tgtLabels[t]![keys.indexOf(k)];
          return Array.isArray(v) ? v.includes(l!) : l === v;
        });
      const all = [...a.tgt.train, ...a.tgt.val, ...a.tgt.test].sort((x, y) => x - y);
      expect(all).toEqual(Array.from({ length: gd.tgtData.length }, (_, i) => i));
      for (let t = 0; t < gd.tgtData.length; t++) if (isForced(t)) expect(a.tgt.train).toContain(t);
      // The forced targets the reference kept are in our train too; val and test are not empty.
      for (const t of e.splits.train.tgt) expect(a.tgt.train).toContain(t);
      expect(a.tgt.val.length).toBeGreaterThan(0);
      expect(a.tgt.test.length).toBeGreaterThan(0);
      expect(a.sizes.train).toBe(Math.round(0.6 * a.tuples.length));
    });
  }

  it('builds splits that reference the group arrays', () => {
    const splits = splitGrouped(gd, a);
    for (const s of SPLITS) {
      splits[s].tgt.forEach((t, i) => expect(splits[s].tgtData[i]).toBe(gd.tgtData[t]));
      splits[s].src.forEach((si, i) => expect(splits[s].srcData[i]).toBe(gd.srcData[si]));
    }
  });

  it('plans without reading the matrix', () => {
    withH5ad(`${GOLDEN}/${name}.h5ad`, (src) => {
      const spy: DatasetSource = new Proxy(src, {
        get(target, prop, receiver) {
          if (prop === 'readMatrix' || prop === 'readRows')
            return () => {
              throw new Error('planGroups read the matrix');
            };
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
        },
      });
      expect(planGroups(config, spy).nObs).toBe(e.n_obs);
    });
  });
});
