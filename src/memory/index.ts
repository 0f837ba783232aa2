// Memory probes: per-step peaks (kernel high-water mark or sampled RSS), the step recorder,
// forced GC, leak checks. Why each figure is measured the way it is: docs/measurement.md.
export { readProcStatus, resetHighWaterMark, kernelHwmAvailable, childPids } from './proc.js';
export type { ProcStatus } from './proc.js';
export { forceGc, gcExposed } from './gc.js';
export { GcMeter } from './gcstats.js';
export type { GcSummary } from './gcstats.js';
export { takeSnapshot, measureBaseline, currentRssBytes } from './snapshot.js';
export type { MemorySnapshot, Baseline, WasmBytesFn } from './snapshot.js';
export { RssSampler } from './sampler.js';
export type { RssSamplerOptions } from './sampler.js';
export { createPeakProbe } from './probe.js';
export type { PeakProbe, PeakReading, MethodChoice } from './probe.js';
export { StepRecorder, stepLabel, memoryLine } from './recorder.js';
export type { StepRecorderOptions, CreateStepRecorderOptions, StepStart } from './recorder.js';
export { checkLeak, growthPerRepetition, retainedBytes, topGrowingTypes } from './leak.js';
export type { CheckLeakOptions, LeakResult, GrowingType, RetainedReading } from './leak.js';
export { growYoungGeneration, flushSetupCode } from './warmup.js';
