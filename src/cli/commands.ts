import type { RegisterCommand } from './context.js';
import { registerPlan } from './plan.js';
import { registerSimulate } from './simulate.js';
import { registerCalibrate } from './calibrate.js';
import { registerInspect } from './inspect.js';
import { registerSynth } from './synth.js';
import { registerSplit } from './split.js';
import { registerIngest } from './ingest.js';
import { registerCompare } from './compare.js';
import { registerRun } from './run.js';

// One line per subcommand; each lives in its own file under src/cli/.
export const commands: RegisterCommand[] = [
  registerInspect,
  registerSynth,
  registerSplit,
  registerRun,
  registerCompare,
  registerPlan,
  registerSimulate,
  registerCalibrate,
  registerIngest,
];
