#!/usr/bin/env bash
# make demo: a local cluster of three workers, node3 a spot node whose
# worker polls a cloud metadata endpoint (served on loopback, as AWS serves
# it). A 2-node x 2-rank job prints the environment tern gives its ranks.
# Then train_mlp trains data-parallel on two nodes, one of them the spot
# node; in mid-training the endpoint announces that node3 will be taken
# away: the job saves the step it is at, moves to the on-demand nodes and
# resumes there, and ends with the same weights, bit for bit, as a run that
# was never stopped. Last, the cluster's authentication (on by default):
# a key it does not know is refused. Then the cluster stops.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$here/bin:$PATH"
unset TERN_SCHEDULER
dir=$(mktemp -d "${TMPDIR:-/tmp}/tern-demo.XXXXXX")
server=""
cleanup() {
    tern down --dir "$dir/.tern" >/dev/null 2>&1 || true
    [ -n "$server" ] && kill "$server" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
cd "$dir"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

# The cloud's instance metadata endpoint, on loopback: no notice until the
# file 'notice' appears.
python3 "$here/scripts/metadata_server.py" md.port notice 2>metadata.log &
server=$!
for _ in $(seq 100); do [ -s md.port ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat md.port)/latest/meta-data/spot/instance-action"
run tern up --workers 3 --spot-workers 1 --notice-url "$url"
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

train="train_mlp --steps 600 --ckpt-every 100 --async --log-every 50"
say "tern submit -N 2 --preemptible -J mlp --checkpoint-dir ckpt -- $train --step-delay-ms 10"
id=$(tern submit --parsable -N 2 --preemptible -J mlp --checkpoint-dir ckpt -- \
     $train --step-delay-ms 10)
echo "Submitted job $id: --preemptible, so it goes to the spot node first"
sleep 0.3
run tern show "$id"
say "tern logs -f $id --rank 0 &    # the loss as it goes"
tern logs -f "$id" --rank 0 &
follower=$!
for _ in $(seq 200); do tern logs "$id" --rank 0 2>/dev/null | grep -q '^step 200 ' && break; sleep 0.05; done
say "echo 30 > notice    # the cloud: node3 will be terminated in 30 s"
echo 30 >notice
sleep 0.5
run tern nodes
say "tern wait $id"
tern wait "$id"
wait "$follower"
run tern show "$id"
moved=$(tern logs "$id" --rank 0 | sed -n 's/^weights //p')
say "tern submit -N 2 -J mlp-whole -- $train    # never stopped, no checkpoints"
id=$(tern submit --parsable -N 2 -J mlp-whole -- $train)
tern wait "$id"
whole=$(tern logs "$id" --rank 0 | sed -n 's/^weights //p')
echo "weights after the spot notice and the move: $moved"
echo "weights of the run never stopped:           $whole"
[ -n "$whole" ] && [ "$moved" = "$whole" ] && echo "identical: the preemption cost no step and changed no bit"
say "tern keygen -o stranger.key; TERN_KEY=stranger.key tern submit -- true    # keys tern up did not make"
tern keygen -o stranger.key
TERN_KEY=stranger.key tern submit -- true || echo "(refused, as it should be: .tern/keys/authorized_keys lists who may connect)"
run tern down --dir "$dir/.tern"
