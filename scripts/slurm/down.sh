#!/usr/bin/env bash
# Stop the one-node Slurm that scripts/slurm/up.sh started in DIR, and munged if it started it.
set -uo pipefail
dir="${1:-${TMPDIR:-/tmp}/cellbudget-slurm}"
for d in slurmd slurmctld; do
  pidfile="$dir/run/$d.pid"
  if [ -s "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null
  fi
done
if [ -e "$dir/run/munged.ours" ]; then pkill -x munged 2>/dev/null; fi
rm -rf "$dir"
exit 0
