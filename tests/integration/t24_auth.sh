# Authentication and authorization: the local cluster of 'tern up' speaks
# CURVE with keys it made itself. A client or worker without an authorized
# key gets nowhere and is told why; a worker key cannot submit; a user key
# cannot register a worker; user A cannot cancel user B's job and an admin
# can; only an admin drains a node; one user flooding ternd is refused over
# --rate-limit while another goes on. Keys added to the authorized-keys file
# take effect without a restart; a broken file keeps the keys loaded.
. "$(dirname "$0")/lib.sh"

can_make_users || { echo "skip - $MAKE_USER_SKIP (jobs of user keys run as those users)"; exit 0; }
# The users' jobs run in this directory as them.
chmod 755 "$T"
A=ta$$ B=tb$$
make_user "$A"
make_user "$B"

up --workers 2 --cpus-per-worker 2
KEYS=$T/.tern/keys
[ "$(stat -c %a "$KEYS")" = 700 ] || fail "the cluster's key directory is not private"
grep -q "^admin $(id -un) " "$KEYS/authorized_keys" || fail "tern up made no admin key for $(id -un)"
ok "tern up: CURVE keys for ternd, the workers and $(id -un) as admin in $KEYS"

# tern keygen: a key file only its owner reads, the public key on stdout.
pub_a=$(tern keygen -o "$T/a.key" 2>/dev/null) || fail "tern keygen"
pub_b=$(tern keygen -o "$T/b.key" 2>/dev/null) || fail "tern keygen b"
pub_x=$(tern keygen -o "$T/stranger.key" 2>/dev/null) || fail "tern keygen stranger"
pub_n=$(tern keygen -o "$T/node9.key" 2>/dev/null) || fail "tern keygen node9"
[ "$(stat -c %a "$T/a.key")" = 600 ] || fail "key file mode $(stat -c %a "$T/a.key")"
[ "${#pub_a}" -eq 40 ] || fail "public key '$pub_a'"
expect_error "keygen over an existing key" "exists (give --force" tern keygen -o "$T/a.key"
chmod 644 "$T/b.key"
expect_error "a key others can read" "readable by others" env TERN_KEY="$T/b.key" tern queue
chmod 600 "$T/b.key"

# A key the scheduler does not know: nothing goes through.
expect_error "submit with an unknown key" "refused this key" \
    env TERN_KEY="$T/stranger.key" tern submit -- true
expect_error "queue with an unknown key" "refused this key" env TERN_KEY="$T/stranger.key" tern queue
# Without CURVE at all (no server key known, plain text asked for): ternd
# refuses, and says why.
sched=$(sed -n 's/^scheduler=//p' "$T/.tern/cluster")
server_key=$(sed -n 's/^server_key=//p' "$T/.tern/cluster")
# (From / : no local cluster there whose keys the CLI would take.)
cd /
expect_error "a client without keys" "requires authentication" \
    env TERN_SCHEDULER="$sched" TERN_INSECURE=1 tern queue
cd "$T"
grep -qF "refused key $pub_x" "$T/.tern/ternd.log" || fail "ternd did not log the refused key"

# Workers: without a key, with a stranger's key, with a user's key: never registered.
wep=$(sed -n 's/^worker_endpoint=//p' "$T/.tern/cluster")
tern-worker --scheduler "$wep" --name intruder1 --cpus 1 2>"$T/w1.log" &
PIDS="$PIDS $!"
tern-worker --scheduler "$wep" --name intruder2 --cpus 1 --key "$T/stranger.key" \
    --server-key "$server_key" 2>"$T/w2.log" &
PIDS="$PIDS $!"
echo "user $A $pub_a" >>"$KEYS/authorized_keys"
echo "user $B $pub_b" >>"$KEYS/authorized_keys"
echo "worker node9 $pub_n" >>"$KEYS/authorized_keys"
wait_for 10 env TERN_KEY="$T/a.key" tern queue || fail "a key added to authorized_keys is not taken"
ok "keys added to the authorized-keys file are taken without a restart"
tern-worker --scheduler "$wep" --name intruder3 --cpus 1 --key "$T/a.key" \
    --server-key "$server_key" 2>"$T/w3.log" &
PIDS="$PIDS $!"
# node9's own key, used by a worker calling itself node8.
tern-worker --scheduler "$wep" --name node8 --cpus 1 --key "$T/node9.key" \
    --server-key "$server_key" 2>"$T/w4.log" &
PIDS="$PIDS $!"
wait_for 10 grep -q "requires authentication" "$T/w1.log" || fail "worker without a key: $(cat "$T/w1.log")"
wait_for 10 grep -q "this worker key belongs to node node9" "$T/w4.log" \
    || fail "worker, another node's key: $(cat "$T/w4.log")"
grep -q "the key of node node9 speaks as node node8: refused" "$T/.tern/ternd.log" \
    || fail "no reason logged for node8"
wait_for 10 grep -q "refused this key" "$T/w2.log" || fail "worker, stranger's key: $(cat "$T/w2.log")"
wait_for 10 grep -q "refused this key" "$T/w3.log" || fail "worker, user key: $(cat "$T/w3.log")"
grep -q "a user key may not register a worker" "$T/.tern/ternd.log" || fail "no reason logged"
sleep 0.5
tern nodes | grep -qE "intruder|node8" && fail "an unauthenticated worker registered: $(tern nodes)"
ok "workers without a worker key, or with another node's, do not register: $(tail -n 1 "$T/w3.log" | sed 's/.*error: //')"

# A worker key speaks the worker protocol only.
expect_error "submit with a worker key" "a worker key may only speak the worker protocol" \
    env TERN_KEY="$KEYS/worker.key" tern submit -- true

# The key says who submits: user A's job is A's, whatever A's uid here.
ja=$(TERN_KEY="$T/a.key" tern submit -J a-job -- sleep 300 | awk '{print $3}') || fail "A submits"
jb=$(TERN_KEY="$T/b.key" tern submit -J b-job -- sleep 300 | awk '{print $3}') || fail "B submits"
[ "$(tern show "$ja" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"])')" = "$A" ] \
    || fail "job $ja is not $A's"
wait_for 20 state_is "$ja" R || fail "A's job does not run: $(tern show "$ja")"
wait_for 20 state_is "$jb" R || fail "B's job does not run: $(tern show "$jb")"
ok "jobs belong to the key's user: $ja is $A's, $jb is $B's"

# B sees A's job but cannot cancel it; A can cancel B's neither.
TERN_KEY="$T/b.key" tern show "$ja" >/dev/null || fail "B cannot see A's job"
expect_error "B cancels A's job" "job $ja belongs to $A" env TERN_KEY="$T/b.key" tern cancel "$ja"
expect_error "A cancels B's job" "job $jb belongs to $B" env TERN_KEY="$T/a.key" tern cancel "$jb"
sleep 0.3
state_is "$ja" R || fail "A's job did not survive B's cancel"
# Only an admin drains.
expect_error "a user drains a node" "need an admin key" env TERN_KEY="$T/a.key" tern drain node1
tern drain node1 >/dev/null || fail "the admin cannot drain"
tern resume node1 >/dev/null || fail "the admin cannot resume"
# A cancels its own; the admin cancels B's.
TERN_KEY="$T/a.key" tern cancel "$ja" || fail "A cannot cancel its own job"
tern cancel "$jb" || fail "the admin cannot cancel B's job"
wait_for 20 state_is "$ja" CA || fail "A's job not cancelled"
wait_for 20 state_is "$jb" CA || fail "B's job not cancelled by the admin"
ok "A cancels its own job, not B's; B not A's; the admin cancels B's"

# A broken authorized-keys file: the loaded keys stay.
cp "$KEYS/authorized_keys" "$T/ak.good"
echo "user broken not-a-key" >>"$KEYS/authorized_keys"
wait_for 10 grep -q "authorized_keys:[0-9]*: not a public key" "$T/.tern/ternd.log" \
    || fail "ternd did not report the broken line"
TERN_KEY="$T/b.key" tern queue >/dev/null || fail "a broken file dropped the loaded keys"
cp "$T/ak.good" "$KEYS/authorized_keys"
ok "a broken authorized-keys line is reported with its line number; the loaded keys stay"

# Rate limits: a ternd of its own (the cluster's keys) allowing 20 requests/s per user.
ternd --state "$T/rl.db" --client tcp://127.0.0.1:0 --worker tcp://127.0.0.1:0 \
    --endpoints-file "$T/rl.ep" --log-dir "$T/rl-logs" --key "$KEYS/server.key" \
    --authorized-keys "$KEYS/authorized_keys" --rate-limit 20 2>"$T/rl.log" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/rl.ep" || fail "ternd --rate-limit did not start: $(cat "$T/rl.log")"
rl=$(sed -n 's/^client=//p' "$T/rl.ep")
# The 80 go 16 at a time, so that they come faster than 20 a second
# however slow one client is (a sanitized build, a busy machine).
mkdir -p "$T/rl-err"
seq 80 | TERN_SCHEDULER=$rl TERN_SERVER_KEY=$server_key TERN_KEY="$T/a.key" RL_ERR="$T/rl-err" \
    xargs -P 16 -I{} sh -c 'tern queue >/dev/null 2>"$RL_ERR/{}"'
refused=$(grep -l "rate limit" "$T"/rl-err/* 2>/dev/null | wc -l)
[ "$refused" -gt 0 ] || fail "80 requests at once from $A were all served under --rate-limit 20"
TERN_SCHEDULER=$rl TERN_SERVER_KEY=$server_key TERN_KEY="$T/b.key" tern queue >/dev/null \
    || fail "$B was refused while $A flooded"
ok "--rate-limit 20: $refused of 80 quick requests from $A refused; $B served meanwhile"
