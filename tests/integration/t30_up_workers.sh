# tern up --workers N on an existing cluster starts or stops workers to make
# N: never one that runs a job, spot workers kept; options the running
# workers cannot change are refused with what to do instead.
. "$(dirname "$0")/lib.sh"

nodes_up() { [ "$(tern nodes | awk 'NR > 1 && $2 == "UP"' | wc -l)" -eq "$1" ]; }
names() { sed -n 's/^worker=\([^ ]*\) .*/\1/p' "$T/.tern/cluster" | tr '\n' ' '; }
spot_nodes() { tern nodes | awk '/spot=true/ { print $1 }' | sort | tr '\n' ' '; }
stopped_nodes() { tern nodes | awk '/stopped by tern up/ { print $1 }' | sort | tr '\n' ' '; }

up --workers 3 --cpus-per-worker 1 --spot-workers 2
[ "$(names)" = "node1 node2 node3 " ] || fail "workers $(names)"
up --workers 5
[ "$(names)" = "node1 node4 node5 node2 node3 " ] || fail "after growing: $(names)"
wait_for 20 nodes_up 5 || fail "5 nodes up: $(tern nodes)"
[ "$(spot_nodes)" = "node2 node3 " ] || fail "spot nodes: $(spot_nodes)"
ok "tern up --workers 5 started node4 and node5; node2 and node3 stay the spot workers"

# A job on node5 (the last on-demand worker): shrinking past it is refused.
id=$(tern submit --parsable -N 3 -- sleep 300) || fail "submit"
wait_for 20 state_is "$id" R || fail "job $id not running: $(job_state "$id")"
expect_error "shrink under a running job" "would stop node5, which runs job $id" \
    tern up --dir "$T/.tern" --workers 4
[ "$(names)" = "node1 node4 node5 node2 node3 " ] || fail "refused shrink changed workers: $(names)"
state_is "$id" R || fail "job $id $(job_state "$id") after a refused shrink"
ok "tern up --workers 4 refused while node5 runs job $id, which keeps running"

tern cancel "$id" && tern wait "$id" --timeout 30 2>/dev/null
pids=$(sed -n 's/^worker=node[45] //p' "$T/.tern/cluster")
up --workers 3
[ "$(names)" = "node1 node2 node3 " ] || fail "after shrinking: $(names)"
wait_for 10 pids_gone <(echo "$pids") || fail "node4's and node5's workers still run"
[ "$(stopped_nodes)" = "node4 node5 " ] || fail "node4 and node5 not drained: $(tern nodes)"
expect_error "fewer workers than spot ones" "keeps its 2 spot workers" \
    tern up --dir "$T/.tern" --workers 1
expect_error "changing the workers' CPUs" "--cpus-per-worker: the cluster" \
    tern up --dir "$T/.tern" --cpus-per-worker 2
up --cpus-per-worker 1 --spot-workers 2
ok "tern up --workers 3 stopped node4 and node5 (drained), the spot workers kept"

# Growing again brings node4 back, undrained, and it runs work.
up --workers 4
[ "$(names)" = "node1 node4 node2 node3 " ] || fail "regrown: $(names)"
wait_for 20 nodes_up 4 || fail "4 nodes up after regrowing: $(tern nodes)"
id=$(tern submit --parsable -N 2 -- true) || fail "submit on 2"
tern wait "$id" --timeout 30 || fail "job $id on node1 and node4 did not complete"
ok "tern up --workers 4 brought node4 back UP; a job on node1 and node4 ran"
