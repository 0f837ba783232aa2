/**
 * Live bytes: the byte length of everything the pipeline still references. Arrays are
 * registered in named groups; shared buffers (a split and its GroupedDistribution) count
 * once. The gap between this and RSS is what the allocator keeps.
 */
export class LiveSet {
  private readonly groups = new Map<string, readonly ArrayBufferView[]>();

  add(key: string, arrays: readonly ArrayBufferView[]): void {
    this.groups.set(key, arrays);
  }

  delete(key: string): void {
    this.groups.delete(key);
  }

  bytes(): number {
    const seen = new Set<ArrayBufferLike>();
    let total = 0;
    for (const arrays of this.groups.values()) {
      for (const a of arrays) {
        if (seen.has(a.buffer)) continue;
        seen.add(a.buffer);
        total += a.buffer.byteLength;
      }
    }
    return total;
  }
}
