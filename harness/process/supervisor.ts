/**
 * One process supervisor for everything the harness starts: a measuring child (spawn.ts) and a
 * user's command (command.ts). It spawns without a shell, reads stdout and stderr as they come
 * (chunks and whole lines, so a marker is acted on the moment its newline is read), keeps the
 * tail of the output for failure reports, serves the third descriptor (a record pipe to read,
 * or an acknowledgement pipe to write), calls the caller's sampler every few milliseconds while
 * the process runs, ends it on a timeout (SIGTERM, then SIGKILL after a grace period; at once
 * with no grace) or when the caller asks (a memory cap), and — for a process in its own group —
 * forwards SIGINT/SIGTERM/SIGHUP to the group and leaves nothing behind: the group and every
 * descendant seen are ended when it exits. It never rejects: how the process ended comes back
 * as a ProcessEnd, which `classifyEnd` turns into one sentence (could not start, out of memory,
 * killed, timed out, exited with a code).
 *
 * Written on node:child_process rather than execa (9.6, Node ≥ 20.5): execa kills a pid, not a
 * process group, its cleanup does not apply to detached children, and what is left here (group
 * and descendants, forwarding, sampling, OOM classification) would stay ours; its 21 packages
 * cost 57 ms and 16.6 MB of RSS to import (measured), which a Slurm job's entry pays against
 * its --mem. Line delivery measured the same (median 0.05–0.07 ms from write to handler).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { processGroupMembers, processStartTime } from '../../src/memory/proc.js';
import { LineSplitter } from './lines.js';

/** How a run failed: the supervisor's own kinds, and those its callers and the executors add. */
export type FailureKind =
  | 'oom'
  | 'memory-cap'
  | 'timeout'
  | 'signal'
  | 'exit'
  | 'spawn'
  | 'job-error'
  /** An executor's: Slurm killed the job over its --mem (or the node's OOM killer did). */
  | 'memory-limit'
  /** An executor's: the node failed, the job never started, it was cancelled, or it wrote nothing visible. */
  | 'executor';

/** Why a process was ended (on purpose, or as classified): the reason is the run's failure reason. */
export interface KilledFor {
  kind: FailureKind;
  reason: string;
}

export interface SuperviseOptions {
  /** Program and arguments; no shell. */
  argv: readonly string[];
  cwd?: string;
  /** The whole environment of the process. */
  env: NodeJS.ProcessEnv;
  /** The third descriptor: lines to read (a record pipe), a pipe to write to (acknowledgements), or none. */
  fd3?: 'read' | 'write' | 'none';
  /**
   * Run in its own process group (detached): the group is signalled as one, SIGINT/SIGTERM/SIGHUP
   * sent to this process are passed on, and at its exit whatever it left running is ended.
   */
  group?: boolean;
  /** End the process after this long (reported as a timeout). */
  timeoutMs?: number;
  /** After a timeout: time between SIGTERM and SIGKILL; 0 sends SIGKILL at once (default 2000). */
  killGraceMs?: number;
  /** How often `onTick` runs while the process is alive (default 10 ms). */
  tickMs?: number;
  /** How much output to keep for failure reports (default 4000 characters) and from which streams. */
  tail?: { chars?: number; streams?: 'both' | 'stderr' };
  /** Once the process exists (its pid is known). */
  onSpawn?(proc: Supervised): void;
  /** Every `tickMs` while it runs: sample it, end it (`proc.kill`) when over a cap. */
  onTick?(proc: Supervised): void;
  /** Output as it arrives. */
  onChunk?(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  /** Whole output lines (without the newline), as their newline arrives; a last line without one at the end. */
  onLine?(stream: 'stdout' | 'stderr', line: string): void;
  /** Whole lines of the third descriptor (fd3: 'read'). */
  onFd3Line?(line: string, proc: Supervised): void;
  /** The process exited (before its streams are drained and leftovers ended). */
  onExit?(code: number | null, signal: NodeJS.Signals | null): void;
}

/** A running process, as the caller's hooks see it. */
export interface Supervised {
  readonly pid: number;
  /** Milliseconds since the supervisor started. */
  now(): number;
  /** End it for `why` (recorded once: the first reason wins), with SIGKILL unless told otherwise. */
  kill(why: KilledFor, signal?: NodeJS.Signals): void;
  /** Write to the third descriptor (fd3: 'write'); a reader that went away is ignored. */
  write(text: string): void;
  /** Add the harness's own words to the output tail (e.g. a record it could not read). */
  note(text: string): void;
  /** A descendant seen by the caller's sampler: ended with the process if it outlives it (group only). */
  noteDescendant(pid: number): void;
}

/** How a supervised process ended. */
export interface ProcessEnd {
  pid: number | null;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when it was ended on purpose (a timeout, a cap): why. */
  killedFor: KilledFor | null;
  /** The process could not be started. */
  spawnError: Error | null;
  /** The last `tail.chars` characters of its output. */
  tail: string;
  durationMs: number;
  /** Processes it left running that were ended after it exited (group only). */
  leftovers: number;
  /** The cgroup recorded an OOM kill while it ran (cgroup v2; false where unreadable). */
  cgroupOomKill: boolean;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** OOM kills recorded for our cgroup (cgroup v2), to tell a memory kill from another SIGKILL. */
function cgroupOomKills(): number | null {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    if (!line) return null;
    const m = /^oom_kill\s+(\d+)/m.exec(readFileSync(`/sys/fs/cgroup${line.slice(3)}/memory.events`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run a process under supervision; resolves when it has exited and its output is read. */
export function supervise(opts: SuperviseOptions): Promise<ProcessEnd> {
  return new Supervision(opts).run();
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError: Error | null;
}

/** One supervised process: its state, and the handle its hooks get. */
class Supervision implements Supervised {
  private readonly t0 = performance.now();
  private readonly grace: number;
  private readonly group: boolean;
  private readonly oomBefore = cgroupOomKills();
  private tailText = '';
  private pidOrNull: number | null = null;
  private running = false;
  private killedFor: KilledFor | null = null;
  /** Stands in `killedFor` from the timeout until the end, when its wording is known. */
  private readonly timeoutMark: KilledFor = { kind: 'timeout', reason: '' };
  private timedOut = false;
  private sentKill = false;
  private leftovers = 0;
  /** Descendants seen during the run: pid → start time (a pid can be reused). */
  private readonly seen = new Map<number, string>();
  private fd3Out: Writable | null = null;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly opts: SuperviseOptions) {
    this.grace = opts.killGraceMs ?? 2000;
    this.group = opts.group === true;
  }

  get pid(): number {
    if (this.pidOrNull === null) throw new Error('supervisor: the process has no pid before it has started');
    return this.pidOrNull;
  }

  now(): number {
    return performance.now() - this.t0;
  }

  kill(why: KilledFor, signal: NodeJS.Signals = 'SIGKILL'): void {
    this.killedFor ??= why;
    this.signalAll(signal);
  }

  write(text: string): void {
    this.fd3Out?.write(text);
  }

  note(text: string): void {
    this.keep(text);
  }

  noteDescendant(p: number): void {
    if (p === this.pidOrNull || this.seen.has(p)) return;
    const st = processStartTime(p);
    if (st !== null) this.seen.set(p, st);
  }

  async run(): Promise<ProcessEnd> {
    if (this.group) this.listen();
    let exit: Exit;
    try {
      exit = await this.start();
    } finally {
      this.unlisten();
      for (const t of this.timers) clearTimeout(t);
    }
    if (this.group && exit.spawnError === null) await this.endGroup(exit.signal);
    return this.end(exit);
  }

  /** Spawn and wait until the process has exited and its streams are read. */
  private start(): Promise<Exit> {
    return new Promise<Exit>((resolveExit) => {
      const fd3 = this.opts.fd3 ?? 'none';
      let child: ChildProcess;
      try {
        child = spawn(this.opts.argv[0] as string, this.opts.argv.slice(1), {
          ...(this.opts.cwd !== undefined ? { cwd: this.opts.cwd } : {}),
          env: this.opts.env,
          stdio: ['ignore', 'pipe', 'pipe', fd3 === 'none' ? 'ignore' : 'pipe'],
          detached: this.group,
        });
      } catch (e) {
        // Invalid arguments (a NUL byte, a bad env value) throw before anything starts.
        resolveExit({ code: null, signal: null, spawnError: e instanceof Error ? e : new Error(String(e)) });
        return;
      }
      let exited: Omit<Exit, 'spawnError'> | null = null;
      let openStreams = 0;
      let settled = false;
      const settle = (x: Exit): void => {
        if (settled) return;
        settled = true;
        resolveExit(x);
      };
      const drained = (): void => {
        if (exited && openStreams === 0) settle({ ...exited, spawnError: null });
      };
      const third = child.stdio[3];
      if (fd3 === 'write' && third && 'write' in third) {
        this.fd3Out = third as Writable;
        // A program that closed fd 3 or exited: acknowledgements are simply not needed.
        this.fd3Out.on('error', () => undefined);
      }
      const streams: Array<[Readable | null | undefined, 'stdout' | 'stderr' | 'fd3']> = [
        [child.stdout, 'stdout'],
        [child.stderr, 'stderr'],
        [fd3 === 'read' ? (third as Readable | null) : null, 'fd3'],
      ];
      for (const [s, name] of streams) {
        if (!s) continue;
        openStreams += 1;
        this.read(s, name, () => {
          openStreams -= 1;
          drained();
        });
      }
      child.on('spawn', () => this.spawned(child));
      child.on('error', (e) => {
        if (this.pidOrNull === null) settle({ code: null, signal: null, spawnError: e });
      });
      child.on('exit', (code, signal) => {
        exited = { code, signal };
        this.exited(code, signal);
        // A descendant may hold the pipes open after the process itself ended.
        setTimeout(() => {
          if (openStreams === 0) return;
          for (const [s] of streams) s?.destroy();
          openStreams = 0;
          drained();
        }, 1000).unref();
        drained();
      });
    });
  }

  private spawned(child: ChildProcess): void {
    this.pidOrNull = child.pid ?? null;
    this.running = true;
    if (this.pidOrNull === null) return;
    this.opts.onSpawn?.(this);
    const onTick = this.opts.onTick;
    if (onTick) {
      this.timers.push(
        setInterval(() => {
          if (this.running) onTick(this);
        }, this.opts.tickMs ?? 10),
      );
    }
    if (this.opts.timeoutMs !== undefined) this.timers.push(setTimeout(() => this.onTimeout(), this.opts.timeoutMs));
  }

  private onTimeout(): void {
    this.timedOut = true;
    this.killedFor ??= this.timeoutMark;
    if (this.grace <= 0) {
      this.sentKill = true;
      this.signalAll('SIGKILL');
      return;
    }
    this.signalAll('SIGTERM');
    this.timers.push(
      setTimeout(() => {
        this.sentKill = true;
        this.signalAll('SIGKILL');
      }, this.grace),
    );
  }

  private read(s: Readable, name: 'stdout' | 'stderr' | 'fd3', closed: () => void): void {
    const splitter = new LineSplitter();
    const tailToo = name !== 'fd3' && (this.opts.tail?.streams !== 'stderr' || name === 'stderr');
    const lines = (ls: string[]): void => {
      for (const line of ls) {
        if (name === 'fd3') this.opts.onFd3Line?.(line, this);
        else this.opts.onLine?.(name, line);
      }
    };
    s.on('data', (chunk: Buffer) => {
      if (tailToo) this.keep(chunk.toString('utf8'));
      if (name !== 'fd3') this.opts.onChunk?.(name, chunk);
      if (name === 'fd3' ? this.opts.onFd3Line : this.opts.onLine) lines(splitter.push(chunk));
    });
    s.on('close', () => {
      lines(splitter.end());
      closed();
    });
  }

  private keep(text: string): void {
    this.tailText = (this.tailText + text).slice(-(this.opts.tail?.chars ?? 4000));
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.opts.onExit?.(code, signal);
    // Whatever it left running (a forked worker, a daemonised helper) ends with it.
    if (this.group) this.leftovers = this.endLeftovers('SIGTERM');
    this.fd3Out?.destroy();
    this.fd3Out = null;
  }

  /** Nothing it started outlives it: SIGTERM went out at its exit; what is still there after a short grace is killed. */
  private async endGroup(signal: NodeJS.Signals | null): Promise<void> {
    const deadline = performance.now() + Math.min(this.grace, 1000);
    while (this.stillRunning().length > 0 && performance.now() < deadline) await sleep(25);
    this.endLeftovers('SIGKILL');
    if (this.timedOut || signal) this.signalAll('SIGKILL');
  }

  private end(exit: Exit): ProcessEnd {
    const oomAfter = cgroupOomKills();
    return {
      pid: this.pidOrNull,
      code: exit.code,
      signal: exit.signal,
      killedFor: this.killedFor === this.timeoutMark ? { kind: 'timeout', reason: this.timeoutReason() } : this.killedFor,
      spawnError: exit.spawnError,
      tail: this.tailText,
      durationMs: this.now(),
      leftovers: this.leftovers,
      cgroupOomKill: this.oomBefore !== null && oomAfter !== null && oomAfter > this.oomBefore,
    };
  }

  private timeoutReason(): string {
    const after = `timed out after ${this.opts.timeoutMs} ms`;
    if (this.grace <= 0) return `${after} and was killed`;
    return `${after}: sent SIGTERM${this.sentKill ? `, then SIGKILL after ${this.grace} ms` : ''}`;
  }

  private signalAll(signal: NodeJS.Signals): void {
    if (this.pidOrNull === null) return;
    signalPid(this.group ? -this.pidOrNull : this.pidOrNull, signal);
  }

  /** Processes of the group, and descendants seen during the run, still alive (compared by start time). */
  private stillRunning(): number[] {
    if (this.pidOrNull === null || !this.group) return [];
    const out = new Set(processGroupMembers(this.pidOrNull));
    for (const [p, start] of this.seen) if (processStartTime(p) === start) out.add(p);
    out.delete(this.pidOrNull);
    out.delete(process.pid);
    return [...out];
  }

  private endLeftovers(signal: NodeJS.Signals): number {
    const left = this.stillRunning();
    this.signalAll(signal);
    for (const p of left) signalPid(p, signal);
    return left.length;
  }

  // In its own group a Ctrl-C on the harness would not reach the process: pass it on, and leave
  // nothing running when the harness exits.
  private readonly forward = (sig: NodeJS.Signals): void => {
    if (this.running) this.signalAll('SIGTERM');
    this.unlisten();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };

  private readonly onParentExit = (): void => {
    if (this.running) this.signalAll('SIGKILL');
  };

  private listen(): void {
    for (const s of FORWARDED) process.on(s, this.forward);
    process.on('exit', this.onParentExit);
  }

  private unlisten(): void {
    for (const s of FORWARDED) process.removeListener(s, this.forward);
    process.removeListener('exit', this.onParentExit);
  }
}

/** What an out-of-memory death leaves in a process's output. */
export const OOM_PATTERNS: readonly RegExp[] = [
  /JavaScript heap out of memory/,
  /Fatal process out of memory/i,
  /Reached heap limit/,
  /Array buffer allocation failed/,
  /Cannot allocate memory/,
  /std::bad_alloc/,
  /WebAssembly\.Memory\(\): could not allocate memory/,
];

/**
 * How `classifyEnd` words the end of one kind of process; which end it was is decided the same
 * for all. A measuring child is our own program (a non-zero exit is a crash, nobody kills it by
 * hand); a user's command may exit non-zero on purpose and be killed by its user.
 */
export interface EndWording {
  /** How the sentences name it: "the child", "the command". */
  subject: string;
  /** A non-zero exit (default `exited with code N`). */
  exitCode?(code: number | null): string;
  /** A SIGKILL that nobody recorded and the cgroup did not count as an OOM kill. */
  sigkill?: string;
  /** It could not be started (default `<subject> could not be started: <error>`). */
  notStarted?(e: Error): string;
}

/** What `classifyEnd` reads of an end (a ProcessEnd, or an executor's account of one). */
export interface EndFacts {
  code: number | null;
  signal: NodeJS.Signals | string | null;
  killedFor: KilledFor | null;
  tail: string;
  cgroupOomKill?: boolean;
  spawnError?: Error | null;
}

const SIGKILL_UNRECORDED =
  'killed by SIGKILL, most likely for memory (the kernel OOM killer or a container memory limit; check `dmesg` or the cgroup memory events) or by hand';

/**
 * Why a process ended badly, in one sentence, or null when it exited with 0: it could not be
 * started; it was ended on purpose (the recorded reason); out of memory (its output says so, or
 * the cgroup recorded an OOM kill); killed by a signal (SIGKILL: most likely for memory); or a
 * non-zero exit (with the first error line of its output).
 */
export function classifyEnd(end: EndFacts, wording: EndWording = { subject: 'the process' }): KilledFor | null {
  if (end.spawnError)
    return {
      kind: 'spawn',
      reason: wording.notStarted?.(end.spawnError) ?? `${wording.subject} could not be started: ${end.spawnError.message}`,
    };
  if (end.killedFor) return end.killedFor;
  const how = end.signal ? ` (${end.signal})` : end.code !== null ? ` (exit code ${end.code})` : '';
  const oom = OOM_PATTERNS.map((p) => p.exec(end.tail)?.[0]).find((m) => m !== undefined);
  if (oom) return { kind: 'oom', reason: `out of memory: ${wording.subject} died with "${oom}"${how}` };
  if (end.signal === 'SIGKILL') {
    return end.cgroupOomKill
      ? { kind: 'oom', reason: 'killed by the OOM killer (SIGKILL; the cgroup recorded an oom_kill)' }
      : { kind: 'signal', reason: wording.sigkill ?? SIGKILL_UNRECORDED };
  }
  if (end.signal) return { kind: 'signal', reason: `killed by ${end.signal}` };
  if (end.code !== 0) {
    const firstError = /^\w*Error[^\n]*/m.exec(end.tail)?.[0];
    return {
      kind: 'exit',
      reason: `${wording.exitCode?.(end.code) ?? `exited with code ${end.code}`}${firstError ? `: ${firstError}` : ''}`,
    };
  }
  return null;
}
