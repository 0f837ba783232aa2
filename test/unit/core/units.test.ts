// Sizes as people write and read them: decimal units (GB = 1e9), one table for parsing,
// formatting, chart axes and error messages.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import prettyBytes from 'pretty-bytes';
import { cutTwoDecimals, decimalUnit, formatBytes, parseBytes } from '../../../src/core/units.js';

describe('units', () => {
  it('reads sizes with decimal and binary units', () => {
    expect(parseBytes('132GB')).toBe(132e9);
    expect(parseBytes('1.5 TiB')).toBe(1.5 * 2 ** 40);
    expect(parseBytes('400 MB')).toBe(400e6);
  });

  it('picks the unit in which a size reads as 1–999', () => {
    expect([0, 999, 1000, 524e6, 524e9, 1.2e12, 3e15].map((b) => decimalUnit(b).name)).toEqual(['B', 'B', 'kB', 'MB', 'GB', 'TB', 'PB']);
    expect(decimalUnit(1e30).name).toBe('YB');
    expect(decimalUnit(-5e9)).toEqual({ name: 'GB', factor: 1e9 });
  });

  it('formats in the same unit it would pick', () => {
    for (const b of [1, 999, 1000, 65_432, 524e6, 132e9, 1.25e12]) expect(formatBytes(b).endsWith(` ${decimalUnit(b).name}`)).toBe(true);
  });

  it('writes sizes as pretty-bytes does, without starting ICU', () => {
    const intl = new Intl.NumberFormat('en-US', {
      maximumFractionDigits: 2,
      roundingMode: 'trunc',
      useGrouping: false,
    } as Intl.NumberFormatOptions);
    const edges = [0, 0.5, 0.29, 0.57, 1.005, 1.1, 9.999, 99.995, 999.99999, 123.456, 1 - 2 ** -53, 2 ** -40, 999.9999999999999];
    for (const n of edges) expect(cutTwoDecimals(n)).toBe(intl.format(n));
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }), (n) => cutTwoDecimals(n) === intl.format(n)),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -1e15, max: 1e15 }), fc.double({ min: -1e26, max: 1e26, noNaN: true, noDefaultInfinity: true })),
        (b) => {
          expect(formatBytes(b)).toBe(prettyBytes(b, { maximumFractionDigits: 2 }));
          expect(formatBytes(b, { signed: true })).toBe(prettyBytes(b, { maximumFractionDigits: 2, signed: true }));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
