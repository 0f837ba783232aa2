/**
 * A built-in strategy run as an ordinary command, for comparing command measurement with the
 * in-process recorder: `node --expose-gc dist/bench/strategy-command.js JOB.json`.
 * Prints `::step <name> <dataset>` before every step and waits for cellbudget's
 * acknowledgement on CELLBUDGET_STEP_ACK_FD (exact boundaries); a bare `::step` at the end
 * marks the final state. Without cellbudget around it just prints the markers.
 */
import { readFileSync, readSync, writeSync } from 'node:fs';
import { openH5ad } from '../src/h5ad/index.js';
import { h5Ready } from '../src/h5ad/file.js';
import { forceGc } from '../src/memory/gc.js';
import type { PipelineConfig } from '../src/pipeline/config.js';
import { runStrategy } from '../src/strategies/index.js';
import type { StepObserver, StrategyName } from '../src/core/names.js';

// HDF5 (WebAssembly) loads on first use; every read below is synchronous.
await h5Ready();

interface Job {
  strategy: StrategyName;
  datasets: Array<{ name: string; file: string }>;
  pipeline: PipelineConfig;
}

// The same forced GC as the built-in child (two passes: ArrayBuffers are swept in the background).
const gc = (): void => forceGc();
const ackFd = Number(process.env['CELLBUDGET_STEP_ACK_FD'] ?? NaN);

function marker(line: string): void {
  writeSync(1, `${line}\n`);
  if (Number.isInteger(ackFd)) {
    try {
      readSync(ackFd, Buffer.alloc(1));
    } catch {
      // no harness listening: run unsynchronised
    }
  }
}

const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as Job;
const observer: StepObserver = {
  step(dataset, name, fn) {
    marker(`::step ${name} ${dataset}`);
    return fn();
  },
};
gc();
const result = runStrategy(
  job.strategy,
  job.datasets.map((d) => ({ name: d.name, open: () => openH5ad(d.file) })),
  job.pipeline,
  observer,
  { gc },
);
marker('::step');
writeSync(2, `retained ${result.retainedBytes} bytes\n`);
