import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveSet } from '../../../src/strategies/live.js';

/** What live bytes mean: every buffer of every registered group once, plus the other bytes. */
function naive(groups: Map<string, { arrays: ArrayBufferView[]; other: number }>): number {
  const seen = new Set<ArrayBufferLike>();
  let total = 0;
  for (const g of groups.values()) {
    total += g.other;
    for (const a of g.arrays) if (!seen.has(a.buffer)) seen.add(a.buffer), (total += a.buffer.byteLength);
  }
  return total;
}

describe('LiveSet', () => {
  it('counts every live buffer once, whatever the order of adds, deletes, replacements and reads', () => {
    const buffers = Array.from({ length: 12 }, (_, i) => new ArrayBuffer(8 * (i + 1)));
    // Views share buffers the way splits share their GroupedDistribution's arrays.
    const view = (i: number): ArrayBufferView => new Float32Array(buffers[i % buffers.length]!, 0, 1);
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd'),
        views: fc.array(fc.nat(30), { maxLength: 6 }),
        other: fc.nat(100),
      }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
      fc.record({ kind: fc.constant('read' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const live = new LiveSet();
        const model = new Map<string, { arrays: ArrayBufferView[]; other: number }>();
        for (const o of ops) {
          if (o.kind === 'add') {
            const arrays = o.views.map(view);
            live.add(o.key, arrays, o.other);
            model.set(o.key, { arrays, other: o.other });
          } else if (o.kind === 'delete') {
            live.delete(o.key);
            model.delete(o.key);
          } else expect(live.bytes()).toBe(naive(model));
        }
        expect(live.bytes()).toBe(naive(model));
      }),
      { seed: 3, numRuns: 300 },
    );
  });
});
