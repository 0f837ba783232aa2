/**
 * The Slurm commands cellbudget uses — sbatch, squeue, scontrol, scancel, sinfo — each run
 * without a shell and with a time limit, so a controller that does not answer is an error
 * with a message, never a hang. Nothing here decides what to run; executor.ts does.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CellbudgetError } from '../../src/core/errors.js';

/** The commands the executor needs. */
export const SLURM_TOOLS = ['sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'] as const;
export type SlurmTool = (typeof SLURM_TOOLS)[number];

/** How long a Slurm command may take before the controller is taken to be unreachable. */
const COMMAND_TIMEOUT_MS = 30_000;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The full path of `program` on PATH, or undefined. */
export function onPath(program: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const full = join(dir, program);
    try {
      accessSync(full, fsConstants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Refuse early when a Slurm command is missing: what a machine without Slurm's clients gives. */
export function requireSlurmTools(): void {
  const missing = SLURM_TOOLS.filter((t) => onPath(t) === undefined);
  if (missing.length === 0) return;
  throw new CellbudgetError(
    'SLURM_UNAVAILABLE',
    `--executor slurm needs Slurm's commands, but ${missing.map((m) => `\`${m}\``).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not on PATH (${process.env['PATH'] ?? 'PATH is empty'}).`,
    {
      key: '--executor',
      value: 'slurm',
      hint: 'Run cellbudget on a machine that submits Slurm jobs (a login node), load the Slurm module first (e.g. `module load slurm`), or run here with --executor local.',
    },
  );
}

/** Run one Slurm command; resolves with its exit code and output (rejects only when it cannot run or does not answer). */
export function slurmCommand(tool: SlurmTool, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<CommandResult> {
  const timeout = opts.timeoutMs ?? COMMAND_TIMEOUT_MS;
  return new Promise((resolveRun, reject) => {
    execFile(tool, [...args], { timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        if (e.code === 'ENOENT') {
          reject(
            new CellbudgetError('SLURM_UNAVAILABLE', `\`${tool}\` is not on PATH.`, {
              hint: 'Load Slurm’s client commands (e.g. `module load slurm`) or run with --executor local.',
            }),
          );
          return;
        }
        if (e.killed) {
          reject(
            new CellbudgetError(
              'SLURM_UNAVAILABLE',
              `\`${tool} ${args.join(' ')}\` did not answer within ${Math.round(timeout / 1000)} s: the Slurm controller is down or unreachable from here.`,
              {
                hint: 'Check `sinfo` by hand; when it hangs too, ask the cluster’s administrators, or run with --executor local.',
              },
            ),
          );
          return;
        }
        if (typeof e.code === 'number') {
          resolveRun({ code: e.code, stdout, stderr });
          return;
        }
        reject(err);
        return;
      }
      resolveRun({ code: 0, stdout, stderr });
    });
  });
}

/** The first meaningful line of a Slurm command's error output ("sbatch: error: …" lines joined). */
export function slurmMessage(r: CommandResult): string {
  const lines = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return (lines.length ? lines.join(' ') : r.stdout.trim()) || `exit code ${r.code}`;
}

export interface Partition {
  name: string;
  isDefault: boolean;
  up: boolean;
  /** Memory of the largest node in the partition (sinfo %m, MiB → bytes); undefined when Slurm does not say. */
  maxNodeMemoryBytes?: number;
  nodes: number;
}

/** The cluster's partitions, from `sinfo`; an unreachable controller is SLURM_UNAVAILABLE. */
export async function partitions(): Promise<Partition[]> {
  const r = await slurmCommand('sinfo', ['--noheader', '--format=%P|%a|%m|%D']);
  if (r.code !== 0) {
    throw new CellbudgetError('SLURM_UNAVAILABLE', `\`sinfo\` failed, so the Slurm cluster cannot be used from here: ${slurmMessage(r)}`, {
      hint: 'Check that Slurm is configured on this machine (SLURM_CONF, or /etc/slurm/slurm.conf) and its controller is up (`sinfo` by hand), or run with --executor local.',
    });
  }
  const byName = new Map<string, Partition>();
  for (const line of r.stdout.split('\n')) {
    const [rawName, avail, mem, nodes] = line.trim().split('|');
    if (!rawName) continue;
    const isDefault = rawName.endsWith('*');
    const name = isDefault ? rawName.slice(0, -1) : rawName;
    // sinfo prints one line per node state group; "1000+" means at least 1000 MiB.
    const mib = Number((mem ?? '').replace(/\+$/, ''));
    const prev = byName.get(name);
    const bytes = Number.isFinite(mib) && mib > 0 ? mib * 2 ** 20 : undefined;
    byName.set(name, {
      name,
      isDefault: isDefault || (prev?.isDefault ?? false),
      up: avail === 'up' || (prev?.up ?? false),
      ...(bytes !== undefined || prev?.maxNodeMemoryBytes !== undefined
        ? { maxNodeMemoryBytes: Math.max(bytes ?? 0, prev?.maxNodeMemoryBytes ?? 0) }
        : {}),
      nodes: (prev?.nodes ?? 0) + (Number(nodes) || 0),
    });
  }
  return [...byName.values()];
}

/**
 * The partition jobs will go to (the one asked for, or the cluster's default), checked
 * against `sinfo`: an unknown name is refused with the names there are.
 */
export async function choosePartition(asked: string | undefined): Promise<Partition> {
  const all = await partitions();
  const list = all.map((p) => `${p.name}${p.isDefault ? ' (default)' : ''}${p.up ? '' : ' (down)'}`).join(', ');
  if (asked !== undefined) {
    const p = all.find((x) => x.name === asked);
    if (!p) {
      throw new CellbudgetError(
        'SLURM_REFUSED',
        `Partition '${asked}' is not one of this cluster's partitions: ${list || 'sinfo lists none'}.`,
        {
          key: '--partition',
          value: asked,
          hint: 'Give --partition one of those names (or partition: in the settings file), or leave it out for the default partition.',
        },
      );
    }
    return p;
  }
  const d = all.find((p) => p.isDefault);
  if (!d) {
    throw new CellbudgetError(
      'SLURM_REFUSED',
      `This cluster has no default partition, and none was given. Partitions: ${list || 'sinfo lists none'}.`,
      {
        key: '--partition',
        hint: 'Give --partition NAME (or partition: in the settings file).',
      },
    );
  }
  return d;
}

/** Submit a job script; resolves with its job id. A refusal (bad account, memory no node has) is SLURM_REFUSED. */
export async function sbatch(script: string, args: readonly string[]): Promise<string> {
  const r = await slurmCommand('sbatch', ['--parsable', ...args, script]);
  const id = r.stdout.trim().split(';')[0] ?? '';
  if (r.code !== 0 || !/^\d+(_\d+)?$/.test(id)) {
    throw new CellbudgetError('SLURM_REFUSED', `Slurm refused the job ${script}: ${slurmMessage(r)}`, {
      file: script,
      hint: 'Fix what sbatch names above: the partition (--partition), the account (--account), the time limit (--time), the memory (--slurm-mem), or an --sbatch-arg. The job script is kept for a look.',
    });
  }
  return id;
}

/** A job as squeue and scontrol show it. */
export interface JobState {
  id: string;
  /** PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, OUT_OF_MEMORY, NODE_FAIL, TIMEOUT, … */
  state: string;
  /** Why it is pending, or how it ended (squeue %r). */
  reason: string;
  node: string;
}

/** States a job does not leave. */
const TERMINAL = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'SPECIAL_EXIT',
  'REVOKED',
]);

export function isTerminal(state: string): boolean {
  return TERMINAL.has(state);
}

/**
 * The states of these jobs. A job Slurm no longer knows (its record was purged after
 * MinJobAge) is absent from the map; the caller judges it by what it wrote.
 */
export async function jobStates(ids: readonly string[]): Promise<Map<string, JobState>> {
  const out = new Map<string, JobState>();
  if (ids.length === 0) return out;
  const r = await slurmCommand('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, '--format=%i|%T|%r|%N']);
  if (r.code !== 0) {
    // Every id unknown (all purged): squeue says so and fails.
    if (/Invalid job id/i.test(r.stderr)) return out;
    throw new CellbudgetError('SLURM_UNAVAILABLE', `\`squeue\` failed while waiting for the jobs ${ids.join(', ')}: ${slurmMessage(r)}`, {
      hint: 'Check `squeue` by hand. The jobs go on; cancel them with `scancel` if you do not want them.',
    });
  }
  for (const line of r.stdout.split('\n')) {
    const [id, state, reason, node] = line.trim().split('|');
    if (!id || !state) continue;
    out.set(id, { id, state, reason: reason ?? '', node: node ?? '' });
  }
  return out;
}

/** `scontrol show job -o ID` as key=value pairs; undefined when Slurm no longer knows the job. */
export async function jobDetails(id: string): Promise<Record<string, string> | undefined> {
  const r = await slurmCommand('scontrol', ['show', 'job', '--oneliner', id]);
  if (r.code !== 0) return undefined;
  const fields: Record<string, string> = {};
  // Values have no spaces except the last few (Command=, WorkDir=); take key=value pairs greedily.
  for (const m of r.stdout.matchAll(/(\w[\w:/]*)=(\S*)/g)) fields[m[1]!] ??= m[2]!;
  return fields;
}

/** Cancel jobs; never throws (what is already gone stays gone). */
export async function scancel(ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  try {
    await slurmCommand('scancel', [...ids]);
  } catch {
    // the controller is unreachable: nothing more can be done from here
  }
}

/** Memory in Slurm's unit for --mem: whole MiB, rounded up. */
export function slurmMemArg(bytes: number): string {
  return `${Math.ceil(bytes / 2 ** 20)}M`;
}

/**
 * A time limit for `--time`: Slurm's own forms (`90`, `1:30:00`, `2-00:00:00`) as written,
 * or a duration with a unit (`90m`, `4h`, `2d`) converted to D-HH:MM:SS.
 */
export function slurmTime(input: string): string {
  const v = input.trim();
  if (/^\d+(:\d{1,2}){0,2}$/.test(v) || /^\d+-\d{1,2}(:\d{1,2}){0,2}$/.test(v) || /^(infinite|unlimited)$/i.test(v)) return v;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d)$/i.exec(v);
  if (!m) {
    throw new CellbudgetError('USAGE', `--time '${input}' is not a time limit.`, {
      key: '--time',
      value: input,
      hint: 'Write Slurm’s form (e.g. 4:00:00, 1-12:00:00) or a duration such as 90m, 4h, 2d.',
    });
  }
  const unit = m[2]!.toLowerCase();
  const seconds = Math.ceil(Number(m[1]) * (unit === 's' ? 1 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 60));
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const mi = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d}-${two(h)}:${two(mi)}:${two(s)}`;
}
