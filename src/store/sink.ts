/**
 * Where a store's bytes go: a small, synchronous key → bytes interface (keys are zarr's,
 * slash-separated, no leading slash). The file system implements it in fs.ts; `MemorySink`
 * holds everything in a Map, for tests. Writes at an offset let the row writer put a window's
 * rows straight into their place in an uncompressed chunk, without holding the chunk.
 */
export interface StoreSink {
  /** Create or replace the object at `key`. */
  set(key: string, bytes: Uint8Array): void;
  /** Write `bytes` into the object at `key` from byte `offset` (creating it; bytes not written read as zeros). */
  writeAt(key: string, offset: number, bytes: Uint8Array): void;
  /** Make the object at `key` `size` bytes long (zeros past what was written). */
  resize(key: string, size: number): void;
}

/** A StoreSink in memory. */
export class MemorySink implements StoreSink {
  readonly objects = new Map<string, Uint8Array>();

  set(key: string, bytes: Uint8Array): void {
    this.objects.set(key, bytes.slice());
  }

  writeAt(key: string, offset: number, bytes: Uint8Array): void {
    const old = this.objects.get(key) ?? new Uint8Array(0);
    const size = Math.max(old.length, offset + bytes.length);
    const next = size === old.length ? old : new Uint8Array(size);
    if (next !== old) next.set(old);
    next.set(bytes, offset);
    this.objects.set(key, next);
  }

  resize(key: string, size: number): void {
    const old = this.objects.get(key) ?? new Uint8Array(0);
    const next = new Uint8Array(size);
    next.set(old.subarray(0, size));
    this.objects.set(key, next);
  }
}
