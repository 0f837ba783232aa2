/**
 * Runtime warm-up before a measuring child takes its idle baseline (docs/measurement.md#the-measurement-protocol). Some of
 * the runtime's own memory grows with activity up to a cap and stays there: V8's young
 * generation doubles from 1 MB per semi-space to its maximum (16 MB on 64-bit Node 20)
 * once enough objects survive scavenges. A full-scale run always reaches the cap; a tiny
 * scaled run may stop halfway, so the same fixed cost appears in one rung of a scale
 * ladder and not in the next, and a fit reads that step as data. Growing it to the cap
 * before the baseline moves it into the baseline at every scale.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { forceGc } from './gc.js';

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Allocate short-lived objects until V8's young generation stops growing. Objects live in a
 * small ring (about 1 MB), long enough to survive one scavenge (growth needs survivors) and
 * short enough that almost none is promoted to the old generation. Plain JS objects only:
 * no ArrayBuffer, so glibc's malloc state (its dynamic mmap threshold) is untouched.
 * Returns the young generation's size afterwards, bytes.
 */
export function growYoungGeneration(maxRounds = 24): number {
  const RING = 20_000;
  const PER_ROUND = 400_000;
  let ring: Array<{ a: number; b: number[] } | undefined> = new Array<{ a: number; b: number[] } | undefined>(RING);
  let size = newSpaceBytes();
  let stable = 0;
  for (let round = 0; round < maxRounds && stable < 3; round++) {
    for (let i = 0; i < PER_ROUND; i++) ring[i % RING] = { a: i, b: [i, round] };
    const now = newSpaceBytes();
    stable = now > size ? 0 : stable + 1;
    size = Math.max(size, now);
  }
  ring = [];
  forceGc();
  return newSpaceBytes();
}

/**
 * Let V8 drop the bytecode of functions that already ran (module set-up code) now, as it
 * does under memory pressure later. Measured: h5wasm keeps its 3.5 MB WebAssembly binary as
 * a string literal of its set-up function until that function's bytecode is flushed, which
 * happened during runs at 1/32 of a 2 GB dataset but not at 1/64: a 3.5 MB step between two
 * rungs. Flushing is switched on for two forced GCs only; the flag is read at GC time.
 */
export function flushSetupCode(): void {
  setFlagsFromString('--stress-flush-code');
  try {
    forceGc();
  } finally {
    setFlagsFromString('--no-stress-flush-code');
  }
  forceGc();
}
