import type { RegisterCommand } from './context.js';

/**
 * For commands that read .h5ad files in this process: start loading HDF5 (h5wasm's
 * WebAssembly, compiled on V8's background threads) while the command's modules load, instead
 * of after (measured on split: ~25 ms of a ~0.8 s run). The command still awaits h5Ready(),
 * which returns this same load, or its error.
 */
async function loadHdf5(): Promise<void> {
  await (await import('../h5ad/file.js')).h5Ready();
}

/**
 * One line per subcommand; each lives in its own file under src/cli/ and is imported only
 * when needed: `cellbudget split` does not pay for loading the harness, the charts and the
 * simulator (measured: ~0.1 s and ~13 MB of a split's start-up).
 */
export const commands: ReadonlyArray<{
  readonly name: string;
  readonly load: () => Promise<RegisterCommand>;
  readonly prefetch?: () => Promise<void>;
}> = [
  { name: 'inspect', load: async () => (await import('./inspect.js')).registerInspect, prefetch: loadHdf5 },
  { name: 'synth', load: async () => (await import('./synth.js')).registerSynth },
  { name: 'subsample', load: async () => (await import('./subsample.js')).registerSubsample, prefetch: loadHdf5 },
  { name: 'split', load: async () => (await import('./split.js')).registerSplit, prefetch: loadHdf5 },
  { name: 'prepare', load: async () => (await import('./prepare.js')).registerPrepare, prefetch: loadHdf5 },
  { name: 'run', load: async () => (await import('./run.js')).registerRun },
  { name: 'compare', load: async () => (await import('./compare.js')).registerCompare },
  { name: 'plan', load: async () => (await import('./plan.js')).registerPlan },
  { name: 'simulate', load: async () => (await import('./simulate.js')).registerSimulate },
  { name: 'calibrate', load: async () => (await import('./calibrate.js')).registerCalibrate },
  { name: 'ingest', load: async () => (await import('./ingest.js')).registerIngest },
];
