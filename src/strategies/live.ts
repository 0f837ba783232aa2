/**
 * Live bytes: the byte length of everything the pipeline still references. Arrays are
 * registered in named groups; shared buffers (a split and its GroupedDistribution) count
 * once. The gap between this and RSS is what the allocator keeps.
 *
 * Kept incrementally: a group's buffers are counted in when it is first asked for after
 * being added and counted out when it is deleted, so reading the total at every step end
 * does not walk ~10^5 arrays each time (measured: 8-16 ms per step on 1M cells, most of the
 * harness's own cost).
 */
interface Group {
  readonly arrays: readonly ArrayBufferView[];
  readonly bytes: number;
  /** Counted into `refs` yet. */
  counted: boolean;
}

export class LiveSet {
  private readonly groups = new Map<string, Group>();
  /** Per buffer: how many registered arrays of counted groups use it. */
  private readonly refs = new Map<ArrayBufferLike, number>();
  private bufferBytes = 0;
  private otherBytes = 0;
  private uncounted: Group[] = [];

  /** Register a group: typed arrays (deduplicated by buffer) plus bytes held elsewhere. */
  add(key: string, arrays: readonly ArrayBufferView[], otherBytes = 0): void {
    this.delete(key);
    const g: Group = { arrays, bytes: otherBytes, counted: false };
    this.groups.set(key, g);
    this.otherBytes += otherBytes;
    this.uncounted.push(g);
  }

  delete(key: string): void {
    const g = this.groups.get(key);
    if (!g) return;
    this.groups.delete(key);
    this.otherBytes -= g.bytes;
    if (!g.counted) {
      this.uncounted = this.uncounted.filter((u) => u !== g);
      return;
    }
    // Counted out now, not later: holding its buffers until the next read would keep them alive.
    for (let i = 0; i < g.arrays.length; i++) {
      const b = g.arrays[i]!.buffer;
      const n = this.refs.get(b)!;
      if (n === 1) {
        this.refs.delete(b);
        this.bufferBytes -= b.byteLength;
      } else this.refs.set(b, n - 1);
    }
  }

  /** The names of the registered groups, e.g. `raw:<dataset>`, `split:<dataset>:test`. */
  keys(): string[] {
    return [...this.groups.keys()];
  }

  bytes(): number {
    for (const g of this.uncounted) {
      for (let i = 0; i < g.arrays.length; i++) {
        const b = g.arrays[i]!.buffer;
        const n = this.refs.get(b);
        if (n === undefined) {
          this.refs.set(b, 1);
          this.bufferBytes += b.byteLength;
        } else this.refs.set(b, n + 1);
      }
      g.counted = true;
    }
    this.uncounted = [];
    return this.bufferBytes + this.otherBytes;
  }
}
