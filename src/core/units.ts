import prettyBytes from 'pretty-bytes';
import { CellbudgetError } from './errors.js';

// Sizes follow the field's convention: "132GB" is decimal (1e9), "128GiB" binary (2^30).
// pretty-bytes formats; `bytes`/`filesize` parse "GB" as 2^30, which would disagree with
// the formatted output, so parsing is the small table below.
const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
};

/** Parse "132GB", "1.5 TiB", "400 MB", "1024" (bytes) into a number of bytes. */
export function parseBytes(input: string | number, key = 'size'): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) {
      throw new CellbudgetError('CONFIG_INVALID', `${key} must be a non-negative number of bytes, got ${input}.`, { key, value: input });
    }
    return input;
  }
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = (m?.[2] ?? '').toLowerCase() || 'b';
  const factor = UNITS[unit];
  if (!m || factor === undefined) {
    throw new CellbudgetError('CONFIG_INVALID', `${key} '${input}' is not a size.`, {
      key,
      value: input,
      hint: 'Write a number with a unit, e.g. 132GB, 400 MB, 1.5TiB (GB = 1e9 bytes, GiB = 2^30).',
    });
  }
  return Number(m[1]) * factor;
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'] as const;

/** A decimal byte unit and its size in bytes. */
export interface DecimalUnit {
  readonly name: (typeof DECIMAL_UNITS)[number];
  readonly factor: number;
}

/** The largest decimal unit not above `bytes` (B below 1 kB): the unit in which it reads as 1–999. */
export function decimalUnit(bytes: number): DecimalUnit {
  const abs = Math.abs(bytes);
  const i = abs >= 1 && Number.isFinite(abs) ? Math.min(Math.floor(Math.log10(abs) / 3 + 1e-12), DECIMAL_UNITS.length - 1) : 0;
  return { name: DECIMAL_UNITS[i]!, factor: 1000 ** i };
}
/**
 * `n` (finite, 0 ≤ n < 10^21) with at most two decimals, cut (not rounded), without trailing
 * zeros or grouping: what pretty-bytes writes (Intl.NumberFormat('en-US', {
 * maximumFractionDigits: 2, roundingMode: 'trunc', useGrouping: false })), which cuts the
 * shortest decimal that reads back as `n` (0.29 is "0.29", not 0.2899…).
 *
 * Written out because ICU is costly to start: the first Intl formatter of a process takes
 * ~10 ms and ~7.5 MB (measured), a share of `split`'s start-up and peak; and pretty-bytes
 * builds one per call (~35 µs), which a report of 100,000 steps felt. test/unit/core/units.test.ts
 * checks it against Intl and pretty-bytes.
 */
export function cutTwoDecimals(n: number): string {
  const s = String(n);
  if (s.includes('e')) return '0'; // below 1e-6: nothing in the first two decimals
  const dot = s.indexOf('.');
  if (dot < 0) return s;
  const cut = s.slice(0, dot + 3);
  return cut.endsWith('00') ? cut.slice(0, dot) : cut.endsWith('0') ? cut.slice(0, -1) : cut;
}

/** Whether a size is written with a unit ("400GB", "1 TiB"); a bare number of bytes has none. */
export function hasUnit(input: string | number): boolean {
  return typeof input === 'string' && /[a-zA-Z]\s*$/.test(input.trim());
}

/** Format bytes for people: decimal units, like the sizes users write ("132 GB"); pretty-bytes' output. */
export function formatBytes(bytes: number, opts: { signed?: boolean } = {}): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  if (Math.abs(bytes) >= 1e27) return prettyBytes(bytes, { maximumFractionDigits: 2, signed: opts.signed ?? false });
  const n0 = Object.is(bytes, -0) ? 0 : bytes;
  const prefix = n0 < 0 ? '-' : !opts.signed ? '' : n0 === 0 ? ' ' : '+';
  let n = Math.abs(n0);
  let exponent = n >= 1 ? Math.min(Math.floor(Math.log10(n) / 3), DECIMAL_UNITS.length - 1) : 0;
  n = n / 1000 ** exponent;
  if (n < 1 && exponent > 0) {
    n *= 1000;
    exponent -= 1;
  }
  return `${prefix}${cutTwoDecimals(n)} ${DECIMAL_UNITS[exponent]!}`;
}

/** Parse a percentage ("10%", "0.1") into a fraction. */
export function parsePercent(input: string | number, key = 'percent'): number {
  const s = String(input).trim();
  const m = /^([0-9]*\.?[0-9]+)\s*(%?)$/.exec(s);
  if (!m) {
    throw new CellbudgetError('USAGE', `${key} '${s}' is not a percentage.`, { key, value: s, hint: 'Write e.g. 10% or 0.1.' });
  }
  const n = Number(m[1]);
  return m[2] === '%' ? n / 100 : n;
}

/** Parse a duration ("30s", "10m", "1h", "250ms"; a bare number is seconds) into milliseconds. */
export function parseDuration(input: string | number, key = 'duration'): number {
  if (typeof input === 'number') return input * 1000;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(input);
  if (!m) {
    throw new CellbudgetError('USAGE', `${key} '${input}' is not a duration.`, { key, value: input, hint: 'Write e.g. 30s, 10m or 1h.' });
  }
  const factor = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
  return Number(m[1]) * factor;
}
