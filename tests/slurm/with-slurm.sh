#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# with-slurm.sh COMMAND [ARG…] — run COMMAND against a private, throw-away
# Slurm cluster on this host: one munged, one slurmctld and three slurmd
# (node1..node3) listening on 127.0.0.1 only, with every file (config, key,
# state, spool, logs, sockets) in a temporary folder. COMMAND sees
# SLURM_CONF (the Slurm tools find the cluster through it) and
# JOB_SLURM_TEST_DIR (a folder shared by the "nodes"). The daemons are
# started in the foreground by this script, their pids recorded, and only
# those pids are stopped at the end, whatever happens.
#
# Exit status: COMMAND's; 77 (meson: skipped) when Slurm is not installed
# and cannot be (not root, or apt-get failed), with the reason on stderr.
#
# Knobs: JOB_SLURM_NODES (3), JOB_SLURM_CPUS (CPUs per node, 2),
# JOB_SLURM_KEEP=1 keeps the folder for a post-mortem.
set -uo pipefail

NODES=${JOB_SLURM_NODES:-3}
CPUS=${JOB_SLURM_CPUS:-2}
PKGS=(munge slurm-client slurmctld slurmd)

log() { printf '[with-slurm %s] %s\n' "$(date +%T.%N | cut -c1-12)" "$*" >&2; }
skip() { log "SKIP: $*"; exit 77; }

# ---------------------------------------------------------------- packages
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || skip "Slurm packages missing (${missing[*]}) and not root to install them"
  log "installing ${missing[*]}"
  # Keep maintainer scripts from starting system daemons (no init here).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
       "${missing[@]}" >&2; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
      "${missing[@]}" >&2 || skip "could not install ${missing[*]}"
  fi
  trap - EXIT; rm -f /usr/sbin/policy-rc.d.joblib 2>/dev/null || true
fi
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start jobs; run the slurm suite as root"

# ---------------------------------------------------------------- state
# One private cluster per host at a time: its daemons use fixed ports, and
# a second one (another checkout's tests) would take jobs of the first.
exec 9>/tmp/joblib-slurm.lock
flock -w 900 9 || skip "another Slurm test cluster kept running for 15 minutes"
T=$(mktemp -d /tmp/joblib-slurm.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/state" "$T/spool" "$T/log" "$T/munge" "$T/shared"
chmod 1777 "$T/shared"
PIDS=()         # "pid starttime name" of what we started

starttime() {   # start time of a live, non-zombie process; empty if none
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  [ "$1" = Z ] && return 0
  echo "${20}"
}
record() { PIDS+=("$1 $(starttime "$1") $2"); }

dump_logs() {
  for f in "$T"/log/*.log; do
    [ -f "$f" ] && { echo "---- tail $f" >&2; tail -n 15 "$f" >&2; }
  done
  return 0
}

teardown() {
  local rc=$? entry pid st name jobs
  trap - EXIT INT TERM
  if [ -n "${CTLD_UP:-}" ]; then
    jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
      log "cancelling jobs left behind: $jobs"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null
      for _ in $(seq 50); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
    fi
  fi
  [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && dump_logs
  # Reverse order: slurmd, slurmctld, munged.
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
    read -r pid st name <<<"${PIDS[$i]}"
    [ "$(starttime "$pid")" = "$st" ] || continue
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do [ "$(starttime "$pid")" = "$st" ] || break; sleep 0.05; done
    if [ "$(starttime "$pid")" = "$st" ]; then
      log "$name (pid $pid) ignored SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null
    fi
  done
  if [ -n "${JOB_SLURM_KEEP:-}" ]; then log "kept $T"; else rm -rf "$T"; fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# Four free consecutive ports: the controller, then one per slurmd.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 50); do
  BASE=$(( 20000 + RANDOM % 20000 ))
  ok=1
  for (( p=BASE; p<=BASE+NODES; p++ )); do port_busy "$p" && ok=; done
  [ -n "$ok" ] && break
done

# ---------------------------------------------------------------- munge
head -c 1024 /dev/urandom >"$T/munge/munge.key"
chmod 700 "$T/munge"; chmod 600 "$T/munge/munge.key"
SOCK=$T/munge/munge.socket
/usr/sbin/munged --foreground --force --key-file="$T/munge/munge.key" --socket="$SOCK" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/log/munged.log" \
  --seed-file="$T/munge/munged.seed" >>"$T/log/munged.log" 2>&1 &
record $! munged
for _ in $(seq 100); do munge -S "$SOCK" -n 2>/dev/null | unmunge -S "$SOCK" >/dev/null 2>&1 && break; sleep 0.05; done
munge -S "$SOCK" -n 2>/dev/null | unmunge -S "$SOCK" >/dev/null 2>&1 || { log "munged did not start"; exit 1; }

# ---------------------------------------------------------------- config
H=$(hostname -s)
export SLURM_CONF=$T/slurm.conf
cat >"$SLURM_CONF" <<EOF
# generated by joblib-glib tests/slurm/with-slurm.sh
ClusterName=joblibtest
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$BASE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=2
MinJobAge=300
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool/%n
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd-%n.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=node[1-$NODES] NodeHostname=$H NodeAddr=127.0.0.1 Port=[$((BASE+1))-$((BASE+NODES))] CPUs=$CPUS RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

# ---------------------------------------------------------------- daemons
/usr/sbin/slurmctld -D -i -f "$SLURM_CONF" >>"$T/log/slurmctld.out" 2>&1 &
record $! slurmctld
CTLD_UP=1
for _ in $(seq 200); do scontrol ping >/dev/null 2>&1 && break; sleep 0.05; done
scontrol ping >/dev/null 2>&1 || { log "slurmctld does not answer"; exit 1; }
for n in $(seq 1 "$NODES"); do
  mkdir -p "$T/spool/node$n"
  /usr/sbin/slurmd -D -N "node$n" -f "$SLURM_CONF" >>"$T/log/slurmd-node$n.out" 2>&1 &
  record $! "slurmd-node$n"
done

# Wait for every node to be usable, then for a job to run.
ready=
for _ in $(seq 300); do
  states=$(sinfo -h -N -o '%N %T' 2>/dev/null | sort -u)
  if [ "$(grep -cE ' (idle|mixed|allocated)$' <<<"$states")" -eq "$NODES" ]; then
    if timeout 20 srun -n1 -t 1 -J joblib-probe true 2>/dev/null; then ready=1; break; fi
  fi
  sleep 0.1
done
[ -n "$ready" ] || { sinfo -N -l >&2; log "the cluster did not come up"; exit 1; }
log "cluster up: $NODES nodes, controller port $BASE, folder $T"

export JOB_SLURM_TEST_DIR=$T/shared
"$@"
