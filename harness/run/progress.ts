/**
 * A one-line progress display for long runs: scenario, strategy, step, elapsed. On a
 * terminal it rewrites a single line; off a terminal or under CI (a log) it draws nothing
 * and only `log` lines come out, one plain line each, so a CI log shows each finished run.
 */

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressState {
  scenario: string;
  strategy: string;
  step?: string;
  /** 1-based index of the current run and the number of runs, when known. */
  run?: number;
  runs?: number;
}

export interface Progress {
  /** True when the display writes anything. */
  readonly enabled: boolean;
  /** A run starts: resets the elapsed clock. */
  startRun(state: ProgressState): void;
  /** The run moved to a step. */
  step(label: string): void;
  /** Print a line above the progress line (e.g. a finished run's verdict); a plain line off a terminal. */
  log(line: string): void;
  /** Clear the line and stop the clock. */
  stop(): void;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  env?: Record<string, string | undefined>;
  /** Force on or off; by default on only for a TTY outside CI. */
  enabled?: boolean;
  /** Clock, for tests. */
  now?: () => number;
  /** Redraw interval for the elapsed time; 0 disables the timer (tests). */
  intervalMs?: number;
}

/**
 * Whether this runs under CI: `CI` set to anything but '', '0' or 'false' (what CI services
 * set, and .ci/run's CI=true). The one test of it: progress displays stay off there, and the
 * tests that need CI's tools (the reference answers, Slurm, lxml) fail instead of skipping.
 */
export function underCi(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const ci = (env['CI'] ?? '').trim().toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}

/** Whether a progress display belongs on this stream: a TTY, and not under CI. */
export function progressWanted(stream: ProgressStream, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return stream.isTTY === true && !underCi(env);
}

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** Create the display. Call `stop()` when done (also on errors) so the terminal line is cleared. */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? progressWanted(stream, options.env ?? process.env);
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 250;
  let state: ProgressState | undefined;
  let started = now();
  let timer: ReturnType<typeof setInterval> | undefined;
  let drawn = false;

  const line = (): string => {
    if (!state) return '';
    const parts = [
      state.run !== undefined && state.runs !== undefined ? `[${state.run}/${state.runs}]` : '',
      state.scenario,
      state.strategy,
      state.step ? `› ${state.step}` : '',
      elapsed(now() - started),
    ].filter((p) => p);
    const text = parts.join('  ');
    const width = (stream.columns ?? 100) - 1;
    return text.length > width ? text.slice(0, Math.max(0, width - 1)) + '…' : text;
  };
  const draw = (): void => {
    if (!enabled || !state) return;
    stream.write(`\r\u001b[2K${line()}`);
    drawn = true;
  };
  const clear = (): void => {
    if (enabled && drawn) stream.write('\r\u001b[2K');
    drawn = false;
  };

  return {
    enabled,
    startRun(s) {
      state = { ...s };
      started = now();
      if (enabled && intervalMs > 0 && !timer) {
        timer = setInterval(draw, intervalMs);
        // Never keep the process alive for a progress line.
        timer.unref();
      }
      draw();
    },
    step(label) {
      if (state) state.step = label;
      draw();
    },
    log(text) {
      if (!enabled) {
        stream.write(`${text}\n`);
        return;
      }
      clear();
      stream.write(`${text}\n`);
      draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      clear();
      state = undefined;
    },
  };
}
