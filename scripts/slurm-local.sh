#!/usr/bin/env bash
# A single-node SLURM (slurmctld + slurmd + munged) under DIR, for
# benchmarks that measure tern beside SLURM on the same machine.
#   scripts/slurm-local.sh start DIR   prints SLURM_CONF=... when ready
#   scripts/slurm-local.sh stop DIR
# Needs root and the slurm-wlm and munge packages (install-deps.sh --bench).
set -eu
cmd=${1:?start or stop}
dir=$(mkdir -p "${2:?DIR}" && cd "$2" && pwd)
conf=$dir/slurm.conf

stop() {
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
SlurmctldPort=$((6817 + RANDOM % 1000))
SlurmdPort=$((7817 + RANDOM % 1000))
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
