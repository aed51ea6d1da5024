# Spot preemption. A cluster of two on-demand workers and one spot worker
# polling a metadata endpoint served on loopback (AWS style, IMDSv2). A
# --preemptible train_mlp placed on the spot node gets the notice in mid-
# training: the node turns PREEMPTING, the job saves the step it is at,
# moves to the on-demand nodes and ends with the weights of a run never
# stopped; no step is lost. Non-preemptible jobs never go to a spot node.
# 'tern preempt' and SIGTERM to a spot worker are notices too.
. "$(dirname "$0")/lib.sh"

mlp="$TERN_BIN/train_mlp"
train="$mlp --steps 300 --ckpt-every 100 --async --log-every 10"

# The bits of a run never stopped.
never_stopped 2 $train
whole=$NEVER_STOPPED

python3 "$TESTS/../scripts/metadata_server.py" "$T/md.port" "$T/notice" 2>"$T/md.log" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/md.port" || fail "metadata server did not start"
url="http://127.0.0.1:$(cat "$T/md.port")/latest/meta-data/spot/instance-action"
up --workers 3 --spot-workers 1 --notice-url "$url"
tern nodes | grep -E "^node3 +UP .*spot=true" >/dev/null || fail "node3 not a spot node: $(tern nodes)"

# 1. The notice in mid-training.
id=$(tern submit --parsable -N 2 --preemptible --checkpoint-dir "$T/ckpt" -- \
     $train --step-delay-ms 15) || fail "submit"
wait_for 20 sh -c "tern logs $id --rank 0 | grep -q '^step 20 '" || fail "training did not start: $(tern logs "$id")"
tern show "$id" --json | grep -q '"node3"' || fail "the preemptible job is not on the spot node: $(tern show "$id")"
echo 30 >"$T/notice"
wait_for 10 sh -c "tern nodes | grep -qE '^node3 +PREEMPTING'" || fail "node3 not PREEMPTING: $(tern nodes)"
tern wait "$id" --timeout 60 >/dev/null || fail "job $id: $(tern show "$id")"
show=$(tern show "$id")
echo "$show" | grep -q "Attempt=0 State=PR .*Nodes=[^ ]*node3.*Reason=spot notice on node3" \
    || fail "attempt 0: $show"
echo "$show" | grep -q "Attempt=1 State=CD .*Nodes=node[12],node[12] " || fail "attempt 1 not on the on-demand nodes: $show"
echo "$show" | grep -q "Restarts=0" || fail "the preemption counted as a restart: $show"
log=$(tern logs "$id" --rank 0)
saved=$(echo "$log" | sed -n 's/^preempted: saved step //p' | cut -d';' -f1)
from=$(echo "$log" | sed -n 's/^resumed from step //p')
last=$(echo "$log" | sed -n '/^preempted/q; s/^step \([0-9]*\) .*/\1/p' | tail -n 1)
got=$(echo "$log" | sed -n 's/^weights //p')
[ -n "$saved" ] && [ "$from" = "$saved" ] || fail "saved step '$saved', resumed from '$from': $log"
[ "$saved" -ge "$last" ] || fail "resumed at $from, before step $last reached before the notice"
[ "$got" = "$whole" ] || fail "weights $got after the move, $whole without one"
ok "spot notice at step ~$saved: saved there, moved to $(echo "$show" | sed -n 's/.*Attempt=1 .*Nodes=\([^ ]*\).*/\1/p'), resumed at $from (0 steps lost), weights $got, bit for bit"
tern nodes | grep -E "^node3 +PREEMPTING .*instance-action terminate" >/dev/null || fail "node3: $(tern nodes)"
tern show "$id" --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
a = j["attempts"]
assert len(a) == 2 and a[0]["state"] == "PR" and a[1]["state"] == "CD", a
# node3 costs 1.00 an hour, the others 3.00: attempt 0 (node3 + one other)
# costs 4.00 per hour of its wall time, attempt 1 (two others) 6.00.
for att, rate in ((a[0], 4.0), (a[1], 6.0)):
    hours = (att["end_ms"] - att["start_ms"]) / 3.6e6
    assert abs(att["cost"] - rate * hours) < 1e-9 and abs(att["node_hours"] - 2 * hours) < 1e-9, att
assert abs(j["cost"] - a[0]["cost"] - a[1]["cost"]) < 1e-12
' || fail "cost per attempt: $(tern show "$id" --json)"
ok "tern show: node-hours and cost per attempt at each node's price"

# 2. Spot nodes take only --preemptible jobs; resume withdraws the notice
#    (and the endpoint stops announcing it, or a new worker would see it).
rm -f "$T/notice"
tern resume node3 || fail "resume node3"
wait_for 5 sh -c "tern nodes | grep -qE '^node3 +UP'" || fail "node3 not UP after resume: $(tern nodes)"
a=$(tern submit --parsable -c 2 -- sleep 30) || fail "submit a"
b=$(tern submit --parsable -c 2 -- sleep 30) || fail "submit b"
c=$(tern submit --parsable -c 2 -- sleep 30) || fail "submit c"
wait_for 10 state_is "$b" R || fail "job $b not running"
sleep 0.5
state_is "$c" PD || fail "non-preemptible job $c is $(job_state "$c") with only node3 (spot) free"
tern nodes | grep -E "^node3 .* - " >/dev/null || fail "something runs on node3: $(tern nodes)"
p=$(tern submit --parsable -c 2 --preemptible -- sh -c \
    'trap "echo got USR1 on $TERN_NODE_NAME; exit 75" USR1; [ "$TERN_ATTEMPT" = 0 ] || exit 0; echo up; while :; do sleep 0.1; done') \
    || fail "submit p"
wait_for 10 state_is "$p" R || fail "preemptible job $p did not start on node3: $(tern show "$p")"
tern show "$p" | grep -q "NodeList=node3" || fail "job $p not on node3"
expect_error "a non-preemptible job needing the spot node" "spot nodes take only --preemptible jobs" \
    tern submit -N 3 -c 2 -- true
ok "spot node3 took only the --preemptible job; job $c waits (Resources)"

# 3. tern preempt: the same path as a cloud's notice.
wait_for 10 sh -c "tern logs $p | grep -q up" || fail "job $p not up"
tern preempt node3 --in 20 --reason "maintenance" || fail "tern preempt"
wait_for 10 sh -c "tern logs $p | grep -q 'got USR1 on node3'" || fail "no USR1: $(tern logs "$p")"
tern cancel "$a" "$b" "$c" >/dev/null
tern wait "$p" --timeout 30 >/dev/null || fail "job $p after tern preempt: $(tern show "$p")"
tern show "$p" | grep -q "Attempt=0 State=PR .*Nodes=node3" || fail "job $p attempt 0: $(tern show "$p")"
tern show "$p" | grep -q "Attempt=1 State=CD .*Nodes=node[12] " || fail "job $p attempt 1: $(tern show "$p")"
tern nodes | grep -E "^node3 +PREEMPTING .*tern preempt, 20 s notice: maintenance" >/dev/null \
    || fail "node3: $(tern nodes)"
expect_error "tern preempt of an unknown node" "no node 'node9'" tern preempt node9
expect_error "tern preempt --in 0" "--in '0'" tern preempt node1 --in 0
ok "tern preempt node3: its job got USR1, exited 75 and finished on another node"

# 3b. During a preemption: a job cancelled is not requeued; a job whose
#     ranks all finish well is done.
tern resume node3 || fail "resume node3"
wait_for 5 sh -c "tern nodes | grep -qE '^node3 +UP'" || fail "node3 not UP"
stubborn='trap "echo ignoring USR1" USR1; trap "exit 143" TERM; echo up; while :; do sleep 0.1; done'
x=$(tern submit --parsable -N 3 --preemptible -- sh -c "$stubborn") || fail "submit x"
wait_for 10 sh -c "tern logs $x | grep -c up | grep -q 3" || fail "job $x not up"
tern preempt node3 --in 60 || fail "tern preempt"
wait_for 5 state_is "$x" PR || fail "job $x is $(job_state "$x"), expected PR"
tern cancel "$x" || fail "cancel during PR"
wait_for 15 state_is "$x" CA || fail "job $x is $(job_state "$x") after cancel during PR: $(tern show "$x")"
tern show "$x" | grep -q "Attempt=1" && fail "cancelled job $x was requeued: $(tern show "$x")"
tern resume node3 || fail "resume node3"
wait_for 5 sh -c "tern nodes | grep -qE '^node3 +UP'" || fail "node3 not UP"
y=$(tern submit --parsable -N 3 --preemptible -- sh -c \
    'trap "echo finishing; exit 0" USR1; echo up; while :; do sleep 0.1; done') || fail "submit y"
wait_for 10 sh -c "tern logs $y | grep -c up | grep -q 3" || fail "job $y not up"
tern preempt node3 --in 60 || fail "tern preempt"
tern wait "$y" --timeout 20 >/dev/null || fail "job $y: $(tern show "$y")"
tern show "$y" | grep -q "Attempt=1" && fail "job $y ran again although every rank finished: $(tern show "$y")"
tern resume node3 || fail "resume node3"
ok "cancel during a preemption ends the job CA; ranks that all exit 0 when warned end it CD"

# 4. SIGTERM to a spot worker: a notice; the worker leaves once its ranks are gone.
tern resume node3 || fail "resume node3"
wait_for 5 sh -c "tern nodes | grep -qE '^node3 +UP'" || fail "node3 not UP"
q=$(tern submit --parsable -N 3 --preemptible -- sh -c \
    'trap "echo got USR1 on $TERN_NODE_NAME; exit 75" USR1; [ "$TERN_ATTEMPT" = 0 ] || exit 0; echo up; while :; do sleep 0.1; done') \
    || fail "submit q"
wait_for 10 sh -c "tern logs $q | grep -c up | grep -q 3" || fail "job $q not up: $(tern logs "$q")"
spot=$(sed -n 's/^worker=node3 //p' "$T/.tern/cluster")
kill -TERM "$spot"
wait_for 10 sh -c "tern logs $q | grep -c 'got USR1' | grep -q 3" || fail "not every rank got USR1: $(tern logs "$q")"
wait_for 10 pids_gone <(echo "$spot") || fail "the spot worker did not leave"
wait_for 15 sh -c "tern show $q | grep -q 'Attempt=0 State=PR'" || fail "job $q: $(tern show "$q")"
state_is "$q" PD || fail "job $q is $(job_state "$q"), expected PD (3 nodes, one gone)"
tern show "$q" --json | grep -q '"reason": "Preempted"\|Resources' || fail "job $q reason: $(tern show "$q")"
grep -q "SIGTERM to the worker of a spot node" "$T/.tern/worker-node3.log" || fail "worker log: $(tail -5 "$T/.tern/worker-node3.log")"
ok "SIGTERM to spot worker node3: all 3 ranks of job $q got USR1, the worker left, the job is back in the queue"
up   # the spot machine comes back (a new worker process, no notice)
tern wait "$q" --timeout 30 >/dev/null || fail "job $q after node3 came back: $(tern show "$q")"
ok "a new worker on node3 registered UP; job $q ran its next attempt there"
