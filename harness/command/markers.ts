/**
 * Step markers a measured command prints, and the memory lines of the original training
 * script. Pure: parsing only, no I/O.
 *
 * Two markers are understood:
 * - `[MEMORY <label>] Used: X GB | Available: Y GB | Total: Z GB`, as the original
 *   script's `print_memory_usage(label)` prints it (anywhere in a line, so log prefixes and
 *   timestamps are fine). It is printed *after* a step, so its label names the step it closes.
 * - `::step <name>` on a line of its own, which any language can print. It is printed
 *   *before* a step, so its name names the step it opens.
 */
import type { StepName } from '../../src/core/names.js';

export interface MemoryMarker {
  kind: 'memory';
  label: string;
  /** The "Used" figure as printed, in bytes (system memory in use, when it comes from psutil). */
  usedBytes: number;
  availableBytes: number | null;
  totalBytes: number | null;
  /** `| Peak: X GB`, as cellbudget's own step recorder prints it (`run --verbose`). */
  peakBytes?: number;
}

export interface StepMarker {
  kind: 'step';
  name: string;
}

export type Marker = MemoryMarker | StepMarker;

export interface MarkerOptions {
  /**
   * Read "GB" as 2^30 bytes (psutil scripts that divide by 1024**3). Default false:
   * "GB" is 1e9 bytes, as everywhere in cellbudget.
   */
  binaryGb?: boolean;
}

// "1,234.5" is read with its thousands separators; "12,34" (a decimal comma) is no number:
// the lookahead refuses a number that runs on into digits, a point or a comma.
const NUM = String.raw`([0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)(?![0-9.,])`;
const UNIT = String.raw`([KMGTP]i?B|B)?`;
const MEMORY_RE = new RegExp(
  String.raw`\[MEMORY(?:\s+([^\]]*?))?\s*\]\s*Used:\s*${NUM}\s*${UNIT}` +
    String.raw`(?:\s*\|\s*Available:\s*${NUM}\s*${UNIT})?` +
    String.raw`(?:\s*\|\s*Total:\s*${NUM}\s*${UNIT})?`,
  'i',
);
const STEP_RE = /^\s*::step(?:\s+(.*?))?\s*$/;
const PEAK_RE = new RegExp(String.raw`\|\s*Peak:\s*${NUM}\s*${UNIT}`, 'i');

const DECIMAL: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15 };
const BINARY: Record<string, number> = { kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, pib: 2 ** 50 };

function toBytes(num: string, unit: string | undefined, opts: MarkerOptions): number {
  const u = (unit ?? 'GB').toLowerCase();
  const factor = BINARY[u] ?? (opts.binaryGb && u !== 'b' ? (BINARY[u.replace(/b$/, 'ib')] ?? 1) : (DECIMAL[u] ?? 1e9));
  return Number(num.replace(/,/g, '')) * factor;
}

/** The marker on a line, or null. A trailing `\r` (progress bars) is ignored. */
export function parseMarker(line: string, opts: MarkerOptions = {}): Marker | null {
  const text = line.replace(/\r$/, '');
  const step = STEP_RE.exec(text);
  if (step) return { kind: 'step', name: (step[1] ?? '').trim() };
  if (!text.includes('[MEMORY') && !/\[memory/i.test(text)) return null;
  const m = MEMORY_RE.exec(text);
  if (!m) return null;
  const marker: MemoryMarker = {
    kind: 'memory',
    label: (m[1] ?? '').trim(),
    usedBytes: toBytes(m[2] as string, m[3], opts),
    availableBytes: m[4] !== undefined ? toBytes(m[4], m[5], opts) : null,
    totalBytes: m[6] !== undefined ? toBytes(m[6], m[7], opts) : null,
  };
  const peak = PEAK_RE.exec(text);
  if (peak) marker.peakBytes = toBytes(peak[1] as string, peak[2], opts);
  // "1e999 GB" is Infinity: no figure, so no marker (ingest reports the line as unreadable).
  const figures = [marker.usedBytes, marker.availableBytes ?? 0, marker.totalBytes ?? 0, marker.peakBytes ?? 0];
  if (!figures.every(Number.isFinite)) return null;
  return marker;
}

export interface StepClass {
  name: StepName | null;
  dataset: string | null;
}

const DATASET_RE = /\b(dataset[_-]?[A-Za-z0-9]+)\b/i;

/**
 * Map a free-text label ("Step 3: Delete raw dataset_1") onto the pipeline's step
 * vocabulary and the dataset it names, so logs of the original script line up with the
 * built-in strategies and the simulator. Heuristic by keywords; null when nothing fits.
 * `previousDataset` carries the dataset of earlier labels ("Split GroupedDistribution"
 * names none).
 */
export function classifyLabel(label: string, previousDataset: string | null = null, datasets: readonly string[] = []): StepClass {
  const l = label.toLowerCase();
  let dataset: string | null = null;
  for (const d of datasets) {
    if (new RegExp(String.raw`\b${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\b`, 'i').test(label)) {
      dataset = d;
      break;
    }
  }
  dataset ??= DATASET_RE.exec(label)?.[1] ?? previousDataset;
  const deletes = /\b(delet|del\b|free|drop|remov|discard)/.test(l);
  let name: StepName | null = null;
  if (deletes && /(grouped|\bgd\b|distribution)/.test(l) && !/only\b.*\btest/.test(l)) name = 'delete-grouped';
  else if (deletes && /\b(raw|adata|anndata|dataset)/.test(l) && !/split/.test(l)) name = 'delete-raw';
  else if (/\b(keep|kept|retain|only test)/.test(l)) name = 'retain';
  else if (/\bsplit/.test(l)) name = 'split';
  else if (/\b(prepar|process|group)/.test(l)) name = 'prepare';
  else if (/\b(load|read)/.test(l)) name = 'load';
  return { name, dataset };
}
