#!/usr/bin/env bash
# Runs the integration scenarios (tNN_*.sh), each with a time limit, up to
# $TERN_TEST_JOBS at once (default 2; 1 runs them one by one). Each is a
# cluster of its own in a temporary directory on loopback with ephemeral
# ports, so they can share the machine; the longest start first.
# Usage: tests/integration/run.sh [NAME-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
pattern=${1:-}
jobs=${TERN_TEST_JOBS:-2}
# The slowest, started first so that the rest fill the other slots.
first="t12_collectives t16_policy t15_restarts t07_node_failure t05_bad_input t13_checkpoints
       t10_burst_and_paging t18_slurm_allocation"

names=""
for n in $first; do [ -f "$here/$n.sh" ] && names="$names $n"; done
for t in "$here"/t[0-9]*.sh; do
    n=$(basename "$t" .sh)
    case " $names " in *" $n "*) ;; *) names="$names $n" ;; esac
done

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
run_one() {
    local name=$1 start rc
    start=$(date +%s)
    timeout -k 5 600 bash "$here/$name.sh" >"$results/$name.log" 2>&1
    rc=$?
    echo "$rc $(( $(date +%s) - start ))" >"$results/$name.rc"
}
report() {
    local name=$1 rc secs
    read -r rc secs <"$results/$name.rc"
    if [ "$rc" -eq 0 ]; then
        echo "PASS $name ($secs s)"
    else
        echo "FAIL $name ($secs s)"
        sed 's/^/    /' "$results/$name.log"
    fi
}

start=$(date +%s)
running=0
for name in $names; do
    case "$name" in *"$pattern"*) ;; *) continue ;; esac
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$name" &
    running=$((running + 1))
    # Report whatever has finished meanwhile, in the order it finished.
    for f in "$results"/*.rc; do
        [ -e "$f" ] || continue
        n=$(basename "$f" .rc)
        [ -e "$results/$n.done" ] && continue
        report "$n"
        touch "$results/$n.done"
    done
done
wait
pass=0
failed=""
for name in $names; do
    [ -e "$results/$name.rc" ] || continue
    [ -e "$results/$name.done" ] || report "$name"
    read -r rc _ <"$results/$name.rc"
    if [ "$rc" -eq 0 ]; then pass=$((pass + 1)); else failed="$failed $name"; fi
done
echo "integration: $pass passed${failed:+, failed:$failed} in $(( $(date +%s) - start )) s" \
     "($jobs at once)"
[ -z "$failed" ]
