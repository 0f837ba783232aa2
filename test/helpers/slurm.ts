// A one-node Slurm for the tests: started with scripts/slurm/up.sh (munged, slurmctld and
// slurmd on localhost, as root) and stopped with scripts/slurm/down.sh. A cluster that is
// already up (SLURM_CONF set and `sinfo` answering) is used as it is and left running.
import { spawnSync } from 'node:child_process';
import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export type Cluster = { ok: true; conf: string; dir: string; startedHere: boolean } | { ok: false; reason: string };

/** Start (or find) the test cluster; never throws: a machine where Slurm cannot run says why. */
export function startCluster(): Cluster {
  const existing = process.env['SLURM_CONF'];
  if (existing && spawnSync('sinfo', ['-h'], { encoding: 'utf8', timeout: 15_000 }).status === 0)
    return { ok: true, conf: existing, dir: '', startedHere: false };
  // A fixed folder: a test run that was killed left its daemons there, and up.sh stops them first.
  const dir = join(tmpdir(), 'cellbudget-slurm-test');
  // One test run at a time owns that cluster (another checkout's `npm test` on this machine must not stop it).
  const owner = claim(`${dir}.owner`);
  if (owner !== null) return { ok: false, reason: `another test run (pid ${owner}) is using the test cluster in ${dir}` };
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'slurm', 'up.sh'), dir], { encoding: 'utf8', timeout: 90_000 });
  if (r.status === 0) return { ok: true, conf: r.stdout.trim().split('\n').at(-1)!, dir, startedHere: true };
  rmSync(`${dir}.owner`, { force: true });
  const why = (r.stderr || r.error?.message || 'it printed nothing').trim().split('\n').slice(-3).join(' ');
  return { ok: false, reason: r.status === 77 ? `Slurm cannot run here: ${why}` : `scripts/slurm/up.sh failed (exit ${r.status}): ${why}` };
}

export function stopCluster(c: Cluster): void {
  if (!c.ok || !c.startedHere) return;
  spawnSync('bash', [join(ROOT, 'scripts', 'slurm', 'down.sh'), c.dir], { stdio: 'ignore', timeout: 60_000 });
  rmSync(`${c.dir}.owner`, { force: true });
}

/** Take the owner file for this process; the pid of a live owner when another has it. */
function claim(path: string): number | null {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return null;
    } catch {
      let pid = 0;
      try {
        pid = Number(readFileSync(path, 'utf8').trim());
      } catch {
        // released meanwhile
      }
      let alive = false;
      try {
        if (pid > 0) process.kill(pid, 0);
        alive = pid > 0;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive && pid !== process.pid) return pid;
      // Its owner is gone (a killed test run): take it over.
      rmSync(path, { force: true });
    }
  }
  return null;
}

/** Run a Slurm command against the test cluster. */
export function slurm(tool: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tool, [...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** A job's state as `squeue --states=all` shows it ('' when Slurm no longer knows it). */
export function jobState(id: string): string {
  return slurm('squeue', ['-h', '--states=all', `--jobs=${id}`, '-o', '%T']).stdout.trim();
}
