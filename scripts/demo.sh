#!/usr/bin/env bash
# make demo: a local cluster of two workers runs a 2-node x 2-rank job
# whose ranks print the environment tern gives them; the queue and the
# output are shown, then the cluster stops.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$here/bin:$PATH"
unset TERN_SCHEDULER
dir=$(mktemp -d "${TMPDIR:-/tmp}/tern-demo.XXXXXX")
cleanup() {
    tern down --dir "$dir/.tern" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
cd "$dir"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

run tern up --workers 2
run tern nodes

rankcmd='echo "rank $RANK of $WORLD_SIZE: local rank $LOCAL_RANK of $LOCAL_WORLD_SIZE on $TERN_NODE_NAME (node rank $GROUP_RANK), master $MASTER_ADDR:$MASTER_PORT, cpus $TERN_CPUS, attempt $TERN_ATTEMPT"; sleep 2'
say "tern submit -N 2 --ntasks-per-node 2 -J hello -- sh -c '<print the rank environment; sleep 2>'"
id=$(tern submit --parsable -N 2 --ntasks-per-node 2 -J hello -- sh -c "$rankcmd")
echo "Submitted job $id"
sleep 0.5
run tern queue
run tern wait "$id"
run tern logs "$id"
run tern show "$id"
run tern queue --all
run tern down --dir "$dir/.tern"
