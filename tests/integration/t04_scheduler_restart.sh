# kill -9 of ternd with queued and running jobs, then a restart: every
# acknowledged job is still there, running ones keep running and complete,
# nothing runs twice.
. "$(dirname "$0")/lib.sh"

up --workers 2 --cpus-per-worker 2
mkdir -p "$T/runs" "$T/go"
# Each rank records that it ran, then holds until the test lets it go.
cmd='echo "$$" >> '"$T"'/runs/$TERN_JOB_ID.$RANK; while [ ! -e '"$T"'/go/$TERN_JOB_ID ]; do sleep 0.05; done'
a=$(tern submit --parsable -N 2 --ntasks-per-node 2 -- sh -c "$cmd") || fail "submit a"
wait_for 20 count_is "$T/runs" 4 || fail "job $a did not start"
b=$(tern submit --parsable -N 2 --ntasks-per-node 2 -- sh -c "$cmd") || fail "submit b"
c=$(tern submit --parsable -N 1 -- sh -c "$cmd") || fail "submit c"
state_is "$b" PD && state_is "$c" PD || fail "jobs $b $c should be pending"
rank_pids=$(cat "$T"/runs/*)
tern wait "$a" --timeout 90 >"$T/wait.out" 2>&1 &   # rides out the restart
waiter=$!
PIDS="$PIDS $waiter"
sleep 1   # let it reach the scheduler before the crash

ternd_pid=$(sed -n 's/^ternd_pid=//p' "$T/.tern/cluster")
kill -9 "$ternd_pid"
wait_for 5 sh -c "! kill -0 $ternd_pid" || fail "ternd survived kill -9"
for p in $rank_pids; do kill -0 "$p" 2>/dev/null || fail "rank pid $p died with ternd"; done
ok "ternd killed; job $a's 4 ranks keep running"
expect_error "queue while the scheduler is down" "not running" tern queue

up   # restarts ternd on the same endpoints; the workers reconnect
[ "$(sed -n 's/^ternd_pid=//p' "$T/.tern/cluster")" != "$ternd_pid" ] || fail "ternd not restarted"
for j in $a $b $c; do tern show "$j" >/dev/null || fail "job $j lost in the restart"; done
state_is "$a" R || fail "job $a is $(job_state "$a") after restart, expected R"
state_is "$b" PD && state_is "$c" PD || fail "pending jobs changed state in the restart"
ok "after restart: job $a still R, jobs $b and $c still PD"

touch "$T/go/$a"
wait "$waiter" || fail "the tern wait started before the crash exited $?: $(cat "$T/wait.out")"
ok "a tern wait started before the crash returned 0 after the restart"
for j in $b $c; do
    wait_for 30 state_is "$j" R || wait_for 1 state_is "$j" CD || fail "job $j did not start"
    touch "$T/go/$j"
    tern wait "$j" --timeout 60 || fail "job $j did not complete"
done
for f in "$T"/runs/*; do
    [ "$(wc -l <"$f")" -eq 1 ] || fail "$(basename "$f") ran $(wc -l <"$f") times"
done
[ "$(ls "$T/runs" | wc -l)" -eq 9 ] || fail "expected 9 ranks to have run, got $(ls "$T/runs" | wc -l)"
ok "jobs $a $b $c completed; each of their 9 ranks ran exactly once"
