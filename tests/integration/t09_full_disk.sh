# A full disk under ternd's state: submissions it cannot save are refused
# with a clear error, ternd keeps serving with every acknowledged job, and
# takes submissions again once there is room.
. "$(dirname "$0")/lib.sh"

mkdir "$T/small"
if ! mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null; then
    echo "SKIP: cannot mount a small tmpfs here (needs root); the full-disk path is untested"
    exit 0
fi
MOUNTS="$T/small"
ternd --state "$T/small/state.db" --client tcp://127.0.0.1:0 --worker tcp://127.0.0.1:0 \
    --endpoints-file "$T/ep" --log-dir "$T/logs" 2>"$T/ternd.log" &
PIDS="$PIDS $!"
ternd_pid=$!
wait_for 10 test -s "$T/ep" || fail "ternd did not start"
export TERN_SCHEDULER=$(sed -n 's/^client=//p' "$T/ep")
export TERN_INSECURE=1   # this ternd runs without keys: tern talks to it in plain text

for i in 1 2 3; do tern submit --parsable true >/dev/null || fail "submit $i"; done
# Fill the disk, then submit jobs with a large environment until one fails.
dd if=/dev/zero of="$T/small/fill" bs=4k 2>/dev/null
export BIG=$(head -c 60000 /dev/zero | tr '\0' x)
acked=3
refused=""
for i in $(seq 100); do
    if id=$(tern submit --parsable true 2>"$T/err"); then
        acked=$((acked + 1))
        last=$id
    else
        refused=$(cat "$T/err")
        break
    fi
done
[ -n "$refused" ] || fail "100 submissions fitted on a full 1 MiB disk?"
echo "$refused" | grep -q "could not save its state" || fail "refusal: $refused"
[ "$(echo "$refused" | wc -l)" -eq 1 ] || fail "refusal is not one line: $refused"
ok "after $acked acknowledged jobs: $refused"

kill -0 "$ternd_pid" || fail "ternd died on a full disk"
n=$(tern queue --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
[ "$n" -eq "$acked" ] || fail "queue holds $n jobs, $acked were acknowledged"
ok "ternd still serving, with exactly the $acked acknowledged jobs"

rm -f "$T/small/fill"
unset BIG
id=$(tern submit --parsable true) || fail "submit after freeing space"
{ kill -9 "$ternd_pid" && wait "$ternd_pid"; } 2>/dev/null
ternd --state "$T/small/state.db" --client "$TERN_SCHEDULER" --worker tcp://127.0.0.1:0 \
    --log-dir "$T/logs" 2>>"$T/ternd.log" &
PIDS="$PIDS $!"
wait_for 10 tern queue || fail "ternd did not restart"
n=$(tern queue --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
[ "$n" -eq $((acked + 1)) ] || fail "after restart $n jobs, expected $((acked + 1))"
ok "with room again job $id accepted; after kill -9 and restart all $n jobs are there"
