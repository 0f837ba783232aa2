#!/usr/bin/env bash
# Stop the one-node Slurm that scripts/slurm/up.sh started in DIR, and munged if it started it.
set -uo pipefail
dir="${1:-${TMPDIR:-/tmp}/cellbudget-slurm}"
# Jobs still running (a test that failed midway) end with the cluster, not after it.
if [ -s "$dir/slurm.conf" ] && [ -s "$dir/run/slurmctld.pid" ]; then
  jobs="$(SLURM_CONF="$dir/slurm.conf" timeout 10 squeue -h -o %i 2>/dev/null || true)"
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086
    SLURM_CONF="$dir/slurm.conf" timeout 10 scancel $jobs 2>/dev/null
    for _ in $(seq 1 20); do
      [ -z "$(SLURM_CONF="$dir/slurm.conf" timeout 10 squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
      sleep 0.25
    done
  fi
fi
for d in slurmd slurmctld; do
  pidfile="$dir/run/$d.pid"
  if [ -s "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    # A pid file outlives its daemon; its pid may belong to another process by now.
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$d" ] || continue
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null
  fi
done
if [ -s "$dir/run/munged.ours" ]; then
  pid="$(cat "$dir/run/munged.ours")"
  # Only the munged this folder's up.sh started (the pid must still be a munged).
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = munged ]; then kill "$pid" 2>/dev/null; fi
fi
rm -rf "$dir"
exit 0
