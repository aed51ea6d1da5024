# A 2-node x 2-task job on two local workers: every rank gets the torchrun
# environment, with the ranks of one node on that node.
. "$(dirname "$0")/lib.sh"

up --workers 2 --gpus-per-worker 2
id=$(tern submit --parsable -N 2 --ntasks-per-node 2 --gpus-per-node 2 -o "$T/out/rank-%t.txt" \
     -- sh -c 'env | grep -E "^(RANK|WORLD_SIZE|LOCAL_RANK|LOCAL_WORLD_SIZE|GROUP_RANK|MASTER_ADDR|MASTER_PORT|TERN_[A-Z_]+|CUDA_VISIBLE_DEVICES)=" | sort') \
    || fail "submit"
tern wait "$id" --timeout 60 || fail "job $id did not complete"
state_is "$id" CD || fail "job $id state $(job_state "$id")"

nodes=$(tern show "$id" --json | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["nodes"]))')
set -- $nodes
[ $# -eq 2 ] && [ "$1" != "$2" ] || fail "job should span two nodes, got '$nodes'"

get() { sed -n "s/^$2=//p" "$T/out/rank-$1.txt"; }
master="$(get 0 MASTER_ADDR):$(get 0 MASTER_PORT)"
for r in 0 1 2 3; do
    [ -s "$T/out/rank-$r.txt" ] || fail "no output for rank $r"
    [ "$(get $r RANK)" = "$r" ] || fail "rank $r: RANK=$(get $r RANK)"
    [ "$(get $r WORLD_SIZE)" = 4 ] || fail "rank $r: WORLD_SIZE=$(get $r WORLD_SIZE)"
    [ "$(get $r LOCAL_RANK)" = $((r % 2)) ] || fail "rank $r: LOCAL_RANK=$(get $r LOCAL_RANK)"
    [ "$(get $r LOCAL_WORLD_SIZE)" = 2 ] || fail "rank $r: LOCAL_WORLD_SIZE"
    [ "$(get $r GROUP_RANK)" = $((r / 2)) ] || fail "rank $r: GROUP_RANK=$(get $r GROUP_RANK)"
    [ "$(get $r TERN_NODE_RANK)" = $((r / 2)) ] || fail "rank $r: TERN_NODE_RANK"
    [ "$(get $r TERN_NNODES)" = 2 ] || fail "rank $r: TERN_NNODES"
    [ "$(get $r TERN_JOB_ID)" = "$id" ] || fail "rank $r: TERN_JOB_ID"
    [ "$(get $r TERN_ATTEMPT)" = 0 ] || fail "rank $r: TERN_ATTEMPT"
    [ "$(get $r TERN_PREEMPT_SIGNAL)" = SIGUSR1 ] || fail "rank $r: TERN_PREEMPT_SIGNAL"
    [ -n "$(get $r TERN_CHECKPOINT_DIR)" ] || fail "rank $r: TERN_CHECKPOINT_DIR empty"
    [ "$(get $r CUDA_VISIBLE_DEVICES)" = "0,1" ] || fail "rank $r: CUDA_VISIBLE_DEVICES=$(get $r CUDA_VISIBLE_DEVICES)"
    [ "$(get $r MASTER_ADDR):$(get $r MASTER_PORT)" = "$master" ] || fail "rank $r: master differs"
    # Ranks of node-rank k run on the k-th node of the job's node list.
    node=$(get $r TERN_NODE_NAME)
    want=$(echo "$nodes" | cut -d' ' -f$((r / 2 + 1)))
    [ "$node" = "$want" ] || fail "rank $r ran on $node, expected $want"
done
ok "4 ranks: RANK 0-3, WORLD_SIZE 4, LOCAL_RANK/GROUP_RANK right, master $master, nodes $nodes"

# The queue and node listings parse as JSON and agree.
tern queue --all --json | python3 -c '
import json, sys
jobs = json.load(sys.stdin)["jobs"]
assert any(j["id"] == int(sys.argv[1]) and j["state"] == "CD" for j in jobs), jobs' "$id" \
    || fail "queue --json"
tern nodes --json | python3 -c '
import json, sys
nodes = json.load(sys.stdin)["nodes"]
assert len(nodes) == 2 and all(n["state"] == "UP" and len(n["gpus"]) == 2 for n in nodes), nodes' \
    || fail "nodes --json"
ok "queue and nodes --json"
