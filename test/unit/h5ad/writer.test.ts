import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { H5File, h5Ready } from '../../../src/h5ad/file.js';
import { readRows } from '../../../src/h5ad/matrix.js';
import { H5adWriter, patchBoolPlaceholders, writerWasmHeapBytes } from '../../../src/h5ad/write.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-synth-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('H5adWriter', () => {
  it('writes a dense matrix far larger than its window without growing WebAssembly memory by the matrix size', () => {
    const path = join(dir, 'big.h5');
    const rows = 80_000;
    const cols = 50;
    const matrixBytes = rows * cols * 4; // 16 MB
    // Warm up: the first file makes HDF5 allocate its own structures.
    const warm = H5adWriter.create(join(dir, 'warm.h5'));
    try {
      warm.denseMatrix('m', 2000, cols, 'float32', { chunkRows: 500, compression: 'none', windowRows: 1000 }, (a, _b, out) => out.fill(a));
    } finally {
      warm.close();
    }
    const before = writerWasmHeapBytes();
    const w = H5adWriter.create(path);
    let windows = 0;
    try {
      w.denseMatrix(
        'm',
        rows,
        cols,
        'float32',
        { chunkRows: 500, compression: 'none', windowRows: 1000, onRows: () => windows++ },
        (a, b, out) => {
          for (let r = a; r < b; r++) for (let j = 0; j < cols; j++) out[(r - a) * cols + j] = r + j / 100;
        },
      );
    } finally {
      w.close();
    }
    expect(windows).toBe(rows / 1000);
    expect(writerWasmHeapBytes() - before).toBeLessThan(matrixBytes / 4);
    expect(statSync(path).size).toBeGreaterThan(matrixBytes);
    const f = H5File.open(path);
    try {
      const got = readRows(f, ['m'], 79_998, 80_000);
      expect(Array.from(got.data)).toEqual(
        Array.from({ length: 2 * cols }, (_, i) => Math.fround(79_998 + Math.floor(i / cols) + (i % cols) / 100)),
      );
    } finally {
      f.close();
    }
  });

  it('turns every bool placeholder into an HDF5 enum and leaves a file with none into nothing to do', () => {
    const path = join(dir, 'bools.h5');
    const w = H5adWriter.create(path);
    try {
      w.group('g', 'dict', '0.1.0');
      w.boolAttr('g', 'flag_a', true);
      w.boolAttr('g', 'b', false);
      w.bool('g/values', Uint8Array.from([1, 0, 0, 1, 1]));
    } finally {
      w.close();
    }
    expect(patchBoolPlaceholders(path)).toBe(3);
    expect(patchBoolPlaceholders(path)).toBe(0);
    const r = H5adWriter.append(path);
    try {
      expect(r.typeClass('g/values')).toBe(8); // H5T_ENUM
    } finally {
      r.close();
    }
  });
});
