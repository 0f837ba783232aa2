/**
 * Executors: where the child runs of `cellbudget run` happen. The run loop builds the list of
 * child runs (ChildRunSpec: everything a run needs, as plain data), hands it to an executor,
 * and assembles a report record from each outcome. `local` runs them here, `jobs` at a time,
 * each in a fresh child; `slurm` (harness/slurm/executor.ts) submits each as a Slurm job that runs the
 * same child measurement on a node and writes its records to a shared work folder.
 */
import { CellbudgetError } from '../../src/core/errors.js';
import type { SynthSpec } from '../../src/h5ad/synth.js';
import type { StrategyName } from '../../src/core/names.js';
import { runCommandScenario, type CommandRunRecord, type CommandSpec, type CommandStepRecord } from '../command/command.js';
import type { StrategyJobPayload, StrategyJobResult } from '../process/jobs/strategy.js';
import type { ChildJob, ChildMessage } from '../process/protocol.js';
import { runChild, type ChildRunResult, type MemoryCap } from '../process/spawn.js';

export { EXECUTOR_NAMES, type ExecutorName } from '../../src/core/names.js';
import type { ExecutorName } from '../../src/core/names.js';

/** A synthetic dataset a run reads: generated into the cache first when it is not there. */
export interface DatasetToGenerate {
  name: string;
  spec: SynthSpec;
  cacheDir: string;
  /** Where the cache keeps it (the path the job's payload names). */
  file: string;
}

interface SpecCommon {
  /** Position in the report, and a name safe for files: `007-quick-eager`. */
  index: number;
  id: string;
  scenario: string;
  scale: number;
  executor: ExecutorName;
  /** The simulator's predicted peak at the run's scale, net of the child's baseline (Slurm's default --mem). */
  predictedPeakBytes?: number;
}

/** A built-in strategy run: one measuring child (`harness/process/child.ts` + `jobs/strategy.ts`). */
export interface BuiltinRunSpec extends SpecCommon {
  kind: 'builtin';
  strategy: StrategyName;
  generate: DatasetToGenerate[];
  child: {
    job: ChildJob<StrategyJobPayload>;
    env: Record<string, string>;
    /** Node flags of the measuring child (the harness's measurement settings). */
    nodeArgs?: string[];
    timeoutMs?: number;
    memoryCap?: MemoryCap;
  };
}

/** A command scenario: the user's program, measured through its step markers. */
export interface CommandRunSpec extends SpecCommon {
  kind: 'command';
  strategy: 'command';
  command: CommandSpec;
  /** Where the command's own output goes. */
  logPath?: string;
  datasets?: string[];
}

export type ChildRunSpec = BuiltinRunSpec | CommandRunSpec;

/** Where a run was measured, for the report. */
export interface RunPlace {
  executor: ExecutorName;
  job_id?: string;
  node?: string;
  requested_memory_bytes?: number;
  /** A failure the user must fix (e.g. a work folder the nodes do not share): its error code. */
  code?: string;
}

export type ChildRunOutcome =
  | { kind: 'builtin'; child: ChildRunResult<StrategyJobResult>; place: RunPlace }
  | { kind: 'command'; record: CommandRunRecord; place: RunPlace };

export interface ExecutorHooks {
  /** A run started (locally: its child was spawned; Slurm: its job is running). */
  onStart?(spec: ChildRunSpec): void;
  onStep?(spec: ChildRunSpec, label: string): void;
  /** Before a synthetic dataset is generated, with the reason. */
  onGenerate?(spec: ChildRunSpec, dataset: string, cells: number, reason: string): void;
  /** Child output (--verbose lines). */
  onOutput?(text: string): void;
  /** Free text for the user (jobs submitted, waiting for the queue). */
  onNote?(text: string): void;
  /** A run finished; called once per run, in finishing order. */
  onDone?(spec: ChildRunSpec, outcome: ChildRunOutcome): void;
}

export interface Executor {
  readonly name: ExecutorName;
  /**
   * Run every spec and resolve with their outcomes, aligned with `specs` (undefined for a run
   * an abort kept from starting). Never rejects for a
   * run that died (it is an outcome); rejects for what stops every run (Slurm refusing the jobs).
   * `signal` aborts: the local executor starts no further run; Slurm cancels its jobs and
   * gathers what they wrote.
   */
  run(specs: readonly ChildRunSpec[], hooks?: ExecutorHooks, signal?: AbortSignal): Promise<Array<ChildRunOutcome | undefined>>;
}

/** The step label a child's message announces, if it announces one. */
export function stepStarted(msg: ChildMessage): string | undefined {
  return msg.type === 'step-start' ? msg.label : undefined;
}

/**
 * Generate (or verify, once per invocation: `done` holds each file's generation) the cached
 * synthetic datasets of a run. Runs going at once that need the same file wait for one
 * generation of it.
 */
async function generateLocally(spec: BuiltinRunSpec, hooks: ExecutorHooks, done: Map<string, Promise<unknown>>): Promise<void> {
  // Imported when needed: a Slurm job's entry runs children through this module and must stay lean.
  const { cachedSynthetic } = await import('./cache.js');
  for (const d of spec.generate) {
    let pending = done.get(d.file);
    if (!pending) {
      pending = cachedSynthetic(d.spec, d.cacheDir, (reason) => hooks.onGenerate?.(spec, d.name, d.spec.cells, reason));
      done.set(d.file, pending);
    }
    await pending;
  }
}

/** Run a built-in spec in a fresh child of this process. `extra` adds hooks of the caller (a Slurm job writing records). */
export async function runBuiltinHere(
  spec: BuiltinRunSpec,
  hooks: ExecutorHooks,
  extra: { onMessage?: (msg: ChildMessage) => void; onSample?: (epochMs: number, rssBytes: number) => void } = {},
): Promise<ChildRunResult<StrategyJobResult>> {
  const c = spec.child;
  return runChild<StrategyJobResult>({
    job: c.job,
    env: c.env,
    ...(c.nodeArgs ? { nodeArgs: c.nodeArgs } : {}),
    ...(c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {}),
    ...(c.memoryCap ? { memoryCap: c.memoryCap } : {}),
    ...(hooks.onOutput ? { onOutput: hooks.onOutput } : {}),
    ...(extra.onSample ? { onSample: extra.onSample } : {}),
    onMessage: (m) => {
      extra.onMessage?.(m);
      const label = stepStarted(m);
      if (label !== undefined) hooks.onStep?.(spec, label);
    },
  });
}

/** Run a command spec here. */
export function runCommandHere(
  spec: CommandRunSpec,
  hooks: ExecutorHooks,
  onStep?: (step: CommandStepRecord) => void,
): Promise<CommandRunRecord> {
  return runCommandScenario(spec.command, {
    ...(spec.logPath ? { logPath: spec.logPath } : {}),
    ...(spec.datasets ? { datasets: spec.datasets } : {}),
    onStep: (s) => {
      onStep?.(s);
      hooks.onStep?.(spec, s.label);
    },
    ...(hooks.onOutput ? { onLine: (_stream: 'stdout' | 'stderr', line: string) => hooks.onOutput!(`${line}\n`) } : {}),
  });
}

/**
 * Runs every spec here, each in a fresh child, at most `jobs` at a time (default one after
 * another). Children side by side measure themselves only: kernel high-water marks are per
 * process. A command scenario runs alone, so a program's own children are not disturbed.
 */
export function localExecutor(options: { jobs?: number } = {}): Executor {
  const jobs = Math.max(1, Math.floor(options.jobs ?? 1));
  return {
    name: 'local',
    async run(specs, hooks = {}, signal) {
      const outcomes: Array<ChildRunOutcome | undefined> = new Array(specs.length).fill(undefined);
      const generated = new Map<string, Promise<unknown>>();
      const one = async (spec: ChildRunSpec): Promise<ChildRunOutcome> => {
        hooks.onStart?.(spec);
        if (spec.kind === 'command') return { kind: 'command', record: await runCommandHere(spec, hooks), place: { executor: 'local' } };
        await generateLocally(spec, hooks, generated);
        return { kind: 'builtin', child: await runBuiltinHere(spec, hooks), place: { executor: 'local' } };
      };
      let next = 0;
      let running = 0;
      let exclusive = false;
      await new Promise<void>((resolveAll, rejectAll) => {
        const pump = (): void => {
          while (next < specs.length && !signal?.aborted && !exclusive && running < jobs) {
            const i = next;
            const spec = specs[i]!;
            if (spec.kind === 'command' && running > 0) break;
            next++;
            running++;
            if (spec.kind === 'command') exclusive = true;
            one(spec).then(
              (outcome) => {
                outcomes[i] = outcome;
                running--;
                if (spec.kind === 'command') exclusive = false;
                hooks.onDone?.(spec, outcome);
                pump();
              },
              (e: unknown) => rejectAll(e),
            );
          }
          if (running === 0 && (next >= specs.length || signal?.aborted)) resolveAll();
        };
        pump();
      });
      return outcomes;
    },
  };
}

/**
 * Run specs on the executors they name, the Slurm ones submitted first (they wait in the
 * queue while local runs go on), and return the outcomes aligned with `specs`.
 */
export async function runOnExecutors(
  specs: readonly ChildRunSpec[],
  executors: Partial<Record<ExecutorName, Executor>>,
  hooks: ExecutorHooks = {},
  signal?: AbortSignal,
): Promise<Array<ChildRunOutcome | undefined>> {
  const out: Array<ChildRunOutcome | undefined> = new Array(specs.length).fill(undefined);
  const byName = new Map<ExecutorName, ChildRunSpec[]>();
  for (const s of specs) byName.set(s.executor, [...(byName.get(s.executor) ?? []), s]);
  const order: ExecutorName[] = ['slurm', 'local'];
  const started = order
    .filter((n) => byName.has(n))
    .map(async (n) => {
      const executor = executors[n] ?? (n === 'local' ? localExecutor() : undefined);
      if (!executor) {
        throw new CellbudgetError('USAGE', `${byName.get(n)!.length} run(s) are to go to the ${n} executor, and none was configured.`, {
          key: 'executor',
          hint: 'Pass `executors: { slurm: slurmExecutor(settings) }` to runScenarios, or run those scenarios with executor: local.',
        });
      }
      const mine = byName.get(n)!;
      const results = await executor.run(mine, hooks, signal);
      results.forEach((r, i) => {
        if (r) out[mine[i]!.index] = r;
      });
    });
  // Every executor finishes (or fails) before this returns: a Slurm refusal must not leave local runs orphaned.
  const settled = await Promise.allSettled(started);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return out;
}
