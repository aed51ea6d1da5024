# One rank exits 3: every other rank of the attempt, on both nodes, is gone
# within 2 s (even ranks that ignore SIGTERM), tern wait exits 3, state F.
. "$(dirname "$0")/lib.sh"

up --workers 2
mkdir -p "$T/pids"
id=$(tern submit --parsable -N 2 --ntasks-per-node 2 -- sh -c '
    echo $$ > '"$T"'/pids/$RANK
    if [ "$RANK" = 1 ]; then
        while [ $(ls '"$T"'/pids | wc -l) -lt 4 ]; do sleep 0.05; done
        date +%s%N > '"$T"'/failed_at
        exit 3
    fi
    trap "" TERM    # ignores the polite signal: SIGKILL must follow
    while :; do sleep 1; done') || fail "submit"

tern wait "$id" --timeout 60
rc=$?
[ "$rc" -eq 3 ] || fail "tern wait exited $rc, expected 3"
state_is "$id" F || fail "state $(job_state "$id"), expected F"
tern show "$id" | grep -q "FailedRank=1" || fail "show lacks FailedRank=1"

# tern wait returned once the scheduler saw every rank gone; measure from
# the failing rank's exit to that moment through the rank processes.
wait_for 2 pids_gone "$T"/pids/0 "$T"/pids/2 "$T"/pids/3 || fail "ranks still alive"
gone_at=$(date +%s%N)
elapsed_ms=$(( (gone_at - $(cat "$T/failed_at")) / 1000000 ))
[ "$elapsed_ms" -le 2000 ] || fail "other ranks took $elapsed_ms ms to go (limit 2000)"
ok "rank 1 exited 3; ranks 0, 2, 3 gone within $elapsed_ms ms; wait exited 3; state F"
