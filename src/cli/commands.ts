import type { RegisterCommand } from './context.js';

/**
 * One line per subcommand; each lives in its own file under src/cli/ and is imported only
 * when needed: `cellbudget split` does not pay for loading the harness, the charts and the
 * simulator (measured: ~0.1 s and ~13 MB of a split's start-up).
 */
export const commands: ReadonlyArray<{ readonly name: string; readonly load: () => Promise<RegisterCommand> }> = [
  { name: 'inspect', load: async () => (await import('./inspect.js')).registerInspect },
  { name: 'synth', load: async () => (await import('./synth.js')).registerSynth },
  { name: 'split', load: async () => (await import('./split.js')).registerSplit },
  { name: 'run', load: async () => (await import('./run.js')).registerRun },
  { name: 'compare', load: async () => (await import('./compare.js')).registerCompare },
  { name: 'plan', load: async () => (await import('./plan.js')).registerPlan },
  { name: 'simulate', load: async () => (await import('./simulate.js')).registerSimulate },
  { name: 'calibrate', load: async () => (await import('./calibrate.js')).registerCalibrate },
  { name: 'ingest', load: async () => (await import('./ingest.js')).registerIngest },
];
