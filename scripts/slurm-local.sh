#!/usr/bin/env bash
# A single-node SLURM (slurmctld + slurmd + munged) under DIR, for
# benchmarks that measure tern beside SLURM on the same machine and for
# tests/integration/t18_slurm_allocation.sh.
#   scripts/slurm-local.sh start DIR   prints SLURM_CONF=... when ready
#   scripts/slurm-local.sh stop DIR    cancels its jobs, stops the daemons
# Needs root and the slurm-wlm and munge packages (install-deps.sh --bench).
set -eu
cmd=${1:?start or stop}
dir=$(mkdir -p "${2:?DIR}" && cd "$2" && pwd)
conf=$dir/slurm.conf

stop() {
    # Jobs first: their slurmstepd, and what it runs, outlive slurmd.
    if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
        local jobs
        jobs=$(SLURM_CONF=$conf squeue -h -o %i 2>/dev/null) || true
        if [ -n "$jobs" ]; then
            SLURM_CONF=$conf scancel $jobs 2>/dev/null || true
            for _ in $(seq 50); do
                [ -z "$(SLURM_CONF=$conf squeue -h -o %i 2>/dev/null)" ] && break
                sleep 0.1
            done
        fi
    fi
    for f in slurmd slurmctld munged; do
        [ -f "$dir/$f.pid" ] && kill "$(cat "$dir/$f.pid")" 2>/dev/null || true
    done
    sleep 0.5
    for f in slurmd slurmctld munged; do
        [ -f "$dir/$f.pid" ] && kill -9 "$(cat "$dir/$f.pid")" 2>/dev/null || true
        rm -f "$dir/$f.pid"
    done
}

if [ "$cmd" = stop ]; then
    stop
    exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "slurm-local: needs root" >&2; exit 1; }
# munged runs as the munge user: it must be able to reach its directory.
chmod 755 "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
chown munge:munge "$dir/munge"
chmod 700 "$dir/munge"
if [ ! -f "$dir/munge/munge.key" ]; then
    head -c 1024 /dev/urandom >"$dir/munge/munge.key"
    chown munge:munge "$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
fi
sock=$dir/munge/munge.socket
# munged runs as the munge user and wants its directories to itself.
runuser -u munge -- /usr/sbin/munged --key-file="$dir/munge/munge.key" --socket="$sock" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/munged.seed" --force
cp "$dir/munge/munged.pid" "$dir/munged.pid"

# A port in [$1, $1 + 1000) that nothing listens on now (another local
# SLURM of a run beside this one, say).
free_port() {
    local p
    for _ in $(seq 20); do
        p=$(($1 + RANDOM % 1000))
        ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || break
    done
    echo "$p"
}

host=$(hostname -s)
node=$(slurmd -C | head -n 1)
cat >"$conf" <<CONF
ClusterName=ternbench
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# As SLURM's high-throughput guide advises: start batch jobs at once.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=$(free_port 6817)
SlurmdPort=$(free_port 7817)
ReturnToService=2
MpiDefault=none
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF=$conf
slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 100); do
    if sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed|allocated"; then
        echo "SLURM_CONF=$conf"
        exit 0
    fi
    sleep 0.2
done
echo "slurm-local: node did not become idle; see $dir/log" >&2
stop
exit 1
