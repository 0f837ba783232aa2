/**
 * The inner loop of copying distributions out of a representation: rows of a read window to
 * their places in pooled buffers. Its own module, importing nothing, so that the helper thread
 * of `split --digest` (src/cli/split-side.ts) loads only this and the digest.
 */
import type { FloatArray, FloatDtype } from '../core/data.js';

/** Where rows go (grouping.ts `layoutCopy` makes it): plain typed arrays, shareable with a thread. */
export interface ScatterLayout {
  /** 32-bit words per row. */
  readonly words: number;
  /** Per row: its distribution, or -1 when not copied. */
  readonly dest: Int32Array;
  /** Per distribution: its pool. */
  readonly poolOf: Int32Array;
  /** Per row: its place in its distribution, or null when rows come in each distribution's order. */
  readonly pos: Int32Array | null;
  readonly pools: readonly FloatArray[];
}

/**
 * Copy rows `start..end` of `block` (row-major, `words` 32-bit words per row) to their
 * distributions. Copies 32-bit words, not floats: bit-exact (NaN payloads included) and a
 * plain loop over one typed-array type, faster than a subarray + set() per row. With `owned`,
 * only rows whose pool is owned (owned[pool] = 1) are copied: two threads can fill disjoint
 * pools from the same rows.
 */
function scatterWords(
  block: Int32Array,
  start: number,
  end: number,
  words: number,
  dest: Int32Array,
  poolOf: Int32Array,
  pools: readonly Int32Array[],
  at: Float64Array,
  pos: Int32Array | null,
  owned: Uint8Array | null,
): void {
  for (let r = start; r < end; r++) {
    const d = dest[r]!;
    if (d < 0) continue;
    const p = poolOf[d]!;
    if (owned !== null && owned[p] === 0) continue;
    const out = pools[p]!;
    let o: number;
    if (pos === null) {
      o = at[d]!;
      at[d] = o + words;
    } else o = at[d]! + pos[r]! * words;
    const b = (r - start) * words;
    for (let k = 0; k < words; k++) out[o + k] = block[b + k]!;
  }
}

export function wordsOf(a: FloatArray): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.byteLength >> 2);
}

/** Where the next row of each distribution goes, in 32-bit words of its pool: the cursors `scatterRows` advances. */
export function copyCursors(layout: { readonly dtype: FloatDtype; readonly elemAt: Float64Array }): Float64Array {
  const wordsPerElem = layout.dtype === 'float32' ? 1 : 2;
  return Float64Array.from(layout.elemAt, (e) => e * wordsPerElem);
}

/**
 * Copy rows [a, b) of the representation, held in `block` (row-major, layout.dtype), to their
 * distributions; `at` from `copyCursors`, advanced. With `owned`, only the pools it marks.
 * Rows must come in file order (windows in increasing order) unless the layout has `pos`.
 */
export function scatterRows(layout: ScatterLayout, block: FloatArray, a: number, b: number, at: Float64Array, owned: Uint8Array | null = null, poolWords: readonly Int32Array[] = layout.pools.map(wordsOf)): void {
  scatterWords(wordsOf(block), a, b, layout.words, layout.dest, layout.poolOf, poolWords, at, layout.pos, owned);
}

/** Whether any row in [a, b) is copied (optionally: into an owned pool). */
export function anyCopied(layout: Pick<ScatterLayout, 'dest' | 'poolOf'>, a: number, b: number, owned: Uint8Array | null = null): boolean {
  for (let r = a; r < b; r++) {
    const d = layout.dest[r]!;
    if (d >= 0 && (owned === null || owned[layout.poolOf[d]!] === 1)) return true;
  }
  return false;
}

