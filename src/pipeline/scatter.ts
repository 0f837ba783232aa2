/**
 * The inner loop of copying distributions out of a representation: rows of a read window to
 * their places in pooled buffers. Its own module, importing only core/data (which imports
 * nothing), so that the helper thread of `split --digest` (src/cli/split-side.ts) loads little
 * more than this and the digest.
 */
import { itemSize } from '../core/data.js';
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
  /**
   * Every pool is a view of one buffer, and cursors count 32-bit words from that buffer's
   * start: a row's place is then one index into one array, with no lookup of its pool
   * (measured on split --digest's copy, 1M cells: medians 322 -> 293 ms over 10 runs).
   */
  readonly oneBuffer?: boolean;
}

/**
 * Copy rows `start..end` of `block` (row-major, `words` 32-bit words per row) to their
 * distributions: into `one` (every pool's buffer, cursors in its words) when the pools share
 * one buffer, else into `pools[poolOf[d]]`. Copies 32-bit words, not floats: bit-exact (NaN
 * payloads included) and a plain loop over one typed-array type, faster than a subarray +
 * set() per row.
 */
function scatterWords(
  block: Int32Array,
  start: number,
  end: number,
  words: number,
  dest: Int32Array,
  poolOf: Int32Array,
  pools: readonly Int32Array[],
  one: Int32Array | null,
  at: Float64Array,
  pos: Int32Array | null,
): void {
  for (let r = start; r < end; r++) {
    const d = dest[r]!;
    if (d < 0) continue;
    const out = one ?? pools[poolOf[d]!]!;
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
  // Divided, not shifted: `>> 2` of 2 GiB or more is negative (a 4 GB matrix's words).
  return new Int32Array(a.buffer, a.byteOffset, a.byteLength / 4);
}

/** What the cursors are made from: a layout's pools and where each distribution starts in its pool. */
export type CursorLayout = Pick<ScatterLayout, 'poolOf' | 'pools' | 'oneBuffer'> & {
  readonly dtype: FloatDtype;
  readonly elemAt: Float64Array;
};

/** Where the next row of each distribution goes, in 32-bit words of its pool (of the one buffer, with `oneBuffer`): the cursors `scatterRows` advances. */
export function copyCursors(layout: CursorLayout, into: Float64Array = new Float64Array(layout.elemAt.length)): Float64Array {
  const wordsPerElem = itemSize(layout.dtype) >> 2;
  const { poolOf, pools } = layout;
  if (layout.oneBuffer === true) {
    // Words from the start of the one buffer: the pool's place in it, then the distribution's in the pool.
    for (let d = 0; d < into.length; d++) into[d] = pools[poolOf[d]!]!.byteOffset / 4 + layout.elemAt[d]! * wordsPerElem;
  } else for (let d = 0; d < into.length; d++) into[d] = layout.elemAt[d]! * wordsPerElem;
  return into;
}

/**
 * Copy rows [a, b) of the representation, held in `block` (row-major, the layout's dtype), to
 * their distributions; `at` (from `copyCursors`, or `cursorsAt`) is advanced. Rows must come in
 * file order (windows in increasing order) unless the layout has `pos`.
 */
export function scatterRows(
  layout: ScatterLayout,
  block: FloatArray,
  a: number,
  b: number,
  at: Float64Array,
  poolWords?: readonly Int32Array[],
): void {
  const first = layout.pools[0];
  const one = layout.oneBuffer === true && first !== undefined ? new Int32Array(first.buffer, 0, first.buffer.byteLength / 4) : null;
  scatterWords(
    wordsOf(block),
    a,
    b,
    layout.words,
    layout.dest,
    layout.poolOf,
    one !== null ? [] : (poolWords ?? layout.pools.map(wordsOf)),
    one,
    at,
    layout.pos,
  );
}

/** Whether any row in [a, b) is copied. */
export function anyCopied(layout: Pick<ScatterLayout, 'dest'>, a: number, b: number): boolean {
  for (let r = a; r < b; r++) if (layout.dest[r]! >= 0) return true;
  return false;
}

/**
 * The cursors of a copy that starts at row `from`: each distribution's place after its rows
 * before `from` (`copyCursors` advanced over them without copying). Lets two threads copy the
 * two halves of the rows at once.
 */
export function cursorsAt(
  layout: Pick<ScatterLayout, 'dest' | 'words' | 'pos'> & CursorLayout,
  from: number,
  into: Float64Array = copyCursors(layout),
): Float64Array {
  // With `pos`, every row knows its own place: the cursors stay at each distribution's start.
  if (layout.pos !== null) return into;
  for (let r = 0; r < from; r++) {
    const d = layout.dest[r]!;
    if (d >= 0) into[d]! += layout.words;
  }
  return into;
}
