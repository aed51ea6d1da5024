# Restarts of a training job. (1) kill -9 of a worker in mid-training: the
# other ranks fail at once, the node is declared down after the heartbeat
# timeout, the job is requeued NF -> PD (restart 1 of --max-restarts) on
# nodes that avoid the dead one and resumes from its last checkpoint to the
# bits of a run never stopped. (2) SIGSTOP of a worker past the timeout:
# the job runs on elsewhere while its stale ranks, cut off, go on; they may
# no longer commit (LATEST never goes backwards), and when the worker
# wakes it kills them. (3) kill -9 of ternd in mid-training: the job
# completes once, in its first attempt.
. "$(dirname "$0")/lib.sh"

mlp="$TERN_BIN/train_mlp"
train="$mlp --steps 300 --ckpt-every 25 --async --log-every 25"

never_stopped 2 $train
whole2=$NEVER_STOPPED

up --workers 3 --cpus-per-worker 2

# 1. A worker killed in mid-training.
id=$(tern submit --parsable -N 2 --checkpoint-dir "$T/ckpt1" -- $train --step-delay-ms 15) \
    || fail "submit"
wait_for 20 sh -c "tern logs $id --rank 0 | grep -q '^step 75 '" || fail "training did not start: $(tern logs "$id")"
victim_node=$(tern show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes"][1])')
victim=$(sed -n "s/^worker=$victim_node //p" "$T/.tern/cluster")
kill -9 "$victim"
wait_for 20 sh -c "tern show $id | grep -q 'Attempt=1 State=R'" || fail "not restarted: $(tern show "$id")"
show=$(tern show "$id")
echo "$show" | grep -q "Attempt=0 State=NF .*Reason=ranks lost on $victim_node: no heartbeat" \
    || fail "attempt 0: $show"
echo "$show" | grep "Attempt=1 " | grep -q "$victim_node" && fail "attempt 1 placed on the dead node: $show"
tern wait "$id" --timeout 60 >/dev/null || fail "job $id: $(tern show "$id")"
log=$(tern logs "$id" --rank 0)
from=$(echo "$log" | sed -n 's/^resumed from step //p')
got=$(echo "$log" | sed -n 's/^weights //p')
[ -n "$from" ] && [ "$from" -ge 50 ] && [ $((from % 25)) = 0 ] || fail "resumed from '$from': $log"
[ "$got" = "$whole2" ] || fail "weights $got after the restart, $whole2 without one"
tern show "$id" | grep -q "Restarts=1 " || fail "restart not counted: $(tern show "$id")"
ok "worker $victim_node killed: job $id NF -> PD -> R on other nodes, resumed from step $from, weights $got, bit for bit"
up   # the node comes back

# 2. A worker stopped past the node timeout, then continued. On its node:
#    train_mlp (1 rank, checkpointing) and a job that never stops by itself.
ranks 1 $mlp --steps 400 --ckpt-every 25 --log-every 25 || fail "train_mlp 400"
whole=$(sed -n 's/^weights //p' "$T/rank-0.out")
id=$(tern submit --parsable -c 1 --checkpoint-dir "$T/ckpt2" -- \
     $mlp --steps 400 --ckpt-every 25 --log-every 25 --step-delay-ms 20) || fail "submit"
wait_for 20 sh -c "tern logs $id --rank 0 | grep -q '^step 50 '" || fail "training did not start: $(tern logs "$id")"
node=$(tern show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes"][0])')
mkdir -p "$T/sleepers"
sl=$(tern submit --parsable -c 1 -- sh -c \
     'echo $$ > '"$T"'/sleepers/$TERN_ATTEMPT; while :; do sleep 0.1; done') || fail "submit"
wait_for 10 test -s "$T/sleepers/0" || fail "job $sl did not start"
tern show "$sl" | grep -q "NodeList=$node " || fail "job $sl not on $node beside job $id"
worker=$(sed -n "s/^worker=$node //p" "$T/.tern/cluster")
stale=$(pgrep -f "train_mlp --steps 400" | xargs)
[ -n "$stale" ] || fail "no rank found"
# Every change of LATEST, as the test sees it.
( while :; do cat "$T/ckpt2/LATEST" 2>/dev/null; sleep 0.01; done ) >"$T/latest.log" &
watcher=$!
PIDS="$PIDS $watcher"
kill -STOP "$worker"
wait_for 20 sh -c "tern show $id | grep -q 'Attempt=1 State=R'" || fail "not moved: $(tern show "$id")"
wait_for 10 test -s "$T/sleepers/1" || fail "job $sl did not move: $(tern show "$sl")"
alive "$(cat "$T/sleepers/0")" || fail "the stale sleeper died while its worker was stopped"
sleep 1   # the stale ranks run on, cut off; the new attempts own the job
kill -CONT "$worker"
wait_for 10 pids_gone "$T/sleepers/0" <(echo "$stale") || fail "stale ranks still alive after the worker woke"
grep -q "node=$node job=$sl attempt=0: stale attempt still running, killing" "$T/.tern/ternd.log" \
    || fail "no stale kill in ternd's log"
tern wait "$id" --timeout 60 >/dev/null || fail "job $id: $(tern show "$id")"
tern cancel "$sl" >/dev/null
kill "$watcher"
uniq "$T/latest.log" | sed 's/step-//' >"$T/latest.seq"
sort -n -c "$T/latest.seq" || fail "LATEST went backwards: $(tr '\n' ' ' <"$T/latest.seq")"
got=$(tern logs "$id" --rank 0 | sed -n 's/^weights //p')
[ "$got" = "$whole" ] || fail "weights $got, $whole without a stop"
ok "worker $node stopped past the timeout: jobs $id and $sl ran on elsewhere, the stale ranks were stopped when the worker woke, LATEST only went forward ($(head -n 1 "$T/latest.seq")..$(tail -n 1 "$T/latest.seq")), weights $got"

# 3. ternd killed in mid-training and restarted.
wait_for 10 sh -c "tern nodes | grep -c ' UP ' | grep -q 3" || fail "nodes: $(tern nodes)"
id=$(tern submit --parsable -N 2 --checkpoint-dir "$T/ckpt3" -- $train --step-delay-ms 10) || fail "submit"
wait_for 20 sh -c "tern logs $id --rank 0 | grep -q '^step 50 '" || fail "training did not start"
ternd_pid=$(sed -n 's/^ternd_pid=//p' "$T/.tern/cluster")
kill -9 "$ternd_pid"
sleep 1
up
tern wait "$id" --timeout 60 >/dev/null || fail "job $id after the scheduler restart: $(tern show "$id")"
show=$(tern show "$id")
echo "$show" | grep -q "Attempt=0 State=CD" && ! echo "$show" | grep -q "Attempt=1" || fail "$show"
[ "$(tern logs "$id" --rank 0 | grep -c '^weights ')" = 1 ] || fail "ran more than once: $(tern logs "$id")"
got=$(tern logs "$id" --rank 0 | sed -n 's/^weights //p')
[ "$got" = "$whole2" ] || fail "weights $got, $whole2 expected"
ok "ternd killed in mid-training and restarted: job $id completed once, in attempt 0, weights $got"

# 4. --fence-after: a worker that hears nothing from ternd for that long
#    stops its ranks by itself (ternd moves them after --node-timeout);
#    workers without it keep theirs through a scheduler outage.
wep=$(sed -n 's/^worker_endpoint=//p' "$T/.tern/cluster")
tern-worker --scheduler "$wep" --name fenced --addr 127.0.0.1 --cpus 2 --fence-after 2 \
    --key "$T/.tern/keys/worker.key" --server-key "$(server_key)" 2>"$T/worker-fenced.log" &
PIDS="$PIDS $!"
wait_for 10 sh -c "tern nodes | grep -qE '^fenced +UP'" || fail "worker 'fenced' did not register"
mkdir -p "$T/fpids"
f=$(tern submit --parsable -N 4 -c 2 -- sh -c 'echo $$ > '"$T"'/fpids/$TERN_NODE_NAME; exec sleep 300') \
    || fail "submit"
wait_for 10 count_is "$T/fpids" 4 || fail "job $f did not start on 4 nodes"
ternd_pid=$(sed -n 's/^ternd_pid=//p' "$T/.tern/cluster")
kill -STOP "$ternd_pid"
wait_for 6 pids_gone "$T/fpids/fenced" || { kill -CONT "$ternd_pid"; fail "the fenced worker kept its rank"; }
for n in node1 node2 node3; do
    alive "$(cat "$T/fpids/$n")" || { kill -CONT "$ternd_pid"; fail "$n's rank died with ternd silent"; }
done
kill -CONT "$ternd_pid"
grep -q "no word from the scheduler for .* ms: stopping every rank" "$T/worker-fenced.log" \
    || fail "worker log: $(tail -3 "$T/worker-fenced.log")"
wait_for 15 sh -c "tern show $f | grep -q 'Attempt=0 State=NF .*Reason=ranks lost on fenced: its worker heard nothing'" \
    || fail "job $f: $(tern show "$f")"
tern cancel "$f" >/dev/null
ok "ternd silent 2 s: the --fence-after worker stopped its rank (counted lost with the node: NF, requeued), the others kept theirs"
