/**
 * The job a measuring child runs for one scenario × strategy: open the datasets, run the
 * strategy through the step recorder, and return the retained digests. With `repeat` > 1
 * the strategy runs K times in this process and retained heap + external growth per
 * repetition is judged against the leak budget.
 */
import { h5Ready, openH5ad, reserveWasmHeap, wasmHeapBytes } from '../../../src/h5ad/index.js';
import { checkLeak, type LeakResult } from '../../../src/memory/leak.js';
import { flushSetupCode, growYoungGeneration } from '../../../src/memory/warmup.js';
import type { StepRecorder } from '../../../src/memory/recorder.js';
import type { PipelineConfig } from '../../../src/pipeline/config.js';
import { retainedDigests, runStrategy } from '../../../src/strategies/index.js';
import type { StrategyName } from '../../../src/core/names.js';
import type { JobContext } from '../protocol.js';
import type { RetainedDigests } from '../../../src/core/report.js';

export interface StrategyJobPayload {
  scenario: string;
  strategy: StrategyName;
  datasets: Array<{ name: string; file: string }>;
  pipeline: PipelineConfig;
  repeat: number;
  /** Leak budget per repetition at this scale, bytes (default: 1% of what is kept, at least 1 MB). */
  leak_limit_bytes?: number;
  window_rows?: number;
  /** Processing order (dataset names); absent: as listed. The first listed dataset stays the primary. */
  order?: string[];
}

export interface StrategyJobResult {
  retained: RetainedDigests;
  retained_bytes: number;
  leak?: LeakResult;
  /** The split assignments' warnings, `<dataset>: <text>`, each once; absent when there were none. */
  warnings?: string[];
}

type OnceResult = Omit<StrategyJobResult, 'leak'>;

export function wasmBytes(): number {
  return wasmHeapBytes();
}

/**
 * WebAssembly heap reserved before the baseline: four read windows (WINDOW_BYTES). Measured
 * on two 2 GB files, the heap grew from 19 to 33 MB while reading them, in steps that came at
 * different scales (at 1/45 of the data, not at 1/32); reserved, it stays at 36 MB throughout.
 */
export const WASM_RESERVE_BYTES = 32 * 1024 * 1024;

/**
 * Before the idle baseline: load h5wasm and grow its heap to its working size, let V8 drop set-up code
 * it would drop under memory pressure, and grow V8's young generation to its cap, so none of
 * them shows up as a scale-dependent step in the figures (docs/measurement.md#the-measurement-protocol).
 */
export async function warmUp(): Promise<void> {
  await h5Ready();
  reserveWasmHeap(WASM_RESERVE_BYTES);
  flushSetupCode();
  growYoungGeneration();
}

export async function runJob(payload: StrategyJobPayload, observer: StepRecorder, ctx: JobContext): Promise<StrategyJobResult> {
  const inputs = payload.datasets.map((d) => ({ name: d.name, open: () => openH5ad(d.file) }));
  const options = {
    gc: () => ctx.forceGc(),
    ...(payload.window_rows !== undefined ? { windowRows: payload.window_rows } : {}),
    ...(payload.order !== undefined ? { order: payload.order } : {}),
  };
  const once = (): OnceResult => {
    const result = runStrategy(payload.strategy, inputs, payload.pipeline, observer, options);
    return {
      retained: retainedDigests(result.retained),
      retained_bytes: result.retainedBytes,
      ...(result.warnings.length > 0 ? { warnings: [...result.warnings] } : {}),
    };
  };
  if (payload.repeat <= 1) return once();

  let first: OnceResult | undefined;
  const leak = await checkLeak({
    repetitions: payload.repeat,
    limitBytes: payload.leak_limit_bytes ?? 1_000_000,
    run: (rep) => {
      observer.repetition = rep;
      const r = once();
      first ??= r;
      // Everything this repetition kept goes out of scope here; checkLeak forces GCs.
      ctx.forceGc();
    },
  });
  observer.repetition = undefined;
  return { ...first!, leak };
}
