/** What a strategy is given: its datasets, opened when loaded, and how to run. */
import type { DatasetSource } from '../core/data.js';
import type { LiveSet } from './live.js';

/** A dataset as a strategy sees it: a name and a way to open it (opened when loaded). */
export interface StrategyInput {
  readonly name: string;
  readonly open: () => DatasetSource;
}

export interface StrategyOptions {
  /** Forced garbage collection (global.gc under --expose-gc); a no-op when unavailable. */
  readonly gc: () => void;
  /** Rows per window when streaming the representation (streaming strategy). */
  readonly windowRows?: number;
  /** The dataset that keeps train/val/test (default: the first input), wherever it is processed. */
  readonly primary?: string;
  /** Processing order, every input's name once (default: as given); what is kept does not depend on it. */
  readonly order?: readonly string[];
  /** Where the strategy registers what each dataset holds (default: a set of its own); a caller passes one to see it. */
  readonly live?: LiveSet;
}
