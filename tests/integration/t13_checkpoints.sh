# Checkpoints: a 2-rank save killed at each phase of the commit leaves the
# previous step or the new one, never a mixture; a damaged step is skipped
# with its reason and the one before loads; retention keeps exactly the
# newest K; train_mlp on 2 and 4 ranks, stopped by the preemption signal at
# a random step and resumed, ends with the uninterrupted run's bits, also
# when run by tern and warned by its time limit; a full disk fails one save
# clearly and training goes on.
. "$(dirname "$0")/lib.sh"

check="$TERN_TESTBIN/ckpt_check"
mlp="$TERN_BIN/train_mlp"
outs() { cat "$T"/rank-*.out "$T"/rank-*.err 2>/dev/null | tr '\n' ';'; }

# loads DIR STEP: both ranks load STEP, every byte of it that step's own.
loads() {
    ranks 2 "$check" load "$1" || fail "load of $1: $(outs)"
    [ "$(cat "$T"/rank-*.out | grep -c "loaded step $2\$")" -eq 2 ] \
        || fail "load of $1: wanted step $2: $(outs)"
}

# 1. A save killed at each phase (24 MiB shards, so that "mid-shard" is
#    halfway through a real write): the victim, and what loads after.
for c in "shard 1 10" "manifest 0 10" "rename 0 10" "latest 0 20"; do
    set -- $c
    phase=$1 victim=$2 want=$3 d="$T/crash-$1"
    ranks 2 "$check" save "$d" 10 100 || fail "first save: $(outs)"
    CKPT_CHECK_FAULT=$phase CKPT_CHECK_FAULT_RANK=$victim ranks 2 "$check" save "$d" 20 24576
    [ "$(echo "$RANK_STATUS" | cut -d' ' -f$((victim + 1)))" = 137 ] \
        || fail "$phase: rank $victim was not killed (exit statuses $RANK_STATUS): $(outs)"
    grep -q "error: save of step 20: rank $victim (pid [0-9]*) died" "$T/rank-$((1 - victim)).out" \
        || fail "$phase: the other rank did not report the death: $(outs)"
    [ "$phase" != latest ] || [ "$(cat "$d/LATEST")" = step-10 ] || fail "latest: LATEST moved"
    loads "$d" "$want"
    ranks 2 "$check" save "$d" 20 100 || fail "$phase: saving again: $(outs)"
    loads "$d" 20
    [ "$(cat "$d/LATEST")" = step-20 ] || fail "$phase: LATEST is $(cat "$d/LATEST")"
    ok "killed at '$phase' (rank $victim): step $want loads whole; saving again works"
done

# A rank whose own save cannot start (here: no data) fails the step on
# every rank together, sync and async, and the ranks' next saves still pair.
d="$T/together"
for mode in sync async; do
    CKPT_CHECK_NULL_RANK=1 ranks 2 "$check" save "$d" 30 64 $mode
    [ "$RANK_STATUS" = "1 1" ] || fail "$mode: exit statuses $RANK_STATUS: $(outs)"
    [ "$(cat "$T"/rank-*.out | grep -c 'error: save of step 30: rank 1: NULL data')" = 2 ] \
        || fail "$mode: not both ranks failed the step: $(outs)"
    said=$(head -n 1 "$T/rank-0.out")
done
ranks 2 "$check" series "$d" 2 3 && loads "$d" 3
ok "a rank that cannot save fails the step on every rank, sync and async ($said)"

# 2. Damage to the newest step: it is skipped, with the reason, for step 10.
d="$T/damage"
ranks 2 "$check" save "$d" 10 64 && ranks 2 "$check" save "$d" 20 64 || fail "saves: $(outs)"
cp -a "$d" "$d.good"
flip() { python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2]))
f.write(bytes([b[0] ^ 0x10]))' "$@"; }
for c in "flip shard-1-of-2:1000|rank 1: shard-1-of-2: checksum mismatch" \
         "truncate shard-1-of-2|shard-1-of-2: 65000 bytes, the manifest says 65573 (truncated)" \
         "remove shard-0-of-2|shard-0-of-2: missing" \
         "edit MANIFEST|MANIFEST: its own checksum does not match"; do
    how=${c%%|*} want=${c#*|}
    rm -rf "$d" && cp -a "$d.good" "$d"
    f="$d/step-20/$(echo "$how" | cut -d' ' -f2 | cut -d: -f1)"
    case "$how" in
        flip*) flip "$f" "${how##*:}" ;;
        truncate*) truncate -s 65000 "$f" ;;
        remove*) rm "$f" ;;
        edit*) sed -i 's/^step 20$/step 21/' "$f" ;;
    esac
    loads "$d" 10
    grep -qF "tern: checkpoint: step 20 skipped: $want" "$T/rank-0.err" \
        || fail "$how: rank 0 did not say why: $(outs)"
    ok "$how: step 20 skipped ($want), step 10 loaded"
done

# A replacement of step 20 that died between its two renames (file
# systems without an atomic exchange) left only step-20.old: it comes back.
rm -rf "$d" && cp -a "$d.good" "$d" && mv "$d/step-20" "$d/step-20.old"
loads "$d" 20
ok "step-20.old without step-20: put back and loaded"

# 3. Retention.
for keep in 2 3; do
    ranks 2 "$check" series "$T/keep-$keep" "$keep" 10 || fail "series: $(outs)"
    want="LATEST $(seq $((11 - keep)) 10 | sed 's/^/step-/' | sort | tr '\n' ' ')"
    got="$(ls "$T/keep-$keep" | sort | tr '\n' ' ')"
    [ "$got" = "$want" ] || fail "keep $keep: the directory holds '$got', wanted '$want'"
    ok "keep $keep over 10 saves: $got"
done

# 4. train_mlp: preempted at a random step, resumed, the same bits.
for n in 2 4; do
    ranks "$n" "$mlp" --steps 200 --log-every 0 || fail "train_mlp on $n ranks: $(outs)"
    want=$(sed -n 's/^weights //p' "$T/rank-0.out")
    [ -n "$want" ] || fail "no weights line: $(outs)"
    echo "$want" >"$T/weights-$n"
    d="$T/mlp-$n" k=$((20 + RANDOM % 150)) victim=$((RANDOM % n))
    sig=USR1
    [ "$n" = 4 ] && sig=USR2
    TERN_PREEMPT_SIGNAL=$sig ranks_start "$n" "$mlp" --steps 200 --ckpt-every 25 --async \
        --log-every 1 --step-delay-ms 5 --ckpt-dir "$d"
    wait_for 60 grep -q "^step $k loss" "$T/rank-0.out" || fail "$n ranks: never reached step $k: $(outs)"
    # 2 ranks: the default signal. 4 ranks: TERN_PREEMPT_SIGNAL=USR2 to
    # one rank and SIGTERM to another at once.
    pid() { echo $RANK_PIDS | cut -d' ' -f$(($1 + 1)); }
    if [ "$n" = 2 ]; then
        kill -USR1 "$(pid "$victim")"
    else
        kill -USR2 "$(pid "$victim")"
        kill -TERM "$(pid $(((victim + 1) % n)))"
    fi
    ranks_wait 60
    [ "$RANK_STATUS" = "$(printf '75 %.0s' $(seq "$n") | sed 's/ $//')" ] \
        || fail "$n ranks: exit statuses $RANK_STATUS, wanted 75 from each: $(outs)"
    saved=$(sed -n 's/^preempted: saved step \([0-9]*\);.*/\1/p' "$T/rank-0.out")
    [ -n "$saved" ] && [ "$saved" -ge "$k" ] || fail "$n ranks: no save at the signal: $(outs)"
    [ "$(cat "$d/LATEST")" = "step-$saved" ] || fail "$n ranks: LATEST is $(cat "$d/LATEST")"
    ranks "$n" "$mlp" --steps 200 --ckpt-every 25 --async --log-every 0 --ckpt-dir "$d" \
        || fail "$n ranks: resume: $(outs)"
    grep -q "^resumed from step $saved\$" "$T/rank-0.out" || fail "$n ranks: did not resume at $saved: $(outs)"
    got=$(sed -n 's/^weights //p' "$T/rank-0.out")
    [ "$got" = "$want" ] || fail "$n ranks: weights $got after the resume, $want without a stop"
    ok "train_mlp, $n ranks: SIG$sig to rank $victim at step $k, saved step $saved, resumed: weights $got, bit for bit"
done

# 5. Under tern: the time limit's warning (--signal USR1@2) is the notice;
#    the job saves, exits 75 and tern requeues it (a warned stop, not a
#    failure: no restart counted); the next attempt resumes to the bits of a
#    run never stopped.
ranks 2 "$mlp" --steps 300 --log-every 0 || fail "train_mlp 300 steps: $(outs)"
whole=$(sed -n 's/^weights //p' "$T/rank-0.out")
up --workers 2
export TERN_SCHEDULER=$(sed -n 's/^scheduler=//p' "$T/.tern/cluster")
train="$mlp --steps 300 --ckpt-every 50 --async --log-every 0"
id=$(tern submit --parsable -N 2 -t 0:03 --signal USR1@2 --max-restarts 0 \
     --checkpoint-dir "$T/tern-ckpt" -- $train --step-delay-ms 10) || fail "submit"
tern wait "$id" --timeout 60 >/dev/null || fail "the warned job: $(tern show "$id" | tr '\n' ';')"
show=$(tern show "$id")
echo "$show" | grep -q "Attempt=0 State=PR .*asked to be requeued" || fail "attempt 0 not PR: $show"
echo "$show" | grep -q "Restarts=0" || fail "a warned requeue counted as a restart: $show"
# (each attempt has 3 s: a slow machine may see more than one warning)
saved=$(tern logs "$id" --rank 0 | sed -n 's/^preempted: saved step \([0-9]*\).*/\1/p' | xargs)
from=$(tern logs "$id" --rank 0 | sed -n 's/.*resumed from step //p' | xargs)
got=$(tern logs "$id" --rank 0 | sed -n 's/.*weights //p')
[ -n "$from" ] && [ "$from" = "$saved" ] && [ "$got" = "$whole" ] \
    || fail "under tern: saved '$saved', resumed from '$from', weights $got, wanted $whole"
ok "under tern: warned by the time limit, saved step(s) $saved, exit 75, requeued, resumed there: weights $got, bit for bit"

# 6. A full disk.
mkdir -p "$T/small" "$T/tiny"
if ! mount -t tmpfs -o size=4m tmpfs "$T/small" 2>/dev/null; then
    echo "SKIP: cannot mount a small tmpfs here (needs root); the full-disk path is untested"
    exit 0
fi
MOUNTS="$T/small"
ranks 2 "$check" fill "$T/small/ckpt" 256 3072 || fail "fill: $(outs)"
grep -q "error: save of step 2: rank [01]: shard-[01]-of-2: reserving [0-9]* bytes: No space left on device" \
    "$T/rank-0.out" || fail "no clear error for the full disk: $(outs)"
ok "disk full: $(grep error "$T/rank-0.out" | head -n 1)"
[ ! -e "$T/small/ckpt/step-2.tmp" ] || fail "the failed save left step-2.tmp behind"
loads "$T/small/ckpt" 3
ok "after it, step 3 saved and loads"

mount -t tmpfs -o size=16k tmpfs "$T/tiny" || fail "mount"
MOUNTS="$MOUNTS $T/tiny"
ranks 2 "$mlp" --steps 200 --ckpt-every 50 --log-every 0 --ckpt-dir "$T/tiny/ckpt" \
    || fail "train_mlp with no room for checkpoints: $(outs)"
grep -q "checkpoint: save of step 50: .*No space left on device" "$T/rank-0.err" \
    || fail "train_mlp: no clear error: $(outs)"
got=$(sed -n 's/^weights //p' "$T/rank-0.out")
[ "$got" = "$(cat "$T/weights-2")" ] || fail "train_mlp went on with other bits: $got"
ok "train_mlp with no room for a checkpoint trains on to the same weights ($(head -n 1 "$T/rank-0.err"))"
