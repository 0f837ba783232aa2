/**
 * The settings file (`cellbudget.config.yaml`): where runs happen and what a Slurm site needs.
 * Optional and small on purpose — everything in it can also be given on the command line,
 * and the command line wins:
 *
 * ```yaml
 * executor: slurm                 # local (default) or slurm
 * slurm:
 *   partition: bigmem
 *   account: mylab
 *   time: 12:00:00                # or 12h
 *   work_dir: /scratch/me/cellbudget   # must be shared with the compute nodes; relative to this file
 *   mem: 400GB                    # every job's --mem (default: per run, the prediction + headroom)
 *   sbatch_args: [--qos=normal, --constraint=bigmem]
 *   setup: module load nodejs/20  # shell lines the job runs first
 *   node: /opt/node20/bin/node    # node on the compute nodes (default: this one)
 *   queue_timeout: 2h             # cancel a job still pending after this (default 1h)
 *   visibility_timeout: 5m        # a running job that wrote nothing visible here: work_dir not shared
 *   poll_interval: 5s             # longest wait between two squeue calls
 *   headroom: 25%                 # added to the predicted peak for the default --mem
 * ```
 *
 * Found at `--config FILE`, else `$CELLBUDGET_CONFIG`, else `./cellbudget.config.yaml`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { CellbudgetError } from '../../src/core/errors.js';
import { parseBytes, parseDuration, parsePercent } from '../../src/core/units.js';
import { EXECUTOR_NAMES, type ExecutorName } from '../run/executor.js';
import { parseName } from '../../src/core/names.js';
import { slurmTime } from '../slurm/slurm.js';
import { SLURM_DEFAULTS, type SlurmSettings } from '../slurm/executor.js';

export const SETTINGS_FILE = 'cellbudget.config.yaml';

const durationValue = z.union([z.string(), z.number()]);
const settingsSchema = z
  .object({
    executor: z.enum(['local', 'slurm']).optional(),
    slurm: z
      .object({
        partition: z.string().min(1).optional(),
        account: z.string().min(1).optional(),
        time: z.union([z.string(), z.number()]).optional(),
        work_dir: z.string().min(1).optional(),
        mem: z.union([z.string(), z.number()]).optional(),
        sbatch_args: z.array(z.string()).optional(),
        setup: z.string().optional(),
        node: z.string().min(1).optional(),
        queue_timeout: durationValue.optional(),
        visibility_timeout: durationValue.optional(),
        poll_interval: durationValue.optional(),
        headroom: z.union([z.string(), z.number()]).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type SettingsFile = z.infer<typeof settingsSchema> & { path?: string };

/** Read the settings file: the one named, else $CELLBUDGET_CONFIG, else ./cellbudget.config.yaml when it exists. */
export function loadSettings(file?: string, cwd = process.cwd()): SettingsFile {
  const named = file ?? process.env['CELLBUDGET_CONFIG'];
  const path = named ? resolve(cwd, named) : resolve(cwd, SETTINGS_FILE);
  if (!existsSync(path)) {
    if (named)
      throw new CellbudgetError('FILE_NOT_FOUND', `Settings file ${path} does not exist.`, {
        file: path,
        hint: `Give --config an existing file (see ${SETTINGS_FILE} in the README), or leave it out.`,
      });
    return {};
  }
  let value: unknown;
  try {
    value = YAML.parse(readFileSync(path, 'utf8')) ?? {};
  } catch (e) {
    throw new CellbudgetError(
      'SETTINGS_INVALID',
      `Settings file ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
      { file: path, hint: 'Fix the YAML syntax.' },
      { cause: e },
    );
  }
  const r = settingsSchema.safeParse(value);
  if (!r.success) {
    const lines = r.error.issues
      .slice(0, 3)
      .map(
        (i) =>
          `${i.path.join('.') || '(top level)'}: ${i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message}`,
      );
    throw new CellbudgetError('SETTINGS_INVALID', `Settings file ${path} is invalid: ${lines.join('; ')}.`, {
      file: path,
      hint: 'The keys are executor and slurm: { partition, account, time, work_dir, mem, sbatch_args, setup, node, queue_timeout, visibility_timeout, poll_interval, headroom }; see the README.',
    });
  }
  return { ...r.data, path };
}

/** The command line's executor options (`cellbudget run`), as src/cli/options.ts parsed them. */
export interface ExecutorFlags {
  executor?: ExecutorName;
  workDir?: string;
  partition?: string;
  account?: string;
  /** In Slurm's form (slurmTime). */
  time?: string;
  /** Bytes, positive. */
  slurmMem?: number;
  sbatchArg?: string[];
  /** Milliseconds, positive. */
  queueTimeout?: number;
}

export interface ExecutorChoice {
  /** `--executor`: every scenario runs there. */
  executor?: ExecutorName;
  /** The settings file's `executor`: for scenarios that do not say. */
  defaultExecutor?: ExecutorName;
  slurm: SlurmSettings;
}

export function parseExecutorName(v: string, key = '--executor'): ExecutorName {
  return parseName(v, EXECUTOR_NAMES, key, 'an executor');
}

function positiveDuration(v: string | number, key: string): number {
  const ms = parseDuration(v, key);
  if (!(ms > 0))
    throw new CellbudgetError('USAGE', `${key} '${String(v)}' is not a positive duration.`, {
      key,
      value: v,
      hint: 'Write e.g. 30s, 10m or 2h.',
    });
  return ms;
}

/**
 * The executor settings of one invocation: the command line over the settings file over the
 * defaults. The work folder defaults to `<out>/slurm-jobs` (shared only when the report folder is).
 */
export function executorSettings(flags: ExecutorFlags, file: SettingsFile, outDir: string): ExecutorChoice {
  const s = file.slurm ?? {};
  const base = file.path ? dirname(file.path) : process.cwd();
  const fromFile = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const memBytes = flags.slurmMem ?? (s.mem !== undefined ? parseBytes(s.mem, 'slurm.mem') : undefined);
  if (memBytes !== undefined && !(memBytes > 0))
    throw new CellbudgetError('USAGE', `slurm.mem '${String(s.mem)}' is not a positive size.`, {
      key: 'slurm.mem',
      ...(file.path ? { file: file.path } : {}),
      hint: 'Write e.g. mem: 400GB, or leave it out.',
    });
  const time = flags.time ?? (s.time !== undefined ? String(s.time) : undefined);
  const headroom = s.headroom !== undefined ? parsePercent(s.headroom, 'slurm.headroom') : SLURM_DEFAULTS.headroom;
  const slurm: SlurmSettings = {
    workDir:
      flags.workDir !== undefined
        ? resolve(flags.workDir)
        : s.work_dir !== undefined
          ? fromFile(s.work_dir)
          : resolve(outDir, 'slurm-jobs'),
    sbatchArgs: [...(s.sbatch_args ?? []), ...(flags.sbatchArg ?? [])],
    queueTimeoutMs:
      flags.queueTimeout ??
      (s.queue_timeout !== undefined ? positiveDuration(s.queue_timeout, 'slurm.queue_timeout') : SLURM_DEFAULTS.queueTimeoutMs),
    visibilityTimeoutMs:
      s.visibility_timeout !== undefined
        ? positiveDuration(s.visibility_timeout, 'slurm.visibility_timeout')
        : SLURM_DEFAULTS.visibilityTimeoutMs,
    pollMs: s.poll_interval !== undefined ? positiveDuration(s.poll_interval, 'slurm.poll_interval') : SLURM_DEFAULTS.pollMs,
    headroom,
    ...((flags.partition ?? s.partition) !== undefined ? { partition: (flags.partition ?? s.partition)! } : {}),
    ...((flags.account ?? s.account) !== undefined ? { account: (flags.account ?? s.account)! } : {}),
    ...(time !== undefined ? { time: slurmTime(time) } : {}),
    ...(memBytes !== undefined ? { memBytes } : {}),
    ...(s.setup !== undefined ? { setup: s.setup } : {}),
    // A bare name (`node`) is looked up on the node's PATH; a path is taken from this file's folder.
    ...(s.node !== undefined ? { node: s.node.includes('/') ? fromFile(s.node) : s.node } : {}),
  };
  return {
    ...(flags.executor !== undefined ? { executor: flags.executor } : {}),
    ...(file.executor !== undefined ? { defaultExecutor: file.executor } : {}),
    slurm,
  };
}
