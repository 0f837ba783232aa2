/**
 * Writing synthetic h5ad files: throughput and peak RSS of `synthesize()` against the size
 * of the representation it writes, for dense (uncompressed, gzip) and CSR layouts.
 *
 * Each case runs in its own child process (fresh baseline). Figures per case: the process
 * baseline after loading h5wasm, VmHWM over the whole write, VmHWM over the matrix phase
 * alone (reset at its start, Linux only), RSS and WebAssembly heap at the end. Files go to
 * a temporary directory and are deleted. Prints figures; asserts nothing.
 *
 *   node --expose-gc dist/bench/synth-write.js [--size 250MB] [--cases dense,gzip,csr]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesize } from '../src/h5ad/synth.js';
import { writerWasmHeapBytes } from '../src/h5ad/write.js';
import type { SynthOptions } from '../src/h5ad/synth.js';
import { readProcStatus, resetHighWaterMark } from '../src/memory/proc.js';
import { formatBytes } from '../src/core/units.js';

const CASES: Record<string, SynthOptions> = {
  dense: { compression: 'none' },
  gzip: { compression: 'gzip' },
  csr: { compression: 'none', dataLocation: 'X', format: 'csr', density: 0.1 },
};

interface WriteFigures {
  name: string;
  cells: number;
  representationBytes: number;
  fileBytes: number;
  seconds: number;
  baselineRssBytes: number | null;
  peakRssBytes: number | null;
  matrixPeakRssBytes: number | null;
  rssAfterBytes: number | null;
  wasmHeapBytes: number;
}

/** Write one case in this process and return its figures. */
export async function measureWrite(name: string, size: string, dir: string, resetAtMatrix: boolean): Promise<WriteFigures> {
  const opts = CASES[name];
  if (!opts) throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = readProcStatus()?.rssBytes ?? null;
  let matrixHwm = false;
  const out = join(dir, `${name}.h5ad`);
  const r = await synthesize({ size, features: 50, cellLines: 10, drugs: 40, doses: [0.1, 1, 10], ...opts }, out, (p) => {
    if (resetAtMatrix && p.phase === 'matrix' && p.rowsDone === 0) matrixHwm = resetHighWaterMark();
  });
  const st = readProcStatus();
  return {
    name,
    cells: r.spec.cells,
    representationBytes: r.representationBytes,
    fileBytes: r.fileBytes,
    seconds: r.seconds,
    baselineRssBytes: baseline,
    peakRssBytes: matrixHwm ? null : (st?.hwmBytes ?? null),
    matrixPeakRssBytes: matrixHwm ? (st?.hwmBytes ?? null) : null,
    rssAfterBytes: st?.rssBytes ?? null,
    wasmHeapBytes: writerWasmHeapBytes(),
  };
}

const fmt = (b: number | null): string => (b === null ? '?' : formatBytes(b));

/** Run every case in a child process and print a table. */
export function runSynthWriteBench(opts: { size?: string; cases?: readonly string[] } = {}): void {
  const size = opts.size ?? '250MB';
  const cases = opts.cases ?? Object.keys(CASES);
  const dir = mkdtempSync(join(tmpdir(), 'cellbudget-bench-synth-'));
  const self = fileURLToPath(import.meta.url);
  process.stdout.write(`synth write benchmark: representation ${size}, 50 features, 10 cell lines x 40 drugs x 3 doses\n`);
  process.stdout.write(
    `  ${'case'.padEnd(6)} ${'cells'.padStart(9)} ${'matrix'.padStart(9)} ${'file'.padStart(9)} ${'seconds'.padStart(8)} ${'MB/s'.padStart(6)} ${'baseline'.padStart(9)} ${'peak RSS'.padStart(9)} ${'matrix pk'.padStart(9)} ${'wasm'.padStart(8)}\n`,
  );
  try {
    for (const name of cases) {
      // Two children: one for the whole-write peak, one with the reset at the matrix phase.
      const runs: WriteFigures[] = [];
      for (const mode of ['whole', 'matrix']) {
        const child = spawnSync(process.execPath, ['--expose-gc', self, '--child', name, size, dir, mode], {
          encoding: 'utf8',
          maxBuffer: 1 << 24,
        });
        if (child.status !== 0) {
          process.stdout.write(`  ${name}: child failed (${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
          continue;
        }
        runs.push(JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as WriteFigures);
      }
      const [a, b] = runs;
      if (!a) continue;
      process.stdout.write(
        `  ${name.padEnd(6)} ${String(a.cells).padStart(9)} ${fmt(a.representationBytes).padStart(9)} ${fmt(a.fileBytes).padStart(9)} ${a.seconds.toFixed(2).padStart(8)} ${(a.representationBytes / 1e6 / a.seconds).toFixed(1).padStart(6)} ${fmt(a.baselineRssBytes).padStart(9)} ${fmt(a.peakRssBytes).padStart(9)} ${fmt(b?.matrixPeakRssBytes ?? null).padStart(9)} ${fmt(a.wasmHeapBytes).padStart(8)}\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const childAt = args.indexOf('--child');
  if (childAt >= 0) {
    const [name, size, dir, mode] = args.slice(childAt + 1);
    // 'whole': VmHWM over the whole write; 'matrix': reset at the matrix phase.
    const f = await measureWrite(name ?? 'dense', size ?? '250MB', dir ?? tmpdir(), mode === 'matrix');
    process.stdout.write(JSON.stringify(f) + '\n');
  } else {
    const at = (flag: string): string | undefined => {
      const i = args.indexOf(flag);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const sizeArg = at('--size');
    const casesArg = at('--cases');
    runSynthWriteBench({ ...(sizeArg ? { size: sizeArg } : {}), ...(casesArg ? { cases: casesArg.split(',') } : {}) });
  }
}
