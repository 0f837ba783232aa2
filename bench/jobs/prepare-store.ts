/**
 * The measuring child's job for `npm run bench -- prepare-store`: `prepareStore` with the
 * child's StepRecorder as its observer, so its `plan` and `stream` steps are measured like a
 * strategy's (kernel high-water mark per step, net of the idle baseline, after the same warm-up).
 */
import type { StepRecorder } from '../../src/memory/recorder.js';
import type { PipelineConfig } from '../../src/pipeline/config.js';
import { prepareStore, type PreparedStore, type ZarrFormat } from '../../src/store/prepare.js';

export { warmUp, wasmBytes } from '../../harness/process/jobs/strategy.js';

export interface PrepareStoreJobPayload {
  file: string;
  pipeline: PipelineConfig;
  out: string;
  zarr_format?: ZarrFormat;
  window_bytes?: number;
}

export async function runJob(payload: PrepareStoreJobPayload, observer: StepRecorder): Promise<PreparedStore> {
  return prepareStore(payload.file, payload.pipeline, payload.out, {
    observer,
    force: true,
    name: 'prepare',
    ...(payload.zarr_format !== undefined ? { zarrFormat: payload.zarr_format } : {}),
    ...(payload.window_bytes !== undefined ? { windowBytes: payload.window_bytes } : {}),
  });
}
