/**
 * What each measurement method's figures are, in words: the one place the CLI, the charts,
 * report.html, report.md and the vitest matcher take that text from, so that a figure is
 * described the same way wherever it is shown.
 */
import type { MeasureMethod } from './report.js';

/** The words for one measurement method, each for a different place. */
export interface MethodText {
  /** What the figures are, in a few words ("kernel high-water mark (VmHWM)"). */
  name: string;
  /** What a run's peak is: the tables' notes, the CLI, the peak/final and family charts. */
  peak: string;
  /** What the markers on a timeline are, after "markers: ". */
  stepPeak: string;
  /** What a timeline's line is drawn from, after "line: ". */
  line: string;
  /** What is subtracted from every figure; null when nothing is (the figures are absolute). */
  baseline: string | null;
  /** How the method works, for a reader who wants the mechanism (report.html's environment table). */
  explanation: string;
}

const CHILD_BASELINE = "the child's idle RSS";
const CHILD_BASELINE_DETAIL =
  "Every figure is net of the child's idle RSS, taken after start-up, module loading, a warm-up and forced GCs (the runtime, its modules, the warmed-up young generation and WebAssembly heap).";

/** Every method's words. `ingested-log` and `kernel-hwm-command` come from outside the process, so their baselines differ. */
export const METHOD_TEXT: Readonly<Record<MeasureMethod, MethodText>> = {
  'kernel-hwm': {
    name: 'kernel high-water mark (VmHWM)',
    peak: 'highest per-step kernel high-water mark',
    stepPeak: "each step's kernel high-water mark (VmHWM)",
    line: 'RSS sampled every ~10 ms',
    baseline: CHILD_BASELINE,
    explanation:
      'Linux kernel high-water mark: at each step start the harness writes 5 to /proc/<pid>/clear_refs, which resets VmHWM to the current RSS; at the step end it reads VmHWM from /proc/<pid>/status. The kernel raises the mark before memory is released, so short spikes that sampling would miss are counted. The timeline line is RSS sampled every ~10 ms. ' +
      CHILD_BASELINE_DETAIL,
  },
  'sampled-rss': {
    name: 'RSS sampled every ~10 ms (shorter spikes can be missed)',
    peak: 'highest RSS sample in any step (shorter spikes can be missed)',
    stepPeak: "each step's highest RSS sample",
    line: 'RSS sampled every ~10 ms',
    baseline: CHILD_BASELINE,
    explanation:
      'RSS sampled every ~10 ms (no kernel high-water mark on this system). Spikes shorter than the sampling interval can be missed, so peaks are lower bounds. ' +
      CHILD_BASELINE_DETAIL,
  },
  'kernel-hwm-command': {
    name: "the command's kernel high-water mark (VmHWM, children summed: an upper bound)",
    peak: 'highest per-step VmHWM of the command, children summed',
    stepPeak: "each step's VmHWM of the command (children summed)",
    line: "RSS of the command's processes sampled every ~10 ms",
    baseline: 'its RSS at its first step marker or at start',
    explanation:
      "The command's own figures: the kernel high-water mark (VmHWM) of the process between its markers, reset through clear_refs at each; child processes are summed, an upper bound since their peaks need not coincide. Figures are net of its RSS when it announced its first step (runtime and imports loaded) or, without such a marker, right after exec.",
  },
  'ingested-log': {
    name: 'figures from a memory log (the "Used" value at each marker: samples, not kernel peaks)',
    peak: 'highest figure in the memory log (samples, not kernel peaks)',
    stepPeak: "each step's highest logged figure",
    line: "the log's figures at each marker",
    baseline: null,
    explanation:
      'Figures read from a memory log the pipeline printed itself (the "Used" figure at each marker): samples at the markers, not kernel peaks, so a spike between markers is not seen. No baseline is subtracted: the figures are absolute, as printed.',
  },
};

/** The words for `method`. */
export function methodText(method: MeasureMethod): MethodText {
  return METHOD_TEXT[method];
}

/** What a run's peak is under `method`, in a few words. */
export function peakMeaning(method: MeasureMethod): string {
  return methodText(method).peak;
}

/** "net of …", or that the figures are absolute. */
export function baselineNote(method: MeasureMethod): string {
  const b = methodText(method).baseline;
  return b === null ? 'absolute (no baseline subtracted)' : `net of ${b}`;
}
