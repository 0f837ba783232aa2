#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine (Debian's slurm-wlm and munge), for the
# Slurm executor's tests: munged, slurmctld and slurmd on localhost, running as root, with
# state, spool, pid and log files in one folder. Prints the SLURM_CONF to export.
#   scripts/slurm/up.sh [DIR]          DIR defaults to ${TMPDIR:-/tmp}/cellbudget-slurm
# Exit codes: 0 up, 77 cannot run here (not root, or slurm-wlm/munge not installed), 1 failed.
# scripts/slurm/down.sh DIR stops what this started.
set -euo pipefail
dir="${1:-${TMPDIR:-/tmp}/cellbudget-slurm}"
say() { echo "slurm-up: $*" >&2; }

if [ "$(id -u)" != 0 ]; then say "needs root (slurmd runs jobs as any user)"; exit 77; fi
for bin in munge munged mungekey slurmctld slurmd sbatch sinfo; do
  command -v "$bin" >/dev/null || { say "$bin is not installed (apt-get install slurm-wlm munge)"; exit 77; }
done

# Daemons a previous run left in this folder (a test run that was killed): stop them first.
if [ -s "$dir/run/slurmctld.pid" ] || [ -s "$dir/run/slurmd.pid" ]; then
  say "stopping what an earlier up.sh left running in $dir"
  "$(dirname "$0")/down.sh" "$dir"
fi
# Another cluster on this machine would hold Slurm's ports.
# (ps, not pgrep: a slurmctld that died may linger as a zombie and holds nothing.)
other="$( (ps -C slurmctld -o pid=,stat= || true) | awk '$2 !~ /Z/ {printf "%s ", $1}')"; other="${other% }"
if [ -n "$other" ]; then
  say "a slurmctld not started from $dir is already running (pid $other): use that cluster (export its SLURM_CONF) or stop it first"
  exit 1
fi

mkdir -p "$dir"/{state,spool,log,run}
conf="$dir/slurm.conf"
host="$(hostname -s)"
cpus="$(nproc)"
# RealMemory in MiB, a little under MemTotal so slurmd does not drain the node.
mem_mib=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 512 ))

# munge: the authentication every Slurm daemon and client uses.
# Judged by a credential, not by a process name: a munged that died can linger as a zombie.
if ! munge -n </dev/null >/dev/null 2>&1; then
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  [ -s /etc/munge/munge.key ] || mungekey -c
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  # A pid file left by a munged that died would be taken for the new one's.
  rm -f /run/munge/munged.pid
  munged --force
  # Recorded so down.sh stops this munged by its pid, and only when this script started it.
  for _ in $(seq 1 20); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  cp /run/munge/munged.pid "$dir/run/munged.ours"
fi

cat > "$conf" <<CONF
# Written by cellbudget's scripts/slurm/up.sh: a one-node cluster for tests.
ClusterName=cellbudget
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Sample each job's memory every second and kill a job over its --mem, as a real site's
# cgroup limit would (there is no cgroup plugin here).
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd-%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem_mib State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

export SLURM_CONF="$conf"
slurmctld -f "$conf"
slurmd -f "$conf"

for _ in $(seq 1 60); do
  state="$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)"
  case "$state" in
    idle|mixed|allocated) say "node $host $state ($cpus CPUs, $mem_mib MiB); export SLURM_CONF=$conf"; echo "$conf"; exit 0 ;;
  esac
  sleep 0.5
done
say "the node did not become idle within 30 s (state: ${state:-none}); logs in $dir/log"
tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
exit 1
