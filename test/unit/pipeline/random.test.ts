import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeGolden, GOLDEN, goldenPresent } from '../../helpers/fixtures.js';
import { RandomState } from '../../../src/pipeline/random.js';
import { pyRound, roundShare } from '../../../src/pipeline/round.js';

interface PermCase {
  seed: number;
  n: number;
  sha256: string;
  /** Full permutation for small n; large cases pin head, tail and sha256 only. */
  perm?: number[];
  head?: number[];
  tail?: number[];
}
const golden = goldenPresent ? (JSON.parse(readFileSync(`${GOLDEN}/permutations.json`, 'utf8')) as { cases: PermCase[] }) : { cases: [] };

describeGolden('RandomState.permutation (numpy legacy)', () => {
  it('reproduces every case of permutations.json, values and sha256', () => {
    expect(golden.cases.length).toBeGreaterThan(0);
    for (const c of golden.cases) {
      const perm = new RandomState(c.seed).permutation(c.n);
      const where = `seed ${c.seed} n ${c.n}`;
      if (c.perm) expect(Array.from(perm), where).toEqual(c.perm);
      if (c.head) expect(Array.from(perm.subarray(0, c.head.length)), where).toEqual(c.head);
      if (c.tail) expect(Array.from(perm.subarray(perm.length - c.tail.length)), where).toEqual(c.tail);
      const bytes = BigInt64Array.from(perm, (v) => BigInt(v));
      const sha = createHash('sha256').update(new Uint8Array(bytes.buffer)).digest('hex');
      expect(sha, `sha256 of seed ${c.seed} n ${c.n}`).toBe(c.sha256);
    }
  });

  it('gives the empty permutation for n = 0 and rejects bad seeds', () => {
    expect(new RandomState(1).permutation(0).length).toBe(0);
    expect(() => new RandomState(-1)).toThrow(/random_state/);
    expect(() => new RandomState(2 ** 32)).toThrow(/random_state/);
  });
});

describe('pyRound (Python round, half to even, on the double product)', () => {
  it('rounds ties to even', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5].map(pyRound)).toEqual([0, 2, 2, 4, 0, -2]);
    expect(pyRound(2.4999999999999996)).toBe(2);
  });
  it('sees the product as Python computes it', () => {
    // Checked with CPython: 0.15*10 == 1.5 -> 2, 0.7*5 == 3.5 -> 4, 0.35*10 == 3.5 -> 4, 0.45*10 == 4.5 -> 4
    expect(roundShare(0.15, 10)).toBe(2);
    expect(roundShare(0.7, 5)).toBe(4);
    expect(roundShare(0.35, 10)).toBe(4);
    expect(roundShare(0.45, 10)).toBe(4);
    expect(roundShare(0.15, 30)).toBe(4);
    expect(roundShare(0.2, 5)).toBe(1);
  });
});
