# Scheduling policy on a cluster of two 2-CPU workers: backfill behind a
# reservation that never moves later, priority preemption of --preemptible
# jobs only (signal, checkpoint, requeue), fair share between two users,
# job arrays with a throttle, dependencies, partitions.
. "$(dirname "$0")/lib.sh"

ternd_local --kill-wait 2 --preempt-grace 30
two_workers "$T" --label partition=batch
nodes_up 2

# field JOB KEY: one value of 'tern show JOB --json'.
field() { tern show "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# 1. Backfill. A runs on node1 with a 60 s limit; B needs both nodes and
# waits for A: its reservation starts when A's limit ends it. C (20 s
# limit) fits in the hole on node2 and ends before B's start: it starts
# now. D (no limit) would delay B: it waits. B's start never moves later.
a=$(tern submit --parsable -t 1:00 --ntasks-per-node 2 -- sleep 6) || fail "submit A"
wait_for 10 state_is "$a" R || fail "A did not start"
b=$(tern submit --parsable -N 2 --ntasks-per-node 2 -t 1:00 -- sleep 1) || fail "submit B"
wait_for 10 sh -c "[ \$(tern show $b --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"est_start_ms\"])') -gt 0 ]" \
    || fail "B has no reservation: $(tern show "$b")"
est0=$(field "$b" est_start_ms)
astart=$(field "$a" start_ms)
[ "$est0" -ge $((astart + 60000)) ] && [ "$est0" -le $((astart + 63000)) ] \
    || fail "B's reservation $est0 is not A's start $astart + 60 s + the kill wait"
tern queue | grep -E "^ *$b .* PD .*\(Resources\)" >/dev/null || fail "B's reason: $(tern queue)"
c=$(tern submit --parsable -t 0:20 -- sleep 2) || fail "submit C"
d=$(tern submit --parsable -- sleep 1) || fail "submit D"
wait_for 10 state_is "$c" R || fail "C was not backfilled: $(tern queue)"
state_is "$d" PD || fail "D (no time limit) started ahead of B: $(tern queue)"
tern queue | grep -E "^ *$d .* PD .*\(Priority\)" >/dev/null || fail "D's reason: $(tern queue)"
grep -q "job=$c backfilled ahead of job=$b" "$T/ternd.log" || fail "no backfill in the log"
est1=$(field "$b" est_start_ms)
[ "$est1" -le "$est0" ] || fail "B's reservation moved later: $est0 -> $est1"
tern wait "$b" --timeout 60 >/dev/null || fail "B: $(tern show "$b")"
tern wait "$d" --timeout 30 >/dev/null || fail "D: $(tern show "$d")"
bstart=$(field "$b" start_ms)
[ "$bstart" -le "$est0" ] || fail "B started at $bstart, after its reservation $est0"
[ "$(field "$d" start_ms)" -ge "$bstart" ] || fail "D started before B"
[ "$(field "$c" start_ms)" -lt "$bstart" ] || fail "C did not start before B"
ok "backfill: C started in the hole, D (no limit) waited, B started at or before its reservation (never moved later)"

# 2. Preemption. P (--preemptible, trains with checkpoints) holds one node,
# N (not preemptible, same low priority) the other. H (priority 100)
# preempts P, never N: P gets its signal, saves, is requeued and resumes.
mlp="$TERN_BIN/train_mlp --steps 400 --ckpt-every 100 --async --log-every 10 --step-delay-ms 15"
p=$(tern submit --parsable --preemptible --ntasks-per-node 2 --checkpoint-dir "$T/ckpt" -- $mlp) \
    || fail "submit P"
wait_for 20 sh -c "tern logs $p --rank 0 | grep -q '^step 20 '" || fail "P did not train: $(tern logs "$p")"
n=$(tern submit --parsable --ntasks-per-node 2 -- sleep 300) || fail "submit N"
wait_for 10 state_is "$n" R || fail "N did not start: $(tern queue)"
h=$(tern submit --parsable --priority 100 --ntasks-per-node 2 -- sleep 1) || fail "submit H"
tern wait "$h" --timeout 60 >/dev/null || fail "H: $(tern show "$h")"
tern wait "$p" --timeout 90 >/dev/null || fail "P after preemption: $(tern show "$p")"
show=$(tern show "$p")
echo "$show" | grep -q "Attempt=0 State=PR .*Reason=preempted by job $h" || fail "P attempt 0: $show"
echo "$show" | grep -q "Restarts=0" || fail "the preemption counted as a restart: $show"
log=$(tern logs "$p" --rank 0)
echo "$log" | grep -q "^preempted: saved step" || fail "P did not save at the signal: $log"
echo "$log" | grep -q "^resumed from step" || fail "P did not resume: $log"
[ "$(field "$n" state)" = R ] && [ "$(field "$n" attempt)" = 0 ] || fail "N was touched: $(tern show "$n")"
tern cancel "$n" && tern wait "$n" --timeout 30 >/dev/null 2>&1
ok "H preempted P (signal, saved, requeued, resumed, no restart counted); N untouched"

# 3. Fair share. While a job holds the whole cluster, two users (made for
# the test: a root worker runs their jobs as them) submit 16 one-CPU jobs
# each, one after the other; once it ends their jobs share the four slots:
# until the first user is done, each has had half of the CPU-seconds,
# within 10 % (FIFO would give the first user all of them).
if ! can_make_users; then
    echo "skip - fair share: submitting as two other users: $MAKE_USER_SKIP"
else
    fs1=tern$$f1 fs2=tern$$f2
    make_user "$fs1"
    make_user "$fs2"
    chmod 1777 "$T"    # their jobs run in it (the submit directory); sanitizer reports
    mkdir -p "$T/fs"
    hold=$(tern submit --parsable -N 2 --ntasks-per-node 2 -- sh -c \
        "while [ ! -e $T/fs/go ]; do sleep 0.1; done") || fail "submit the holder"
    wait_for 10 state_is "$hold" R || fail "the holder did not start"
    for u in "$fs1" "$fs2"; do
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$TERN_BIN/tern" submit \
            --array 1-16 --scheduler "$TERN_SCHEDULER" --parsable -- sleep 1 >"$T/fs/$u" \
            || fail "submit as $u"
    done
    touch "$T/fs/go"   # both users' jobs are queued: let them run
    for u in "$fs1" "$fs2"; do
        first=$(cat "$T/fs/$u")
        tern wait $((first + 15)) --timeout 120 >/dev/null || fail "user $u's jobs: $(tern queue)"
    done
    tern queue --all --json | python3 -c '
import json, sys
u1, u2 = sys.argv[1], sys.argv[2]
jobs = [j for j in json.load(sys.stdin)["jobs"] if j["user"] in (u1, u2)]
assert len(jobs) == 32 and all(j["state"] == "CD" for j in jobs), [(j["id"], j["state"]) for j in jobs]
# The window: from the first start to the end of the user done first,
# over the jobs after the first round (one per slot: when the holder ends,
# its four slots free in one turn or several, and a round may go to one
# user before the usage of the other counts).
jobs.sort(key=lambda j: (j["start_ms"], j["id"]))
start = jobs[0]["start_ms"]
end = min(max(j["end_ms"] for j in jobs if j["user"] == u) for u in (u1, u2))
used = {u: sum(max(0, min(j["end_ms"], end) - max(j["start_ms"], start))
               for j in jobs[4:] if j["user"] == u) for u in (u1, u2)}
a = used[u1] / (used[u1] + used[u2])
first8 = [(j["user"][-1], j["start_ms"] - start) for j in jobs[:10]]
assert abs(a - 0.5) <= 0.05, "%s had %.3f of the time: %s %s" % (u1, a, used, first8)
print("%.1f %%" % (100 * a))' "$fs1" "$fs2" >"$T/fs/share" || fail "fair share: $(cat "$T/fs/share")"
    ok "fair share: $fs1 had $(cat "$T/fs/share") of the CPU-seconds until the first user was done"
fi

# 4. Arrays: 6 tasks, at most 2 at once, SLURM's variables, %A_%a output.
mkdir -p "$T/arr"
arr=$(tern submit --parsable --array 0-5%2 -o "$T/arr/out-%A_%a" -- sh -c \
    'echo "$TERN_ARRAY_TASK_ID $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_COUNT"; sleep 1') \
    || fail "submit array"
wait_for 10 sh -c "tern queue | grep -q JobArrayTaskLimit" || fail "no JobArrayTaskLimit: $(tern queue)"
dep=$(tern submit --parsable --dependency afterok:$arr -- true) || fail "submit afterok:array"
tern queue | grep -E "^ *$dep .* PD .*\(Dependency\)" >/dev/null || fail "dependency reason: $(tern queue)"
tern wait "$dep" --timeout 60 >/dev/null || fail "afterok:$arr: $(tern show "$dep")"
for k in 0 1 2 3 4 5; do
    [ "$(cat "$T/arr/out-${arr}_$k")" = "$k $k $arr 6" ] || fail "task $k wrote '$(cat "$T/arr/out-${arr}_$k")'"
done
tern queue --all --json | python3 -c '
import json, sys
arr, dep = int(sys.argv[1]), int(sys.argv[2])
jobs = {j["id"]: j for j in json.load(sys.stdin)["jobs"]}
tasks = [jobs[arr + k] for k in range(6)]
assert [t["array_task_id"] for t in tasks] == list(range(6)) and all(t["array_job_id"] == arr for t in tasks)
for t in tasks:
    running = sum(1 for u in tasks if u["start_ms"] <= t["start_ms"] < u["end_ms"])
    assert running <= 2, "%d tasks ran at once" % running
assert jobs[dep]["start_ms"] >= max(t["end_ms"] for t in tasks), "the dependent job started early"
' "$arr" "$dep" || fail "array throttle or dependency order"
ok "array of 6 with %2: never more than 2 at once, SLURM_ARRAY_* right, %A_%a; afterok:array ran after every task"

# 5. Dependencies on a failed job; bad input.
f=$(tern submit --parsable -- false) || fail "submit failing job"
tern wait "$f" --timeout 30 >/dev/null 2>&1
never=$(tern submit --parsable --dependency afterok:$f -- true) || fail "submit afterok:failed"
notok=$(tern submit --parsable --dependency afternotok:$f -- true) || fail "submit afternotok"
any=$(tern submit --parsable --dependency afterany:$f,afterok:$dep -- true) || fail "submit afterany"
tern wait "$notok" --timeout 30 >/dev/null || fail "afternotok:$f did not run"
tern wait "$any" --timeout 30 >/dev/null || fail "afterany did not run"
wait_for 10 sh -c "tern queue | grep -E '^ *$never .* PD .*\(DependencyNeverSatisfied\)'" \
    || fail "afterok on a failed job: $(tern queue)"
tern cancel "$never" || fail "cancel the never-satisfied job"
# 'after': starts once the job has started, not when it ends.
x=$(tern submit --parsable -- sleep 30) || fail "submit X"
aft=$(tern submit --parsable --dependency after:$x -- true) || fail "submit after:X"
tern wait "$aft" --timeout 10 >/dev/null || fail "after:$x did not run while $x ran: $(tern show "$aft")"
state_is "$x" R || fail "X is not running any more"
tern cancel "$x" >/dev/null
# afternotok on an array: once every task ended and one failed (as SLURM).
mixed=$(tern submit --parsable --array 0-1 -- sh -c 'exit $SLURM_ARRAY_TASK_ID') || fail "submit mixed array"
mnot=$(tern submit --parsable --dependency afternotok:$mixed -- true) || fail "submit afternotok:array"
tern wait "$mnot" --timeout 30 >/dev/null || fail "afternotok:$mixed: $(tern show "$mnot")"
expect_error "dependency on no job" "job 999999 does not exist" tern submit --dependency afterok:999999 -- true
expect_error "bad dependency type" "unknown type 'before'" tern submit --dependency before:1 -- true
expect_error "array going down" "--array 5-2" tern submit --array 5-2 -- true
expect_error "unknown partition" "invalid partition specified: nosuch" tern submit -p nosuch -- true
expect_error "spot partition without spot nodes" "can never run" tern submit -p spot -- true
ok "afterok on a failed job never satisfied, afternotok and afterany ran; bad dependencies, arrays, partitions refused"

# 6. Partition by label, and cancelling an array by its id.
pj=$(tern submit --parsable -p batch -- true) || fail "submit -p batch"
tern wait "$pj" --timeout 30 >/dev/null || fail "-p batch: $(tern show "$pj")"
many=$(tern submit --parsable --array 0-3%1 -- sleep 100) || fail "submit array to cancel"
wait_for 10 state_is "$many" R || fail "first task did not start"
tern cancel "$many" || fail "cancel the array"
for k in 0 1 2 3; do
    wait_for 10 state_is $((many + k)) CA || fail "task $k: $(tern show $((many + k)))"
done
ok "-p batch ran on the partition; cancelling the array's id cancelled all 4 tasks"

# 7. A job that cannot fit while a node is drained holds nothing: the
# jobs behind it run on the node that is up.
tern drain node2 >/dev/null || fail "drain node2"
big=$(tern submit --parsable -N 2 -- true) || fail "submit -N 2"
small=$(tern submit --parsable -- true) || fail "submit small"
tern wait "$small" --timeout 20 >/dev/null || fail "a small job waited behind a job that cannot fit: $(tern queue)"
state_is "$big" PD || fail "the -N 2 job ran on a drained node"
tern resume node2 >/dev/null || fail "resume node2"
tern wait "$big" --timeout 20 >/dev/null || fail "the -N 2 job after resume: $(tern show "$big")"
ok "with node2 drained, a -N 2 job waited without holding node1 (a small job ran there); after resume it ran"

# The daemons kept running through all of it.
alive "$TERND_PID" || fail "ternd died"
