/**
 * `cellbudget ingest` on long logs: 10,000, 100,000 and 200,000 `[MEMORY …]` markers (each
 * after a line of other output, timestamps on), each size in a fresh `node` process running
 * the CLI, report files and charts included. Prints wall time and µs per marker;
 * a linear ingest keeps µs per marker flat (the first row also carries Node's start-up). Figures only; nothing is asserted.
 *
 *   node dist/bench/ingest.js [--sizes 10000,100000,200000] [--dir DIR]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

const sizes = arg('sizes', '10000,100000,200000').split(',').map(Number);
const dir = arg('dir', '/tmp/cellbudget-bench-ingest');
const cli = resolve(fileURLToPath(import.meta.url), '../../../bin/cellbudget.js');
const LABELS = [
  'After loading dataset_1',
  'After preparing dataset_1',
  'After deleting raw dataset_1',
  'After splitting dataset_1',
  'After loading dataset_2',
  'After preparing dataset_2',
];

function makeLog(path: string, markers: number): void {
  const parts: string[] = [];
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < markers; i++) {
    const stamp = new Date(t0 + i * 1000).toISOString().replace('T', ' ').slice(0, 19);
    parts.push(`${stamp} INFO epoch ${i}: other output of the training script\n`);
    parts.push(
      `${stamp} [MEMORY ${LABELS[i % LABELS.length]}] Used: ${(100 + (i % 300) + (i % 7) / 10).toFixed(2)} GB | Available: 200.00 GB | Total: 400.00 GB\n`,
    );
  }
  writeFileSync(path, parts.join(''));
}

mkdirSync(dir, { recursive: true });
process.stdout.write(`${'markers'.padStart(8)}  ${'log'.padStart(8)}  ${'wall'.padStart(8)}  ${'µs/marker'.padStart(9)}  exit\n`);
for (const n of sizes) {
  const log = join(dir, `log-${n}.txt`);
  makeLog(log, n);
  const out = join(dir, `report-${n}`);
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, 'ingest', log, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  const ms = performance.now() - t;
  process.stdout.write(
    `${String(n).padStart(8)}  ${`${(statSync(log).size / 1e6).toFixed(1)} MB`.padStart(8)}  ${`${(ms / 1000).toFixed(2)} s`.padStart(8)}  ${((ms * 1000) / n).toFixed(1).padStart(9)}  ${r.status ?? r.signal}\n`,
  );
  rmSync(log, { force: true });
  rmSync(out, { recursive: true, force: true });
}
process.stdout.write(
  '\nwall: the whole `cellbudget ingest` process (start-up, streaming the log, report.json/md/html, junit.xml, PNG charts).\n',
);
