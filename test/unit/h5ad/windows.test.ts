import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDtype, type DenseMatrix, type Matrix } from '../../../src/core/data.js';
import { H5File, wasmHeapBytes, h5Ready } from '../../../src/h5ad/file.js';
import { matrixInfo, readMatrix, readRows } from '../../../src/h5ad/matrix.js';
import { fixtureDir } from '../../helpers/fixtures.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

const DENSE = ['contig', 'c1', 'c13gz', 'c64sh', 'c50fl', 'f64gz', 'i16', 'vec', 'contig_be', 'contig64'].map((k) => ['obsm', k]);
const SPARSE = [['X'], ['layers', 'csr_gz'], ['layers', 'csr_i64']];
const LOCATIONS = [...DENSE, ...SPARSE];

function densify(m: Matrix): DenseMatrix {
  if (m.format === 'dense') return m;
  const data = m.dtype === 'float32' ? new Float32Array(m.rows * m.cols) : new Float64Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) for (let k = m.indptr[r]!; k < m.indptr[r + 1]!; k++) data[r * m.cols + m.indices[k]!] = m.data[k]!;
  return { format: 'dense', dtype: m.dtype, rows: m.rows, cols: m.cols, data };
}

describe('row windows equal the slice of a full read', () => {
  let f: H5File;
  const full = new Map<string, DenseMatrix>();
  beforeAll(() => {
    f = H5File.open(`${fixtureDir()}/windows.h5ad`);
    for (const loc of LOCATIONS) full.set(loc.join('/'), densify(readMatrix(f, loc)));
  });
  afterAll(() => f?.close());

  it('full reads agree across chunkings and compressions (same values written)', () => {
    const ref = full.get('obsm/contig')!;
    for (const k of ['c1', 'c13gz', 'c64sh', 'c50fl', 'f64gz', 'contig_be', 'contig64'])
      expect(Array.from(full.get(`obsm/${k}`)!.data)).toEqual(Array.from(ref.data));
    expect(full.get('obsm/contig64')!.dtype).toBe('float64');
    expect(full.get('X')!.data.some((v) => v !== 0)).toBe(true);
    expect(Array.from(full.get('layers/csr_i64')!.data)).toEqual(Array.from(full.get('X')!.data));
    expect(full.get('obsm/i16')!.dtype).toBe('float32');
    expect(full.get('layers/csr_gz')!.dtype).toBe('float64');
  });

  it('readDtype says, from matrixInfo alone, the dtype rows are read as (window sizes rest on it)', () => {
    for (const loc of LOCATIONS) expect(readDtype(matrixInfo(f, loc).dtype), loc.join('/')).toBe(readRows(f, loc, 0, 1).dtype);
    expect(matrixInfo(f, ['obsm', 'i16']).dtype).toBe('int16');
    expect(['int8', 'uint16', 'int32', 'int64', 'float64'].map(readDtype)).toEqual(['float32', 'float32', 'float64', 'float64', 'float64']);
  });

  it('any window [a, b), any window size, equals the slice of the full matrix', () => {
    const arb = fc
      .record({
        loc: fc.constantFrom(...LOCATIONS),
        a: fc.integer({ min: 0, max: 203 }),
        len: fc.integer({ min: 0, max: 203 }),
        windowBytes: fc.constantFrom(1, 28, 100, 300, 4096, 1 << 25),
        intoOut: fc.boolean(),
      })
      .map((r) => ({ ...r, b: Math.min(203, r.a + r.len) }));
    fc.assert(
      fc.property(arb, ({ loc, a, b, windowBytes, intoOut }) => {
        const ref = full.get(loc.join('/'))!;
        const out = intoOut
          ? ref.dtype === 'float32'
            ? new Float32Array((b - a) * ref.cols + 3).fill(7)
            : new Float64Array((b - a) * ref.cols + 3).fill(7)
          : undefined;
        const got = readRows(f, loc, a, b, out, { windowBytes });
        expect(got.rows).toBe(b - a);
        expect(got.cols).toBe(ref.cols);
        if (out) expect(got.data).toBe(out);
        expect(Array.from(got.data.subarray(0, (b - a) * ref.cols))).toEqual(Array.from(ref.data.subarray(a * ref.cols, b * ref.cols)));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('WebAssembly memory stays bounded by the window, not the matrix', () => {
    const before = wasmHeapBytes();
    for (let i = 0; i < 20; i++) readRows(f, ['obsm', 'c13gz'], 0, 203, undefined, { windowBytes: 64 });
    expect(wasmHeapBytes()).toBe(before);
  });

  it('refuses csc rows and windows outside the matrix with coded errors', () => {
    expect(() => readRows(f, ['layers', 'csc'], 0, 2)).toThrow(expect.objectContaining({ code: 'H5AD_UNSUPPORTED_ENCODING' }));
    expect(() => readRows(f, ['obsm', 'contig'], 5, 204)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => readRows(f, ['obsm', 'contig'], 0, 2, new Float32Array(3))).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
