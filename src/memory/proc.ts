/**
 * Linux /proc readings for one process: the kernel's resident high-water mark and its
 * reset. Writing `5` to /proc/<pid>/clear_refs resets VmHWM to the current RSS; the kernel
 * raises VmHWM before it lowers RSS, so a spike between two readings is never missed.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface ProcStatus {
  /** Resident set size now. */
  rssBytes: number;
  /** Peak resident set size since start or the last reset. */
  hwmBytes: number;
}

/** VmRSS and VmHWM of a process, or null when /proc is unavailable or the process is gone. */
export function readProcStatus(pid: number | 'self' = 'self'): ProcStatus | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
  if (!rss || !hwm) return null;
  return { rssBytes: Number(rss[1]) * 1024, hwmBytes: Number(hwm[1]) * 1024 };
}

/** Reset the process's VmHWM to its current RSS. False when the kernel does not allow it. */
export function resetHighWaterMark(pid: number | 'self' = 'self'): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

let hwmSupport: boolean | undefined;

/** Whether per-step kernel high-water marks work here (Linux with a writable clear_refs). */
export function kernelHwmAvailable(): boolean {
  if (hwmSupport === undefined) {
    hwmSupport = process.platform === 'linux' && readProcStatus('self') !== null && resetHighWaterMark('self');
  }
  return hwmSupport;
}

/** Direct children of a process (Linux), for summing a command's descendants. */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/**
 * Every descendant of a process (children, grandchildren, …), Linux only. Reads the
 * children of every thread, not only the main one: a child forked from a worker thread
 * is listed under that thread's task directory.
 */
export function descendantPids(pid: number): number[] {
  const out: number[] = [];
  const seen = new Set<number>([pid]);
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let text: string;
      try {
        text = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
      } catch {
        continue;
      }
      if (!text) continue;
      for (const c of text.split(/\s+/).map(Number)) {
        if (!seen.has(c)) {
          seen.add(c);
          out.push(c);
          queue.push(c);
        }
      }
    }
  }
  return out;
}

/** The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22), or null when it is gone or a zombie. */
export function processStartTime(pid: number): string | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name, which is in parentheses and may itself hold spaces.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return null;
  return rest[19] ?? null;
}

/** Live processes whose process group is `pgid` (Linux; [] elsewhere). */
export function processGroupMembers(pgid: number): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const text = readFileSync(`/proc/${n}/stat`, 'utf8');
      const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
      if (rest[0] !== 'Z' && rest[0] !== 'X' && Number(rest[2]) === pgid) out.push(Number(n));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
