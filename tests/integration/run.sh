#!/usr/bin/env bash
# Runs every integration scenario (tNN_*.sh), each with a time limit.
# Usage: tests/integration/run.sh [NAME-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
pattern=${1:-}
pass=0
failed=""
for t in "$here"/t[0-9]*.sh; do
    name=$(basename "$t" .sh)
    case "$name" in *"$pattern"*) ;; *) continue ;; esac
    start=$(date +%s)
    log=$(mktemp)
    if timeout -k 5 600 bash "$t" >"$log" 2>&1; then
        pass=$((pass + 1))
        echo "PASS $name ($(( $(date +%s) - start )) s)"
    else
        failed="$failed $name"
        echo "FAIL $name ($(( $(date +%s) - start )) s)"
        sed 's/^/    /' "$log"
    fi
    rm -f "$log"
done
echo "integration: $pass passed${failed:+, failed:$failed}"
[ -z "$failed" ]
