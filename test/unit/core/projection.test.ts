// The ladder fit on synthetic readings: it recovers known fixed and proportional parts, says
// when a ladder is not a line, and its interval behaves (covers, shrinks with rungs and runs,
// widens with noise and extrapolation). Readings are made up here; nothing is measured.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { byScale, fitAffine, judge, lowerMedian, NOISE_FLOOR_BYTES, type Reading } from '../../../src/core/projection.js';

const MB = 1e6;
const GB = 1e9;
const line = (fixed: number, proportional: number, scales: readonly number[]): Reading[] =>
  scales.map((scale) => ({ scale, bytes: fixed + proportional * scale }));

/** A small deterministic generator (mulberry32): noise that is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Normal noise (Box–Muller). */
const gauss = (r: () => number): number => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());

describe('fitAffine', () => {
  test('recovers the fixed and proportional parts of an exact ladder, and projects their sum', () => {
    const f = fitAffine(line(40 * MB, 400 * GB, [0.001, 0.0005, 0.00025]));
    expect(f.fixed_bytes).toBeCloseTo(40 * MB, -2);
    expect(f.proportional_bytes).toBeCloseTo(400 * GB, -3);
    expect(f.projected_bytes).toBeCloseTo(400 * GB + 40 * MB, -3);
    expect(f.residual).toBeLessThan(1e-9);
    expect(f.linear).toBe(true);
    expect(f.constrained).toBe(false);
    expect(f.scales).toEqual([0.001, 0.0005, 0.00025]);
  });

  test('property: any exact affine ladder is recovered, whatever the scales', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100 * MB, noNaN: true }),
        fc.double({ min: 1 * GB, max: 1000 * GB, noNaN: true }),
        fc.uniqueArray(fc.double({ min: 1e-5, max: 1, noNaN: true }), {
          minLength: 2,
          maxLength: 6,
          comparator: (a, b) => Math.abs(a - b) < 1e-6,
        }),
        (fixed, proportional, scales) => {
          const f = fitAffine(line(fixed, proportional, scales));
          expect(Math.abs(f.projected_bytes - (fixed + proportional)) / (fixed + proportional)).toBeLessThan(1e-6);
          expect(f.interval[0]).toBeLessThanOrEqual(f.projected_bytes);
          expect(f.interval[1]).toBeGreaterThanOrEqual(f.projected_bytes);
        },
      ),
      { seed: 11, numRuns: 200 },
    );
  });

  test('dividing by the scale multiplies the fixed part: the fit does not', () => {
    const readings = line(40 * MB, 100 * GB, [1 / 32, 1 / 64, 1 / 128]);
    const naive = readings[0]!.bytes / readings[0]!.scale;
    expect(naive / (100 * GB + 40 * MB) - 1).toBeGreaterThan(0.01);
    expect(Math.abs(fitAffine(readings).projected_bytes / (100 * GB + 40 * MB) - 1)).toBeLessThan(1e-9);
  });

  test('flags a ladder that is not a line, and not one whose scatter is noise', () => {
    // A rung that fell into another regime: +20 MB at the smallest scale only.
    const bent = line(5 * MB, 4 * GB, [1 / 32, 1 / 64, 1 / 128]);
    bent[2] = { scale: bent[2]!.scale, bytes: bent[2]!.bytes + 20 * MB };
    const f = fitAffine(bent);
    expect(f.linear).toBe(false);
    expect(f.residual).toBeGreaterThan(0.03);
    // ±1 MB of scatter on the same ladder is noise: linear.
    const noisy = line(5 * MB, 4 * GB, [1 / 32, 1 / 64, 1 / 128]).map((r, i) => ({ ...r, bytes: r.bytes + [1, -1, 1][i]! * MB }));
    expect(fitAffine(noisy).linear).toBe(true);
    // A concave ladder (what sub-32 MiB matrices on the heap did to a final): not linear.
    const concave = [1 / 32, 1 / 45.25, 1 / 64].map((scale, i) => ({ scale, bytes: [163.5, 98, 128][i]! * MB }));
    expect(fitAffine(concave).linear).toBe(false);
  });

  test('two rungs fit any line: no residual, and the interval still carries the noise floor', () => {
    const f = fitAffine(line(0, 4 * GB, [1 / 64, 1 / 128]));
    expect(f.residual).toBe(0);
    expect(f.interval[1] - f.interval[0]).toBeGreaterThan(2 * NOISE_FLOOR_BYTES);
  });

  test('the interval widens with extrapolation and noise, narrows with a wider ladder and with repeats', () => {
    const width = (f: ReturnType<typeof fitAffine>): number => f.interval[1] - f.interval[0];
    const near = fitAffine(line(0, 4 * GB, [1 / 4, 1 / 8, 1 / 16]));
    const far = fitAffine(line(0, 4 * GB, [1 / 32, 1 / 64, 1 / 128]));
    expect(width(far)).toBeGreaterThan(4 * width(near));
    const wide = fitAffine(line(0, 4 * GB, [1 / 32, 1 / 128, 1 / 512]));
    const narrow = fitAffine(line(0, 4 * GB, [1 / 32, 1 / 40, 1 / 50]));
    expect(width(narrow)).toBeGreaterThan(width(wide));
    // Repeats whose spread is larger than the floor widen the interval.
    const spread = [...line(0, 4 * GB, [1 / 32, 1 / 64, 1 / 128]), ...line(10 * MB, 4 * GB, [1 / 32, 1 / 64, 1 / 128])];
    expect(width(fitAffine(spread))).toBeGreaterThan(width(far));
  });

  test('intervals cover the true figure about 95% of the time under noise at the floor', () => {
    const r = rng(7);
    const truth = 4 * GB + 3 * MB;
    let covered = 0;
    const n = 400;
    for (let i = 0; i < n; i++) {
      const readings = [1 / 32, 1 / 64, 1 / 128].map((scale) => ({ scale, bytes: 3 * MB + 4 * GB * scale + NOISE_FLOOR_BYTES * gauss(r) }));
      const f = fitAffine(readings);
      if (truth >= f.interval[0] && truth <= f.interval[1]) covered++;
    }
    expect(covered / n).toBeGreaterThan(0.9);
  });

  test('a slope below that of the live bytes the figure holds is raised to it', () => {
    // Noise that tilts the line below the live bytes' slope (4 GB per unit of scale).
    const readings = [
      { scale: 1 / 32, bytes: (4 * GB) / 32 - 2 * MB },
      { scale: 1 / 64, bytes: (4 * GB) / 64 },
      { scale: 1 / 128, bytes: (4 * GB) / 128 + 2 * MB },
    ];
    const live = line(0, 4 * GB, [1 / 32, 1 / 64, 1 / 128]);
    const free = fitAffine(readings);
    expect(free.proportional_bytes).toBeLessThan(4 * GB);
    const f = fitAffine(readings, { floor: live });
    expect(f.constrained).toBe(true);
    expect(f.proportional_bytes).toBeCloseTo(4 * GB, -3);
    expect(f.projected_bytes).toBeGreaterThan(free.projected_bytes);
    // A slope above the floor's is left alone.
    expect(fitAffine(line(1 * MB, 5 * GB, [1 / 32, 1 / 64]), { floor: live }).constrained).toBe(false);
  });

  test('repeats at one scale are combined by their lower median, so one excursion does not tilt the fit', () => {
    const clean = line(2 * MB, 4 * GB, [1 / 32, 1 / 64, 1 / 128]);
    const withExcursion = [...clean, ...clean, { scale: 1 / 128, bytes: clean[2]!.bytes + 14 * MB }];
    expect(fitAffine(withExcursion).projected_bytes).toBeCloseTo(fitAffine(clean).projected_bytes, -3);
    expect(lowerMedian([3, 1, 2, 10])).toBe(2);
    expect(
      byScale([
        { scale: 0.5, bytes: 1 },
        { scale: 1, bytes: 2 },
        { scale: 0.5, bytes: 3 },
      ]),
    ).toEqual([
      { scale: 1, values: [2] },
      { scale: 0.5, values: [1, 3] },
    ]);
  });

  test('refuses a single scale', () => {
    expect(() => fitAffine(line(0, GB, [0.5]))).toThrow(RangeError);
    expect(() => fitAffine([...line(0, GB, [0.5]), ...line(1, GB, [0.5])])).toThrow(RangeError);
  });
});

describe('judge', () => {
  test('ok when the whole interval is within the limit, exceeded when all of it is over, uncertain otherwise', () => {
    expect(judge([390 * GB, 398 * GB], 400 * GB)).toBe('ok');
    expect(judge([401 * GB, 410 * GB], 400 * GB)).toBe('exceeded');
    expect(judge([395 * GB, 405 * GB], 400 * GB)).toBe('uncertain');
    expect(judge([390 * GB, 398 * GB], 400 * GB, false)).toBe('uncertain');
  });
});
