// Sizes as people write and read them: decimal units (GB = 1e9), one table for parsing,
// formatting, chart axes and error messages.
import { describe, expect, it } from 'vitest';
import { decimalUnit, formatBytes, parseBytes } from '../src/core/units.js';

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
});
