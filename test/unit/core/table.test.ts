// The one text-table formatter (src/core/table.ts): the layout every command printed by hand.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTable } from '../../../src/core/table.js';

/** How the commands laid out their tables before: pad each column to its widest cell, two spaces apart, trim the end. */
function byHand(rows: readonly (readonly string[])[], head?: readonly string[]): string {
  const all = head ? [head, ...rows] : rows;
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [...(head ? [line(head), line(widths.map((w) => '─'.repeat(w)))] : []), ...rows.map(line)].join('\n');
}

const cell = fc.stringMatching(/^[a-z0-9.%→✓✗–±(): -]{1,14}$/).map((s) => s.trim() || 'x');

describe('formatTable', () => {
  it('lays rows out as the hand-built tables did: widest cell per column, two spaces apart, no trailing spaces', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 5 })
          .chain((n) =>
            fc.tuple(
              fc.array(cell, { minLength: n, maxLength: n }),
              fc.array(fc.array(cell, { minLength: n, maxLength: n }), { minLength: 1, maxLength: 6 }),
            ),
          ),
        ([head, rows]) => {
          expect(formatTable(rows)).toBe(byHand(rows));
          expect(formatTable(rows, { head, rule: true })).toBe(byHand(rows, head));
        },
      ),
      { seed: 14, numRuns: 200 },
    );
  });

  it('aligns right, indents every line, takes another gap', () => {
    const t = formatTable(
      [
        ['stage', 'seconds'],
        ['plan', '0.125'],
        ['materialize', '12.5'],
      ],
      { indent: '  ', gap: ' ', align: ['left', 'right'] },
    );
    expect(t).toBe(['  stage       seconds', '  plan          0.125', '  materialize    12.5'].join('\n'));
  });

  it('a column of empty cells is one space wide (cli-table3; the hand-built ones gave it none); an empty table is empty', () => {
    expect(
      formatTable([
        ['a', '', 'b'],
        ['cc', '', 'd'],
      ]),
    ).toBe(['a      b', 'cc     d'].join('\n'));
    expect(formatTable([])).toBe('');
    expect(formatTable([], { head: ['scenario', 'peak'], rule: true })).toBe('scenario  peak\n────────  ────');
  });
});
