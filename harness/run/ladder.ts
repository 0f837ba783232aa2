/**
 * The scale ladder: which scales a scenario is measured at (docs/measurement.md#the-scale-ladder).
 * Every rung runs in its own fresh child; how the rungs' figures become full-scale ones is
 * report/projection.ts.
 */
import { CellbudgetError } from '../../src/core/errors.js';
import { formatBytes } from '../../src/core/units.js';
import { representationRowBytes, scaleSynthetic } from '../../src/scenario/synthetic.js';
import type { BuiltinScenario } from '../../src/scenario/model.js';
import { formatScale as fmt } from '../report/projection.js';

/** `ladder:` in a scenario or `--ladder`: off, a number of rungs (halving), or explicit scales. */
export type LadderSpec = 'off' | number | readonly number[];

/** Rungs when a scenario says nothing: its scale, half and a quarter of it. */
export const DEFAULT_LADDER = 3;

/**
 * The smallest representation a rung may have: glibc's mmap threshold as the harness pins it
 * (MEASUREMENT_ENV). A smaller matrix is allocated from the heap and stays resident after it
 * is deleted, which never happens to a full-scale matrix (measured: sequential final 40% off
 * when the small rungs crossed it).
 */
export function mmapFloorBytes(env: Readonly<Record<string, string>>): number {
  const v = Number(env['MALLOC_MMAP_THRESHOLD_']);
  return Number.isFinite(v) && v > 0 ? v : 32 * 1024 * 1024;
}

/** Parse `--ladder N|off|S1,S2,…`. */
export function parseLadderFlag(text: string): LadderSpec {
  const t = text.trim();
  if (t === 'off' || t === '1') return 'off';
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n >= 2 && n <= 8) return n;
  } else {
    const parts = t.split(',').map((x) => Number(x.trim()));
    if (parts.length >= 2 && parts.every((x) => Number.isFinite(x) && x > 0 && x <= 1)) return parts;
  }
  throw new CellbudgetError('USAGE', `--ladder '${text}' is not off, a number of rungs (2–8) or a list of scales.`, {
    key: '--ladder',
    value: text,
    hint: 'Write e.g. --ladder 3 (the scale, half and a quarter of it), --ladder 0.001,0.0005,0.00025, or --ladder off.',
  });
}

export interface LadderPlan {
  /** Scales to measure, largest first; includes the scenario's own. */
  scales: number[];
  notes: string[];
}

/** The smallest representation among a scenario's synthetic datasets at `scale` (Infinity without any). */
function smallestMatrixBytes(s: BuiltinScenario, scale: number): number {
  let min = Infinity;
  for (const [i, d] of s.datasets.entries()) {
    if (!d.synthetic) continue;
    const x = scaleSynthetic(d.synthetic, scale, `${s.source}: datasets[${i}] (${d.name}).synthetic`, s.pipeline.split);
    const { perRow, fixed } = representationRowBytes(x.features, x.dtype, x.representation, x.density);
    min = Math.min(min, x.cells * perRow + fixed);
  }
  return min;
}

/** Whether a rung can be generated at all (enough cells for the conditions). */
function rungPossible(s: BuiltinScenario, scale: number): string | undefined {
  try {
    smallestMatrixBytes(s, scale);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * The rungs of a scenario. At scale 1 there is nothing to project: one rung. A rung whose
 * synthetic matrices fall under the mmap floor, or which cannot hold the conditions, is left
 * out and replaced by one above the largest so far (up to scale 1), so a ladder keeps its
 * number of rungs where the machine allows.
 */
export function planLadder(
  s: BuiltinScenario,
  spec: LadderSpec = s.ladder ?? DEFAULT_LADDER,
  env: Readonly<Record<string, string>> = {},
): LadderPlan {
  if (s.scale >= 1 || spec === 'off') return { scales: [s.scale], notes: [] };
  const floor = mmapFloorBytes(env);
  const hasSynthetic = s.datasets.some((d) => d.synthetic);
  const wanted = typeof spec === 'number' ? Array.from({ length: spec }, (_, i) => s.scale / 2 ** i) : [...new Set([s.scale, ...spec])];
  const count = wanted.length;
  const notes: string[] = [];
  const ok = (x: number): string | undefined => {
    const impossible = rungPossible(s, x);
    if (impossible) return `cannot be generated (${impossible})`;
    if (!hasSynthetic) return undefined;
    const m = smallestMatrixBytes(s, x);
    return m < floor
      ? `its smallest matrix would be ${formatBytes(m)}, under the ${formatBytes(floor)} mmap threshold: allocated from the heap, it would stay resident when deleted, unlike at full scale`
      : undefined;
  };
  const kept: number[] = [];
  const mainWhy = ok(s.scale);
  if (mainWhy)
    notes.push(
      `the scenario's own scale ${fmt(s.scale)} is measured although ${mainWhy.replace(/^its/, 'its')}; raise \`scale\` for a projection the other rungs agree with`,
    );
  for (const x of wanted) {
    const why = x === s.scale ? undefined : ok(x);
    if (why) notes.push(`rung ${fmt(x)} left out: ${why}`);
    else kept.push(x);
  }
  // Upward where the machine allows: double the largest rung until the count is back.
  let up = Math.max(...kept);
  while (kept.length < count && up < 1) {
    up = Math.min(1, up * 2);
    if (kept.some((k) => Math.abs(k - up) <= 1e-12 * up)) continue;
    kept.push(up);
    notes.push(`rung ${fmt(up)} added above the scenario's scale ${fmt(s.scale)} to keep ${count} rungs`);
  }
  return { scales: [...new Set(kept)].sort((a, b) => b - a), notes };
}
