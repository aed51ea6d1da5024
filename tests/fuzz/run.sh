#!/bin/sh
# Runs libFuzzer targets for a bounded time each, one after another:
#   tests/fuzz/run.sh DIR SECONDS NAME...
# DIR holds the programs fuzz_NAME. Each starts from its committed corpus,
# tests/fuzz/corpus/NAME, which it only reads: what it finds goes to a
# scratch directory (to grow the corpus, merge on purpose: see
# tests/fuzz/README.md). A crash, leak, sanitizer report, timeout or running
# out of memory fails the run, with the report and the input kept.
set -u
dir=$1
secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tern-fuzz.XXXXXX")
failed=""

for name in "$@"; do
    # Longest input: a message the size a job spec carries in practice,
    # scripts and config files past their 4 KiB line limits, typed values.
    case $name in
    envelope) max_len=65536 ;;
    directives | config) max_len=16384 ;;
    *) max_len=4096 ;;
    esac
    dict=
    [ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"
    mkdir -p "$scratch/$name/new" "$here/corpus/$name"
    log=$scratch/$name/log
    # stdin from /dev/null: a config naming /dev/stdin must not wait on a
    # terminal. timeout: libFuzzer ends the run itself; this is for a
    # fuzzer stuck outside an input (-timeout covers one input that hangs).
    # shellcheck disable=SC2086
    timeout -k 10 $((secs + 120)) "$dir/fuzz_$name" -max_total_time="$secs" \
        -max_len=$max_len -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$scratch/$name/" $dict "$scratch/$name/new" "$here/corpus/$name" \
        </dev/null >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    cov=$(printf '%s\n' "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s\n' "$done_line" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
    if [ $rc -ne 0 ] ||
       grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
        echo "fuzz_$name: FAILED (exit $rc) after ${runs:-?} runs; report:"
        # The report from its first line (the sanitizer's, or libFuzzer's
        # for a leak, timeout or OOM), 60 lines of it, and the input.
        awk '/ERROR: |runtime error:|==[0-9]+==/ { on = 1 }
             on && n < 60 { print; n++; next }
             on && /^(SUMMARY|MS: |artifact_prefix)/ { print }' "$log"
        ls "$scratch/$name"/crash-* "$scratch/$name"/leak-* "$scratch/$name"/timeout-* \
            "$scratch/$name"/oom-* 2>/dev/null | sed 's/^/  input: /'
        failed="$failed $name"
    else
        echo "fuzz_$name: ok, $runs runs in ${secs}s, cov $cov ft $ft, corpus $corp inputs"
        rm -rf "${scratch:?}/$name"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed (logs and inputs in $scratch)"
    exit 1
fi
rmdir "$scratch" 2>/dev/null
exit 0
