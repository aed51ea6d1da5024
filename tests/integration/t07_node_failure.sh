# A worker killed with -9: its ranks die with it, the scheduler declares the
# node down after missing heartbeats, tears the gang down on the other node
# and, with --max-restarts 0, ends the job NF (restarts: t15). A restarted
# worker brings the node back and kills what the ranks left behind. Drain and resume keep jobs off a node and let
# them back; a drain outlives the node going down.
. "$(dirname "$0")/lib.sh"

up --workers 2
mkdir -p "$T/pids" "$T/children"
# Each rank leaves a child of its own in the background, as scripts do.
id=$(tern submit --parsable -N 2 --ntasks-per-node 2 --max-restarts 0 -- sh -c \
    'sleep 300 & echo $! > '"$T"'/children/$RANK.$TERN_NODE_NAME; echo $$ > '"$T"'/pids/$RANK.$TERN_NODE_NAME; wait') \
    || fail "submit"
wait_for 20 count_is "$T/pids" 4 || fail "ranks did not start"
wait_for 20 count_is "$T/children" 4 || fail "children did not start"
victim=$(sed -n 's/^worker=node1 //p' "$T/.tern/cluster")
kill -9 "$victim"
wait_for 5 pids_gone "$T"/pids/*.node1 || fail "node1's ranks outlived their worker"
wait_for 15 state_is "$id" NF || fail "job $id is $(job_state "$id"), expected NF"
wait_for 3 pids_gone "$T"/pids/*.node2 || fail "node2's ranks still alive after the job ended"
tern nodes | grep -E "^node1 +DOWN" >/dev/null || fail "node1 not DOWN: $(tern nodes)"
tern show "$id" | grep -q "Reason=ranks lost on node1: no heartbeat for .* ms (--max-restarts 0)" \
    || fail "reason: $(tern show "$id" | grep Reason)"
ok "worker node1 killed: job $id NF, node1 DOWN, ranks on node2 torn down"

up   # restarts the dead worker
wait_for 10 sh -c "tern nodes | grep -E '^node1 +UP'" || fail "node1 did not come back"
wait_for 5 pids_gone "$T"/children/*.node1 || fail "children of node1's ranks outlived the worker restart: $(for p in $(cat "$T"/children/*.node1); do ps -o pid=,stat=,args= -p $p; done; tail -3 "$T/.tern/worker-node1.log")"
ok "the restarted worker killed the children node1's ranks left behind"
tern drain node2 --reason maintenance || fail "drain"
tern nodes | grep -E "^node2 +DRAIN .*maintenance" >/dev/null || fail "node2 not drained: $(tern nodes)"
two=$(tern submit --parsable -N 2 true) || fail "submit 2-node"
sleep 0.5
state_is "$two" PD || fail "2-node job ran on a drained cluster"
tern resume node2 || fail "resume"
tern wait "$two" --timeout 30 || fail "job $two after resume"
ok "node1 back up; a 2-node job waited while node2 drained and ran after resume"

# A drain survives the node going down and coming back.
tern drain node1 --reason "bad fan" || fail "drain node1"
victim=$(sed -n 's/^worker=node1 //p' "$T/.tern/cluster")
kill -9 "$victim"
wait_for 15 sh -c "tern nodes | grep -qE '^node1 +DOWN'" || fail "node1 not DOWN"
up   # a cluster with a drained node is up all the same
wait_for 10 sh -c "tern nodes | grep -qE '^node1 +DRAIN .*bad fan'" || fail "drain lost: $(tern nodes)"
ok "node1 drained, down, back: still DRAIN (bad fan)"
tern resume node1 || fail "resume node1"

# A node that goes away after its ranks finished well costs the job nothing.
rm -f "$T"/pids/*
id=$(tern submit --parsable -N 2 -- sh -c \
    'echo $$ > '"$T"'/pids/$TERN_NODE_NAME; [ "$TERN_NODE_RANK" = 0 ] || sleep 7') || fail "submit"
wait_for 10 count_is "$T/pids" 2 || fail "ranks did not start"
first=$(tern show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes"][0])')
wait_for 10 pids_gone "$T/pids/$first" || fail "rank 0 did not finish"
sleep 0.5
victim=$(sed -n "s/^worker=$first //p" "$T/.tern/cluster")
kill -9 "$victim"
tern wait "$id" --timeout 30 || fail "job $id ended $(job_state "$id"), expected CD"
ok "job $id completed although $first went away after its rank exited 0"
