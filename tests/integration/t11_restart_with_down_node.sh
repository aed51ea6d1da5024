# A job caught between a node's death and ternd's: ternd restarts with the
# node DOWN in its database. The ranks placed there will never report; the
# job still ends (NF, no restart allowed) once its surviving ranks are gone,
# and frees its nodes.
. "$(dirname "$0")/lib.sh"

start_ternd() {
    ternd --state "$T/state.db" --client "$1" --worker "$2" --endpoints-file "$T/ep" \
        --log-dir "$T/logs" --fail-kill-ms 60000 2>>"$T/ternd.log" &
    TERND=$!
    PIDS="$PIDS $TERND"
}
start_ternd tcp://127.0.0.1:0 tcp://127.0.0.1:0
wait_for 10 test -s "$T/ep" || fail "ternd did not start"
cep=$(sed -n 's/^client=//p' "$T/ep")
wep=$(sed -n 's/^worker=//p' "$T/ep")
export TERN_SCHEDULER=$cep
export TERN_INSECURE=1   # this ternd runs without keys: tern talks to it in plain text
for n in a b; do
    tern-worker --scheduler "$wep" --name "$n" --addr 127.0.0.1 --gpus 0 2>"$T/worker-$n.log" &
    eval "W_$n=$!"
    PIDS="$PIDS $!"
done
wait_for 10 sh -c 'tern nodes | grep -c " UP " | grep -qx 2' || fail "workers did not register"

mkdir -p "$T/pids"
id=$(tern submit --parsable -N 2 --max-restarts 0 -- sh -c \
     'trap "" TERM; echo $$ > '"$T"'/pids/$TERN_NODE_NAME; while :; do sleep 0.1; done') \
    || fail "submit"
wait_for 10 count_is "$T/pids" 2 || fail "ranks did not start"
kill -9 "$W_a"
wait_for 15 sh -c 'tern nodes | grep -qE "^a +DOWN"' || fail "node a not DOWN"
state_is "$id" CG || fail "job $id is $(job_state "$id"), expected CG (b's rank ignores SIGTERM)"

{ kill -9 "$TERND" && wait "$TERND"; } 2>/dev/null
start_ternd "$cep" "$wep"
wait_for 10 tern queue || fail "ternd did not restart"
kill -9 "$(cat "$T/pids/b")"   # the surviving rank ends at last
wait_for 15 state_is "$id" NF || fail "job $id stuck in $(job_state "$id") after the restart"
tern nodes --json | python3 -c '
import json, sys
b = {n["name"]: n for n in json.load(sys.stdin)["nodes"]}["b"]
assert b["cpus_used"] == 0 and b["jobs"] == [], b' || fail "node b still holds the job: $(tern nodes)"
ok "after the restart job $id ended NF and node b is free"
