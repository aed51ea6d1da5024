# A worker killed with -9: its ranks die with it, the scheduler declares the
# node down after missing heartbeats, tears the gang down on the other node
# and ends the job NF. A restarted worker brings the node back. Drain and
# resume keep jobs off a node and let them back.
. "$(dirname "$0")/lib.sh"

up --workers 2
mkdir -p "$T/pids"
id=$(tern submit --parsable -N 2 --ntasks-per-node 2 -- sh -c \
    'echo $$ > '"$T"'/pids/$RANK.$TERN_NODE_NAME; exec sleep 300') || fail "submit"
wait_for 20 count_is "$T/pids" 4 || fail "ranks did not start"
victim=$(sed -n 's/^worker=node1 //p' "$T/.tern/cluster")
kill -9 "$victim"
wait_for 5 pids_gone "$T"/pids/*.node1 || fail "node1's ranks outlived their worker"
wait_for 15 state_is "$id" NF || fail "job $id is $(job_state "$id"), expected NF"
wait_for 3 pids_gone "$T"/pids/*.node2 || fail "node2's ranks still alive after the job ended"
tern nodes | grep -E "^node1 +DOWN" >/dev/null || fail "node1 not DOWN: $(tern nodes)"
tern show "$id" | grep -q "ranks lost on node1" || fail "reason: $(tern show "$id" | grep Reason)"
ok "worker node1 killed: job $id NF, node1 DOWN, ranks on node2 torn down"

up   # restarts the dead worker
wait_for 10 sh -c "tern nodes | grep -E '^node1 +UP'" || fail "node1 did not come back"
tern drain node2 --reason maintenance || fail "drain"
tern nodes | grep -E "^node2 +DRAIN .*maintenance" >/dev/null || fail "node2 not drained: $(tern nodes)"
two=$(tern submit --parsable -N 2 true) || fail "submit 2-node"
sleep 0.5
state_is "$two" PD || fail "2-node job ran on a drained cluster"
tern resume node2 || fail "resume"
tern wait "$two" --timeout 30 || fail "job $two after resume"
ok "node1 back up; a 2-node job waited while node2 drained and ran after resume"
