# A SLURM allocation lent to tern. A real single-node SLURM (slurmctld,
# slurmd, munged from scripts/slurm-local.sh) runs
# scripts/slurm/tern-workers.sbatch: its tern-worker registers with ternd as
# a spot node labelled with the SLURM job id and runs a tern job. The
# allocation's warning (SIGUSR1 to the batch script, as at its time limit)
# makes a running job save and move to a node outside SLURM, and the worker
# and the allocation go. A second allocation ended by plain scancel: the
# worker leaves at once and ternd sees the node go.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "skip - a local SLURM needs root"
    exit 0
fi
for p in slurmctld slurmd munged sbatch; do
    command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || { echo "skip - no $p (slurm-wlm, munge)"; exit 0; }
done

# SLURM lives outside $T: munged, running as munge, must reach its directory.
S=$(mktemp -d "${TMPDIR:-/tmp}/tern-slurm.XXXXXX")
slurm_down() {
    local rc=$?
    "$TESTS/../scripts/slurm-local.sh" stop "$S" >/dev/null 2>&1
    rm -rf "$S"
    (exit "$rc")
    cleanup
}
trap slurm_down EXIT
conf=$("$TESTS/../scripts/slurm-local.sh" start "$S" 2>"$T/slurm-start.err") \
    || fail "slurm-local start: $(cat "$T/slurm-start.err")"
export "$conf"
node=$(sinfo -h -o %N)

ternd --state "$T/state.db" --client tcp://127.0.0.1:0 --worker tcp://127.0.0.1:0 \
    --endpoints-file "$T/ep" --log-dir "$T/logs" --node-timeout 2 2>"$T/ternd.log" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/ep" || fail "ternd did not start"
export TERN_SCHEDULER=$(sed -n 's/^client=//p' "$T/ep")
export TERN_INSECURE=1   # this ternd runs without keys: tern talks to it in plain text
wep=$(sed -n 's/^worker=//p' "$T/ep")
export TERN_WORKER="$TERN_BIN/tern-worker"

# node_field KEY: one value of node $node in 'tern nodes --json'.
node_field() {
    tern nodes --json | python3 -c "import json,sys
n = [n for n in json.load(sys.stdin)['nodes'] if n['name'] == '$node']
print(','.join(n[0]['$1']) if n and isinstance(n[0]['$1'], list) else n[0]['$1'] if n else '')"
}
node_is() { [ "$(node_field state)" = "$1" ]; }
now_ms() { date +%s%3N; }

# 1. The allocation's worker registers and runs a job.
a=$(sbatch --parsable -o "$T/slurm-%j.out" "$TESTS/../scripts/slurm/tern-workers.sbatch" "$wep") \
    || fail "sbatch"
wait_for 20 sh -c "tern nodes --json | grep -q 'slurm_job=$a'" \
    || fail "no worker of SLURM job $a: $(tern nodes); $(cat "$T/slurm-$a.out")"
wait_for 5 node_is UP || fail "node $node: $(tern nodes)"
case ",$(node_field labels)," in *,slurm_job=$a,*spot=true,*) ;; *) fail "labels: $(tern nodes)" ;; esac
wpid=$(node_field worker_pid)
PIDS="$PIDS $wpid"
squeue -h -j "$a" -o %T | grep -qx RUNNING || fail "SLURM job $a: $(squeue)"
ok "SLURM job $a started tern-worker $wpid on $node: UP, labels $(node_field labels)"

h=$(tern submit --parsable -p spot -- sh -c 'echo hello from $TERN_NODE_NAME') || fail "submit"
tern wait "$h" --timeout 20 >/dev/null || fail "job $h: $(tern show "$h")"
[ "$(tern logs "$h")" = "hello from $node" ] || fail "job $h printed: $(tern logs "$h")"
ok "job $h ran on the lent node: $(tern logs "$h")"

# 2. The warning: the job there saves (exit 75 at its preempt signal) and
# moves to 'stay', a node outside SLURM; the worker and the allocation go.
j=$(tern submit --parsable --preemptible -- sh -c \
    'trap "echo saved on \$TERN_NODE_NAME; exit 75" USR1; echo attempt $TERN_ATTEMPT on $TERN_NODE_NAME
     [ "$TERN_ATTEMPT" = 0 ] || exit 0; while :; do sleep 0.1; done') || fail "submit"
wait_for 10 sh -c "tern logs $j | grep -q 'attempt 0 on $node'" || fail "job $j: $(tern show "$j")"
tern-worker --scheduler "$wep" --name stay --cpus 1 2>"$T/stay.log" &
PIDS="$PIDS $!"
wait_for 10 sh -c "tern nodes | grep -qE '^stay +UP'" || fail "stay: $(tern nodes)"
t0=$(now_ms)
scancel --batch --signal=USR1 "$a" || fail "scancel --batch --signal=USR1 $a"
wait_for 5 node_is PREEMPTING || fail "node $node not PREEMPTING: $(tern nodes)"
noticed=$(( $(now_ms) - t0 ))
wait_for 10 sh -c "tern show $j | grep -q 'Attempt=0 State=PR .*Reason=spot notice on $node'" \
    || fail "job $j: $(tern show "$j")"
tern wait "$j" --timeout 20 >/dev/null || fail "job $j: $(tern show "$j")"
tern logs "$j" | grep -q "^attempt 1 on stay" || fail "job $j did not move to stay: $(tern logs "$j")"
wait_for 10 pids_gone <(echo "$wpid") || fail "worker $wpid still running"
gone=$(( $(now_ms) - t0 ))
wait_for 10 sh -c "! squeue -h -j $a 2>/dev/null | grep -q ." || fail "SLURM job $a still there: $(squeue)"
freed=$(( $(now_ms) - t0 ))
wait_for 10 node_is DOWN || fail "node $node not DOWN: $(tern nodes)"
down=$(( $(now_ms) - t0 ))
grep -q "workers are gone (srun exit 0)" "$T/slurm-$a.out" || fail "batch output: $(cat "$T/slurm-$a.out")"
ok "warning: job $j saved and moved to stay (attempt 0 PR, attempt 1 CD); node PREEMPTING in $noticed ms, worker gone in $gone ms, allocation ended in $freed ms, node DOWN in $down ms"

# 3. A second allocation, ended by plain scancel: no running job there.
b=$(sbatch --parsable -o "$T/slurm-%j.out" "$TESTS/../scripts/slurm/tern-workers.sbatch" "$wep") \
    || fail "sbatch"
wait_for 20 sh -c "tern nodes --json | grep -q 'slurm_job=$b'" \
    || fail "no worker of SLURM job $b: $(tern nodes); $(cat "$T/slurm-$b.out")"
wait_for 5 node_is UP || fail "node $node after job $b: $(tern nodes)"
wpid=$(node_field worker_pid)
PIDS="$PIDS $wpid"
t0=$(now_ms)
scancel "$b" || fail "scancel $b"
wait_for 5 node_is PREEMPTING || fail "node $node not PREEMPTING: $(tern nodes)"
noticed=$(( $(now_ms) - t0 ))
wait_for 10 pids_gone <(echo "$wpid") || fail "worker $wpid still running"
gone=$(( $(now_ms) - t0 ))
wait_for 10 sh -c "! squeue -h -j $b 2>/dev/null | grep -q ." || fail "SLURM job $b still there: $(squeue)"
wait_for 10 node_is DOWN || fail "node $node not DOWN: $(tern nodes)"
down=$(( $(now_ms) - t0 ))
ok "scancel $b: node PREEMPTING in $noticed ms, worker gone in $gone ms, node DOWN in $down ms (--node-timeout 2)"
