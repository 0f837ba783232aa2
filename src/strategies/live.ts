/**
 * Live bytes: the byte length of everything the pipeline still references. Arrays are
 * registered in named groups; shared buffers (a split and its GroupedDistribution) count
 * once. The gap between this and RSS is what the allocator keeps.
 */
export class LiveSet {
  private readonly groups = new Map<string, { arrays: readonly ArrayBufferView[]; bytes: number }>();

  /** Register a group: typed arrays (deduplicated by buffer) plus bytes held elsewhere. */
  add(key: string, arrays: readonly ArrayBufferView[], otherBytes = 0): void {
    this.groups.set(key, { arrays, bytes: otherBytes });
  }

  delete(key: string): void {
    this.groups.delete(key);
  }

  bytes(): number {
    const seen = new Set<ArrayBufferLike>();
    let total = 0;
    for (const g of this.groups.values()) {
      total += g.bytes;
      for (const a of g.arrays) {
        if (seen.has(a.buffer)) continue;
        seen.add(a.buffer);
        total += a.buffer.byteLength;
      }
    }
    return total;
  }
}
