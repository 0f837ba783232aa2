/**
 * The text tables every command and benchmark prints: cli-table3 lays out the columns (widths
 * by display width, alignment), drawn borderless in our house style — columns two spaces
 * apart, an optional rule of ─ under the head, no trailing spaces.
 */
import Table from 'cli-table3';

export type Align = 'left' | 'right';

export interface TableOptions {
  /** Column titles, the first line. */
  readonly head?: readonly string[];
  /** A rule of ─ under each title. */
  readonly rule?: boolean;
  /** Per column (default left): numbers read best right-aligned. */
  readonly align?: readonly Align[];
  /** Before every line, e.g. two spaces under a heading. */
  readonly indent?: string;
  /** Between columns (default two spaces). */
  readonly gap?: string;
}

const NO_BORDER = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  right: '',
  'right-mid': '',
  mid: '',
  'mid-mid': '',
  middle: '  ',
};

/** Rows (and a head) as aligned text columns: one line each, no trailing spaces, no final newline. */
export function formatTable(rows: ReadonlyArray<readonly string[]>, opts: TableOptions = {}): string {
  const gap = opts.gap ?? '  ';
  const head = opts.head ? [...opts.head] : [];
  const rule = opts.rule === true && head.length > 0;
  const table = new Table({
    head,
    // `compact` draws the `mid` line only under the head: that is the rule.
    chars: { ...NO_BORDER, middle: gap, ...(rule ? { mid: '─', 'mid-mid': gap } : {}) },
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0 },
    ...(opts.align ? { colAligns: [...opts.align] } : {}),
  });
  if (head.length === 0 && rows.length === 0) return '';
  // The rule is drawn between the head and a row: a head alone gets an empty row, cut below.
  const empty = rows.length === 0 && rule;
  table.push(...(empty ? [head.map(() => '')] : rows.map((r) => [...r])));
  const indent = opts.indent ?? '';
  const lines = table.toString().split('\n');
  return (empty ? lines.slice(0, -1) : lines).map((line) => `${indent}${line}`.trimEnd()).join('\n');
}
