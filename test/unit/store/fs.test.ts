import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  commitStore,
  DirectorySink,
  partialDirFor,
  readStoreMarker,
  removeStalePartials,
  STORE_MARKER,
  writeMarker,
} from '../../../src/store/fs.js';

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-store-fs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DirectorySink', () => {
  it('fills a chunk piece by piece, reopening files it closed without truncating them', () => {
    const root = join(dir, 'sink');
    const sink = new DirectorySink(root, 2);
    try {
      // Three chunks through a cache of two open files: each write to `a` after `b` and `c` reopens it.
      sink.writeAt('x/a', 0, Uint8Array.of(1, 2));
      sink.writeAt('x/b', 0, Uint8Array.of(9));
      sink.writeAt('y/c', 1, Uint8Array.of(7));
      sink.writeAt('x/a', 2, Uint8Array.of(3));
      sink.resize('x/a', 6);
      sink.set('x/.zarray', new TextEncoder().encode('{}'));
    } finally {
      sink.close();
    }
    expect(Array.from(readFileSync(join(root, 'x/a')))).toEqual([1, 2, 3, 0, 0, 0]);
    expect(Array.from(readFileSync(join(root, 'y/c')))).toEqual([0, 7]);
    expect(readFileSync(join(root, 'x/.zarray'), 'utf8')).toBe('{}');
  });

  it('says what failed, with a code, when it cannot write', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const sink = new DirectorySink(file);
    expect(() => sink.set('k/v', Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'OUTPUT_UNWRITABLE' }));
    sink.close();
  });
});

describe('putting a store in place', () => {
  const store = (name: string, content: string): string => {
    const p = partialDirFor(join(dir, name));
    writeFileSync(join(p, 'data'), content);
    writeMarker(p, { content });
    return p;
  };

  it('renames a complete store into place, and refuses to replace one unless forced', () => {
    const target = join(dir, 's.zarr');
    expect(commitStore(store('s.zarr', 'one'), target, false)).toEqual({ replaced: false });
    expect(readStoreMarker(target)['content']).toBe('one');
    const second = store('s.zarr', 'two');
    expect(() => commitStore(second, target, false)).toThrow(expect.objectContaining({ code: 'STORE_EXISTS' }));
    expect(readFileSync(join(target, 'data'), 'utf8')).toBe('one');
    expect(commitStore(second, target, true)).toEqual({ replaced: true });
    expect(readFileSync(join(target, 'data'), 'utf8')).toBe('two');
    // Neither the partial nor the replaced store is left beside it.
    expect(readdirSync(dir).filter((n) => n.startsWith('.s.zarr'))).toEqual([]);
  });

  it('our readers refuse a store without its completion marker', () => {
    const p = partialDirFor(join(dir, 'half.zarr'));
    expect(() => readStoreMarker(p)).toThrow(expect.objectContaining({ code: 'STORE_INCOMPLETE' }));
    writeFileSync(join(p, STORE_MARKER), '{"complete": tru');
    expect(() => readStoreMarker(p)).toThrow(expect.objectContaining({ code: 'STORE_INCOMPLETE' }));
    expect(() => readStoreMarker(join(dir, 'none.zarr'))).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND' }));
  });

  it("removes partial stores of writers that are gone, not a live writer's", () => {
    const folder = join(dir, 'stale');
    mkdirSync(folder);
    // pid 2^22 + 1 is above Linux's pid_max default: no such process.
    const dead = join(folder, `.x.zarr.cellbudget-${2 ** 22 + 1}-abc123.partial`);
    const alive = join(folder, `.x.zarr.cellbudget-${process.pid}-abc123.partial`);
    mkdirSync(dead);
    mkdirSync(alive);
    expect(removeStalePartials(folder)).toEqual([`.x.zarr.cellbudget-${2 ** 22 + 1}-abc123.partial`]);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(alive)).toBe(true);
  });
});
