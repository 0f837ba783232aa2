// uns embedding dictionaries: plain float vectors are read straight from the file (the group's
// symbol table and each vector's header parsed by storage.ts), everything else through HDF5;
// either way the values are h5py's, for every way h5py stores a member.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h5Ready, H5File } from '../../../src/h5ad/file.js';
import { readEmbeddings } from '../../../src/h5ad/uns.js';
import { PY, pythonMissing } from '../../helpers/fixtures.js';

await h5Ready();

const missing = pythonMissing();
if (missing) console.warn(`skipping the h5py comparison of uns embeddings: ${missing}`);

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-uns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Every way h5py can store a member of an embedding dictionary, in old-style groups (what
// anndata writes) with enough members for a two-level B-tree, and in new-style groups
// (track_order, libver latest) that storage.ts does not parse.
const WRITE = `
import sys, json, h5py, numpy as np
rng = np.random.default_rng(7)
def fill(g, many):
    g.create_dataset('f32', data=rng.standard_normal(16).astype('<f4'))
    g.create_dataset('f64', data=rng.standard_normal(5))
    g.create_dataset('big-endian', data=rng.standard_normal(4).astype('>f4'))
    g.create_dataset('gzip', data=rng.standard_normal(6), compression='gzip')
    g.create_dataset('chunked', data=rng.standard_normal(6), chunks=(2,))
    g.create_dataset('int32', data=np.arange(3, dtype='<i4'))
    g.create_dataset('int8', data=np.arange(-2, 2, dtype='i1'))
    g.create_dataset('scalar', data=np.float64(2.5))
    g.create_dataset('matrix', data=rng.standard_normal((2, 3)).astype('<f4'))
    g.create_dataset('empty', data=np.zeros(0, dtype='<f4'))
    g.create_dataset('δ-drug ☃', data=rng.standard_normal(3).astype('<f4'))
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    d = h5py.h5d.create(g.id, b'compact', h5py.h5t.IEEE_F32LE, h5py.h5s.create_simple((4,)), dcpl=dcpl)
    d.write(h5py.h5s.ALL, h5py.h5s.ALL, rng.standard_normal(4).astype('<f4'))
    g['soft'] = h5py.SoftLink(g.name + '/f32')
    g['hard'] = g['f64']
    for i in range(many):
        g.create_dataset(f'drug{i:03d}', data=rng.standard_normal(8).astype('<f4'))
out = {}
with h5py.File(sys.argv[1], 'w') as f:
    fill(f.create_group('uns/old'), 300)
    fill(f.create_group('uns/ordered', track_order=True), 40)
    f.create_group('uns/half').create_dataset('x', data=np.array([0.5, -2.0], dtype='<f2'))
with h5py.File(sys.argv[2], 'w', libver='latest') as f:
    fill(f.create_group('uns/latest'), 40)
for path, key in ((sys.argv[1], 'old'), (sys.argv[1], 'ordered'), (sys.argv[2], 'latest')):
    with h5py.File(path, 'r') as f:
        g = f['uns/' + key]
        out[key] = {k: np.asarray(g[k][()], dtype='f8').ravel().tolist() for k in g.keys()}
print(json.dumps(out))
`;

const plain = (name: string): boolean => ['f32', 'f64', 'hard', 'δ-drug ☃'].includes(name) || /^drug\d+$/.test(name);

describe.skipIf(missing !== null)('uns embeddings against h5py', () => {
  const files = { old: join(dir, 'old.h5'), latest: join(dir, 'latest.h5') };
  let expected: Record<string, Record<string, number[]>> = {};
  beforeAll(() => {
    const r = spawnSync(PY, ['-c', WRITE, files.old, files.latest], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    expected = JSON.parse(r.stdout) as typeof expected;
  });

  it.each([
    ['old', 'old'],
    ['old', 'ordered'],
    ['latest', 'latest'],
  ] as const)('%s file, uns/%s: every member has h5py values', (file, key) => {
    const f = H5File.open(files[file]);
    try {
      const got = readEmbeddings(f, key);
      const want = expected[key]!;
      expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
      for (const [label, values] of Object.entries(want)) expect(Array.from(got.get(label)!), label).toEqual(values);
      // float32 stays float32, as HDF5 reads it.
      expect(got.get('f32')).toBeInstanceOf(Float32Array);
      expect(got.get('f64')).toBeInstanceOf(Float64Array);
    } finally {
      f.close();
    }
  });

  it("an old-style group (anndata's) has its plain float vectors read from the file, the rest left to HDF5", () => {
    const f = H5File.open(files.old);
    try {
      const stored = f.storedVectors('/uns/old');
      expect(stored).not.toBeNull();
      const direct = [...stored!.entries()].filter(([, v]) => v !== null).map(([k]) => k);
      expect(direct.sort()).toEqual(Object.keys(expected['old']!).filter(plain).sort());
      // Groups in a format not parsed here: HDF5 reads every member.
      expect(f.storedVectors('/uns/ordered')).toBeNull();
    } finally {
      f.close();
    }
    const g = H5File.open(files.latest);
    try {
      expect(g.storedVectors('/uns/latest')).toBeNull();
    } finally {
      g.close();
    }
  });

  it('a float16 vector is refused with a coded error, as before', () => {
    const f = H5File.open(files.old);
    try {
      expect(() => readEmbeddings(f, 'half')).toThrow(expect.objectContaining({ code: 'H5AD_UNSUPPORTED_DTYPE' }));
    } finally {
      f.close();
    }
  });
});
