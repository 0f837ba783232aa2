/**
 * Python's built-in `round(x)` for a float: the nearest integer, ties to even, applied to
 * the double `x` exactly as computed (so `round(0.15 * 10)` sees 1.5 and gives 2, while
 * a product that lands just below .5 rounds down, as in Python).
 */
export function pyRound(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`cannot round ${x}`);
  const f = Math.floor(x);
  // x - floor(x) is exact for doubles, so the tie test matches Python's.
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** `round(ratio * n)` with Python semantics: the product is a double, then half-to-even. */
export function roundShare(ratio: number, n: number): number {
  return pyRound(ratio * n);
}
