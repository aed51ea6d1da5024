#!/usr/bin/env bash
# make demo: a local cluster of two workers runs a 2-node x 2-rank job
# whose ranks print the environment tern gives them; then train_mlp trains
# on both nodes with checkpoints, is warned of the end of its time limit
# (SIGUSR1, as SLURM's --signal does), saves that step and exits 75; run
# again it resumes there and ends with the same weights, bit for bit, as a
# run that was never stopped. Then the cluster stops.
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

train="train_mlp --steps 300 --ckpt-every 50 --async --log-every 50"
say "tern submit -N 2 -J mlp -t 0:04 --signal USR1@2 --checkpoint-dir ckpt -- $train --step-delay-ms 10"
id=$(tern submit --parsable -N 2 -J mlp -t 0:04 --signal USR1@2 --checkpoint-dir ckpt -- \
     $train --step-delay-ms 10)
echo "Submitted job $id: a 4 s limit, the warning 2 s before it"
say "tern wait $id"
tern wait "$id" || echo "(exit $?: saved and asked to be requeued)"
run tern logs "$id" --rank 0
run ls ckpt
run cat ckpt/LATEST
say "tern submit -N 2 -J mlp --checkpoint-dir ckpt -- $train    # the same job again"
id=$(tern submit --parsable -N 2 -J mlp --checkpoint-dir ckpt -- $train)
tern wait "$id"
run tern logs "$id" --rank 0
resumed=$(tern logs "$id" --rank 0 | sed -n 's/.*weights //p')
say "tern submit -N 2 -J mlp-whole -- $train    # never stopped, no checkpoints"
id=$(tern submit --parsable -N 2 -J mlp-whole -- $train)
tern wait "$id"
whole=$(tern logs "$id" --rank 0 | sed -n 's/.*weights //p')
echo "weights after the stop and resume: $resumed"
echo "weights of the run never stopped:  $whole"
[ -n "$whole" ] && [ "$resumed" = "$whole" ] && echo "identical: no step was lost or changed by the preemption"
run tern down --dir "$dir/.tern"
