#!/usr/bin/env bash
# slurm-localhost.sh — a throwaway one-node SLURM cluster for kshot's tests.
#
#   slurm-localhost.sh up DIR      start munged, slurmctld and slurmd as this
#                                  user's own processes, all state under DIR;
#                                  waits until the node is idle
#   slurm-localhost.sh down DIR    cancel what is queued, stop the daemons it
#                                  started (by the PIDs in DIR, nothing else)
#   slurm-localhost.sh wait DIR JOB  wait until JOB has left the queue
#
# Needs Debian's munge, slurmctld, slurmd and slurm-client (./dev.sh test
# installs them without starting their system services) and root, as CI
# has: slurmd runs jobs as their submitter. No file outside DIR is written,
# no system service is started. Clients talk to it through SLURM_CONF:
#   export SLURM_CONF=DIR/slurm.conf
# Ports: SLURM_LOCAL_PORT (slurmctld, default 16817) and the next one (slurmd).
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

cmd=${1:?usage: slurm-localhost.sh up|down|wait DIR [JOB]}
dir=${2:?usage: slurm-localhost.sh up|down|wait DIR [JOB]}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
conf=$dir/slurm.conf
port=${SLURM_LOCAL_PORT:-16817}
node=$(hostname -s 2>/dev/null || uname -n)
node=${node%%.*}
export SLURM_CONF=$conf

say() { printf 'slurm-localhost: %s\n' "$*" >&2; }

# The PID in DIR's pid file for daemon $1, if that process still runs it.
running_pid() {
    local f=$dir/$1.pid pid
    [ -s "$f" ] || return 1
    pid=$(tr -dc 0-9 <"$f")
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
    case $(cat "/proc/$pid/comm") in "$1"*) echo "$pid" ;; *) return 1 ;; esac
}

# Retry "$@" every 0.3 s for up to $1 seconds.
retry() {
    local limit=$1 t0=$SECONDS; shift
    until "$@" >/dev/null 2>&1; do
        [ $((SECONDS - t0)) -lt "$limit" ] || return 1
        sleep 0.3
    done
}

show_logs() {
    local f
    for f in "$dir"/log/*.log; do
        [ -f "$f" ] && { say "---- $f"; tail -n 20 "$f" >&2; }
    done
    return 0
}

node_idle() { [ "$(sinfo -h -N -n "$node" -o %T 2>/dev/null)" = idle ]; }

up() {
    command -v slurmctld >/dev/null || { say "slurmctld is not installed"; exit 1; }
    down quiet
    rm -rf "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    mkdir -m 0755 "$dir/munge"   # munged wants its socket directory searchable, not writable
    chmod go-w "$dir"
    dd if=/dev/urandom of="$dir/munge/key" bs=1024 count=1 status=none
    chmod 0600 "$dir/munge/key"
    munged --force --socket="$dir/munge/socket" --key-file="$dir/munge/key" \
        --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/seed" || { show_logs; say "munged did not start"; exit 1; }
    cat >"$conf" <<EOF
# written by kshot's tests/cluster/slurm-localhost.sh; removed with its directory
ClusterName=kshottest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MinJobAge=600
KillWait=30
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=${SLURM_LOCAL_CPUS:-$(nproc)} RealMemory=${SLURM_LOCAL_MEM_MB:-4096} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    slurmctld -c -f "$conf" || { show_logs; say "slurmctld did not start"; exit 1; }
    retry 60 scontrol ping || { show_logs; say "slurmctld does not answer"; down; exit 1; }
    slurmd -N "$node" -f "$conf" || { show_logs; say "slurmd did not start"; down; exit 1; }
    retry 60 node_idle || { show_logs; say "node $node is not idle"; down; exit 1; }
    say "up: munged $(running_pid munged), slurmctld $(running_pid slurmctld), slurmd $(running_pid slurmd); SLURM_CONF=$conf"
}

stop_daemons() {
    local name pid pids=()
    for name in "$@"; do
        pid=$(running_pid "$name") || continue
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
    done
    local t0=$SECONDS
    for pid in ${pids[@]+"${pids[@]}"}; do
        while [ -d "/proc/$pid" ] && [ $((SECONDS - t0)) -lt 15 ]; do sleep 0.2; done
        [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
    return 0
}

down() {
    if running_pid slurmctld >/dev/null; then
        local jobs
        jobs=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
        if [ -n "${jobs// /}" ]; then
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            retry 40 queue_empty || true
        fi
    fi
    stop_daemons slurmd slurmctld
    stop_daemons munged
    [ "${1:-}" = quiet ] || say "down"
}

queue_empty() { [ -z "$(squeue -h -o %A 2>/dev/null)" ]; }
job_gone() { local out; out=$(squeue -h -j "$1" -o %i 2>/dev/null) || return 0; [ -z "$out" ]; }

wait_job() {
    local job=${1:?job id} limit=${SLURM_LOCAL_TIMEOUT:-600} t0=$SECONDS state
    until job_gone "$job"; do
        state=$(sinfo -h -N -n "$node" -o %T 2>/dev/null || true)
        case $state in drain*|down*|fail*)
            say "node $node is $state: $(sinfo -h -N -n "$node" -o %E)"; show_logs; return 1 ;;
        esac
        [ $((SECONDS - t0)) -lt "$limit" ] || { say "job $job still queued after ${limit}s"; return 1; }
        sleep 0.5
    done
}

case $cmd in
    up) up ;;
    down) down ;;
    wait) wait_job "${3:-}" ;;
    *) say "unknown command $cmd (up, down, wait)"; exit 2 ;;
esac
