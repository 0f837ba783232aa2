import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyColumn, tupleKeys } from '../../../src/pipeline/keys.js';

describe('numeric sort keys', () => {
  // Few distinct values (a dose) and many (past the scan limit, where a Map takes over).
  const values = fc.oneof(
    fc.array(fc.constantFrom(0.05, 0.5, 5, -0, 0, Number.NaN, 100), { maxLength: 300 }),
    fc.array(fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constant(Number.NaN), fc.constant(-0)), { maxLength: 300 }),
  );

  it('rank every value among the distinct values (NaN missing, -0 equal to 0), whatever the array type', () => {
    fc.assert(
      fc.property(values, (xs) => {
        const uniq = [...new Set(xs.filter((x) => !Number.isNaN(x)).map((x) => (x === 0 ? 0 : x)))].sort((a, b) => a - b);
        for (const arr of [Float64Array.from(xs), Float32Array.from(xs)]) {
          const k = keyColumn({ kind: 'numeric', name: 'dose', dtype: 'float64', values: arr });
          expect(k.labels).toEqual(uniq.map((u) => (arr instanceof Float32Array ? Math.fround(u) : u)));
          xs.forEach((x, i) => expect(k.codes[i]).toBe(Number.isNaN(x) ? -1 : uniq.indexOf(x === 0 ? 0 : x)));
        }
      }),
      { seed: 5, numRuns: 200 },
    );
  });
});

describe('tuple keys', () => {
  it('order rows like their tuples and exclude rows with a missing value or a negative state', () => {
    const col = (name: string, card: number) =>
      fc
        .array(fc.integer({ min: -1, max: card - 1 }), { minLength: 40, maxLength: 40 })
        .map((codes) => ({ name, codes: Int32Array.from(codes), labels: Array.from({ length: card }, (_, i) => `${name}${i}`) }));
    fc.assert(
      fc.property(
        col('a', 3),
        col('b', 300),
        col('c', 400),
        fc.array(fc.constantFrom(-1, 0, 1), { minLength: 40, maxLength: 40 }),
        (a, b, c, st) => {
          // 3 x 300 x 400 combinations: more than plain mixed-radix keys may span, so dense codes.
          for (const cols of [
            [a, b],
            [a, b, c],
          ]) {
            const state = Int8Array.from(st);
            const k = tupleKeys(cols, 40, state);
            for (let i = 0; i < 40; i++) {
              const missing = state[i]! < 0 || cols.some((x) => x.codes[i]! < 0);
              expect(k.codes[i]! < 0).toBe(missing);
              if (missing) continue;
              expect(k.codes[i]).toBeLessThan(k.range);
              for (let j = 0; j < 40; j++) {
                if (k.codes[j]! < 0) continue;
                const tuple = (r: number) => cols.map((x) => x.codes[r]!);
                const cmp =
                  tuple(i)
                    .map((v, m) => v - tuple(j)[m]!)
                    .find((d) => d !== 0) ?? 0;
                expect(Math.sign(k.codes[i]! - k.codes[j]!)).toBe(Math.sign(cmp));
              }
            }
          }
        },
      ),
      { seed: 6, numRuns: 100 },
    );
  });
});
