# Two users of one cluster, one of them hostile, replaying the attacks of
# issue 14 on ternd: a job's key taken from a nested submission or the
# state files, a user key named root, keys used after they were revoked or
# after their job ended, a job key acting on another job of its user,
# bucket-hopping past the rate limit, a flood of bad messages, another
# user's submission token, a client claiming uid 0, huge arrays and queues.
# Each attack fails with one clear line; the legitimate use beside it works.
. "$(dirname "$0")/lib.sh"

can_make_users || { echo "skip - attacks by other Unix users: $MAKE_USER_SKIP"; exit 0; }
PATH="$PATH:/usr/sbin:/sbin"

up --workers 2 --cpus-per-worker 2 --rate-limit 40
chmod 1777 "$T"
mkdir -m 1777 "$T/shared"
KEYS="$T/.tern/keys"
server_key=$(server_key)
client_ep=$(sed -n 's/^scheduler=//p' "$T/.tern/cluster")
SRUN="$TERN_BIN/../lib/tern/slurm/srun"

A=tern$$a B=tern$$b
make_user "$A"
uidA=$MADE_UID gidA=$MADE_GID
make_user "$B"
uidB=$MADE_UID gidB=$MADE_GID
mkdir -m 0711 "$T/keys"
for u in "$A" "$B" root; do
    pub=$(tern keygen -o "$T/keys/$u.key" 2>"$T/keygen.err") || fail "tern keygen: $(cat "$T/keygen.err")"
    [ "$u" = root ] || chown "$u:" "$T/keys/$u.key"
    echo "user $u $pub" >>"$KEYS/authorized_keys"
done
wait_for 10 env TERN_KEY="$T/keys/$A.key" tern queue || fail "the users' keys are not taken"

# as USER COMMAND...: COMMAND as USER with USER's key (the ranks inherit the
# server key for their own tern and srun).
as() {
    local u=$1
    shift
    TERN_KEY="$T/keys/$u.key" TERN_SERVER_KEY="$server_key" \
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}
# bare USER COMMAND...: the same with no other environment (small jobs).
bare() {
    local u=$1
    shift
    env -i PATH="$PATH" HOME=/ ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
        TERN_KEY="$T/keys/$u.key" TERN_SERVER_KEY="$server_key" \
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}
# mine USER: how many of USER's jobs are queued or running.
mine() {
    tern queue --json | python3 -c "import json,sys; d=json.load(sys.stdin); d=d['jobs'] if isinstance(d, dict) else d; print(sum(1 for j in d if j['user']=='$1'))"
}
# poke KEYFILE: zpoke's requests, one a line on stdin, on one connection.
poke() { TERN_KEY="$1" TERN_SERVER_KEY="$server_key" "$TERN_TESTBIN/zpoke" "$client_ep" hold; }

# 1. A job's key never leaves its node: a batch script of A's submits a
#    job (as A, with its job key); the child's recorded environment has no
#    key, B sees only the names of A's variables, A and the admin the values,
#    and the state files are ternd's alone.
cat >"$T/shared/nested.sbatch" <<'SCRIPT'
#!/bin/sh
tern submit --parsable -o /dev/null -- true >"$SHARED/nested.id" 2>"$SHARED/nested.err"
SCRIPT
chmod 0644 "$T/shared/nested.sbatch"
parent=$(SHARED="$T/shared" MARK="s3cret-$$" as "$A" tern submit --parsable -o /dev/null \
    "$T/shared/nested.sbatch") || fail "submit the nested script as $A"
tern wait "$parent" --timeout 30 >/dev/null || fail "batch job $parent: $(cat "$T/shared/nested.err")"
child=$(cat "$T/shared/nested.id")
[ -n "$child" ] || fail "the nested tern submit printed no id: $(cat "$T/shared/nested.err")"
tern show "$child" | grep -q "UserId=$A" || fail "the nested job is not $A's: $(tern show "$child")"
tern history --json --env "$child" >"$T/child.json" || fail "tern history of $child"
grep -q "TERN_JOB_KEY" "$T/child.json" && fail "job $child's record holds TERN_JOB_KEY"
# (the environment is an object of names and values; a withheld value is null)
mark() { python3 -c 'import json,sys; d=json.load(sys.stdin); d=d["jobs"][0]; print(d["environment"].get("MARK", "absent"))'; }
[ "$(mark <"$T/child.json")" = "s3cret-$$" ] || fail "the admin does not see $A's environment"
[ "$(as "$A" tern history --json --env "$child" | mark)" = "s3cret-$$" ] || fail "$A does not see its own environment"
as "$B" tern history --json --env "$child" >"$T/b.json" || fail "tern history as $B"
grep -q "s3cret-$$" "$T/b.json" && fail "$B reads $A's environment values"
[ "$(mark <"$T/b.json")" = None ] || fail "$B does not see the names of $A's variables: $(head -c 300 "$T/b.json")"
for f in state.db state.db-wal state.db-shm ternd.endpoints; do
    [ "$(stat -c %a "$T/.tern/$f")" = 600 ] || fail "$f is mode $(stat -c %a "$T/.tern/$f")"
    grep -qa "TERN_JOB_KEY=" "$T/.tern/$f" && fail "$f holds a job key"
done
[ "$(stat -c %a "$KEYS")" = 700 ] || fail "the keys directory is mode $(stat -c %a "$KEYS")"
ok "nested submit as $A with no key in job $child's record; $B sees names, not values; state files 0600 with no job key"

# 2. A user key named root is not the admin root: it cannot cancel an
#    admin's job nor start a step in it.
printf '#!/bin/sh\nsleep 60\n' >"$T/shared/sleep.sbatch"
chmod 0644 "$T/shared/sleep.sbatch"
adm=$(tern submit --parsable -o /dev/null -N 2 "$T/shared/sleep.sbatch") || fail "submit as the admin"
wait_for 20 state_is "$adm" R || fail "the admin's job $adm did not start"
expect_error "cancel by a user key named root" "job $adm belongs to root: user root may not cancel it" \
    env TERN_KEY="$T/keys/root.key" tern cancel "$adm"
expect_error "srun by a user key named root" "may not start steps in it" \
    env -u TERN_JOB_KEY TERN_KEY="$T/keys/root.key" TERN_SERVER_KEY="$server_key" \
    TERN_SCHEDULER="$client_ep" TERN_JOB_ID="$adm" TERN_ATTEMPT=0 "$SRUN" id -u
state_is "$adm" R || fail "the admin's job $adm did not survive: $(tern show "$adm")"
tern cancel "$adm" >/dev/null || fail "the admin cannot cancel its own job"
ok "a user key named root can neither cancel the admin's job $adm nor step into it"

# 3. Revoked keys: B's connection, open before its key was removed, is
#    refused at its next request, and so are the keys of B's running jobs;
#    a job key's connection kept past its job is refused once the job ended.
cat >"$T/shared/leak.sbatch" <<'SCRIPT'
#!/bin/sh
umask 077
echo "$TERN_JOB_KEY" >"$SHARED/leaked.key"
while [ ! -e "$SHARED/go" ]; do sleep 0.1; done
SCRIPT
chmod 0644 "$T/shared/leak.sbatch"
mkdir "$T/shared/b" && chown "$B:" "$T/shared/b"
bjob=$(SHARED="$T/shared/b" as "$B" tern submit --parsable -o /dev/null "$T/shared/leak.sbatch") \
    || fail "submit a job as $B"
wait_for 20 test -s "$T/shared/b/leaked.key" || fail "$B's job $bjob did not start"
mkfifo "$T/b.in" "$T/j.in"
poke "$T/keys/$B.key" <"$T/b.in" >"$T/b.out" 2>&1 &
PIDS="$PIDS $!"
exec 3>"$T/b.in"
echo submit >&3
wait_for 10 grep -q "^submitted" "$T/b.out" || fail "$B's first submission: $(cat "$T/b.out")"
reloads=$(grep -c 'authorized keys reloaded' "$T/.tern/ternd.log")
grep -v "^user $B " "$KEYS/authorized_keys" >"$T/ak"
cat "$T/ak" >"$KEYS/authorized_keys"
wait_for 10 sh -c "[ \$(grep -c 'authorized keys reloaded' '$T/.tern/ternd.log') -gt $reloads ]" \
    || fail "ternd did not reload the keys"
echo submit >&3
wait_for 10 grep -q "no longer authorized" "$T/b.out" || fail "$B's open connection after revocation: $(cat "$T/b.out")"
exec 3>&-
echo submit | TERN_JOB_KEY=$(cat "$T/shared/b/leaked.key") TERN_SERVER_KEY="$server_key" \
    "$TERN_TESTBIN/zpoke" "$client_ep" hold >"$T/bj.out" 2>&1
grep -q "no longer authorized" "$T/bj.out" || fail "the key of $B's job $bjob after $B's removal: $(cat "$T/bj.out")"
ok "$B's open connection, and $B's running job's key, after $B's key was removed: $(grep 'no longer authorized' "$T/b.out")"
echo "user $B $(sed -n 's/^public=//p' "$T/keys/$B.key")" >>"$KEYS/authorized_keys"
wait_for 10 env TERN_KEY="$T/keys/$B.key" tern queue || fail "$B's key is not taken back"
touch "$T/shared/b/go"
tern wait "$bjob" --timeout 30 >/dev/null || fail "$B's job $bjob: $(tern show "$bjob")"

leak=$(SHARED="$T/shared" as "$A" tern submit --parsable -o /dev/null "$T/shared/leak.sbatch") \
    || fail "submit the leaking script as $A"
wait_for 20 test -s "$T/shared/leaked.key" || fail "job $leak did not start"
TERN_JOB_KEY=$(cat "$T/shared/leaked.key") TERN_SERVER_KEY="$server_key" \
    "$TERN_TESTBIN/zpoke" "$client_ep" hold <"$T/j.in" >"$T/j.out" 2>&1 &
PIDS="$PIDS $!"
exec 4>"$T/j.in"
echo submit >&4
wait_for 10 grep -q "^submitted" "$T/j.out" || fail "the job key's submission while its job runs: $(cat "$T/j.out")"
touch "$T/shared/go"
tern wait "$leak" --timeout 30 >/dev/null || fail "job $leak: $(tern show "$leak")"
echo submit >&4
wait_for 10 grep -q "no longer authorized" "$T/j.out" || fail "the job key after its job ended: $(cat "$T/j.out")"
exec 4>&-
ok "job $leak's key submitted while the job ran, and is refused on the same connection after it ended"

# 4. A job key acts on its own job only: a batch job of A's cannot start a
#    step in, nor cancel, another job of A's.
other=$(as "$A" tern submit --parsable -o /dev/null "$T/shared/sleep.sbatch") || fail "submit $A's other job"
wait_for 20 state_is "$other" R || fail "$A's job $other did not start"
cat >"$T/shared/sibling.sbatch" <<'SCRIPT'
#!/bin/sh
TERN_JOB_ID=$OTHER TERN_ATTEMPT=0 srun true 2>"$SHARED/sibling.srun"
echo "srun $?" >"$SHARED/sibling.rc"
tern cancel "$OTHER" 2>"$SHARED/sibling.cancel"
echo "cancel $?" >>"$SHARED/sibling.rc"
tern cancel "$TERN_JOB_ID" 2>>"$SHARED/sibling.cancel"
SCRIPT
chmod 0644 "$T/shared/sibling.sbatch"
sib=$(SHARED="$T/shared" OTHER="$other" as "$A" tern submit --parsable -o /dev/null \
    "$T/shared/sibling.sbatch") || fail "submit the sibling script"
wait_for 30 sh -c "[ \$(cat '$T/shared/sibling.rc' 2>/dev/null | wc -l) -ge 2 ]" \
    || fail "the sibling script did not run: $(tern show "$sib")"
grep -qx "srun 0" "$T/shared/sibling.rc" && fail "job $sib started a step in job $other"
grep -qx "cancel 0" "$T/shared/sibling.rc" && fail "job $sib cancelled job $other"
grep -q "may not start steps in it" "$T/shared/sibling.srun" || fail "srun into $other: $(cat "$T/shared/sibling.srun")"
grep -q "may not cancel it" "$T/shared/sibling.cancel" || fail "cancel of $other: $(cat "$T/shared/sibling.cancel")"
state_is "$other" R || fail "job $other did not survive: $(tern show "$other")"
wait_for 20 state_is "$sib" CA || fail "job $sib could not cancel itself: $(tern show "$sib")"
as "$A" tern cancel "$other" >/dev/null || fail "$A cannot cancel its own job with its own key"
# Task 0 of an array has the array's id: its key cancels task 0, not its siblings.
cat >"$T/shared/array.sbatch" <<'SCRIPT'
#!/bin/sh
[ "$SLURM_ARRAY_TASK_ID" = 0 ] && tern cancel "$SLURM_ARRAY_JOB_ID"
sleep 60
SCRIPT
chmod 0644 "$T/shared/array.sbatch"
arr=$(as "$A" tern submit --parsable --array 0-2 -o /dev/null "$T/shared/array.sbatch") \
    || fail "submit $A's array"
wait_for 30 state_is "$arr" CA || fail "task 0 of array $arr did not cancel itself: $(tern show "$arr")"
sleep 0.5
for k in 1 2; do
    state_is $((arr + k)) R || fail "task $k of array $arr: $(tern show $((arr + k)))"
done
as "$A" tern cancel "$arr" >/dev/null || fail "$A cannot cancel its array $arr"
ok "job $sib's key cannot step into or cancel $A's job $other ($(head -n 1 "$T/shared/sibling.cancel")); it cancels itself"

# 8a. One bucket per user: A's job keys draw on A's (40 a second, bursts
#     of 80), not on fresh buckets; B is not slowed. Bad messages count too,
#     and their log lines fold.
rm -f "$T/shared/go" "$T/shared/leaked.key"
long=$(SHARED="$T/shared" as "$A" tern submit --parsable -o /dev/null "$T/shared/leak.sbatch") \
    || fail "submit a job for its key"
wait_for 20 test -s "$T/shared/leaked.key" || fail "job $long did not start"
for i in $(seq 80); do echo nodes; done | poke "$T/keys/$A.key" >"$T/rate-a.out"
for i in $(seq 20); do echo nodes; done | TERN_JOB_KEY=$(cat "$T/shared/leaked.key") \
    TERN_SERVER_KEY="$server_key" "$TERN_TESTBIN/zpoke" "$client_ep" hold >"$T/rate-j.out"
refused=$(grep -c "rate limit" "$T/rate-j.out")
[ "$refused" -ge 10 ] || fail "$A's job key got a bucket of its own: $refused of 20 refused"
echo nodes | poke "$T/keys/$B.key" >"$T/rate-b.out"
grep -q "^nodes 2" "$T/rate-b.out" || fail "$B was slowed down by $A: $(cat "$T/rate-b.out")"
sleep 2.1   # A's bucket fills again
TERN_KEY="$T/keys/$A.key" TERN_SERVER_KEY="$server_key" "$TERN_TESTBIN/zpoke" "$client_ep" random 400 \
    || fail "zpoke random"
# A full bucket (80) serves 60 requests; one the bad messages emptied cannot.
for i in $(seq 60); do echo nodes; done | poke "$T/keys/$A.key" | grep -q "rate limit" \
    || fail "malformed messages are not counted against $A"
sleep 1.5   # the folded count is logged when the second is over
lines=$(grep -c "a message from user:$A" "$T/.tern/ternd.log")
[ "$lines" -le 6 ] || fail "400 malformed messages cost $lines log lines"
grep -q "a message from user:$A: [0-9]* more like it in the last second" "$T/.tern/ternd.log" \
    || fail "no folded count in the log"
touch "$T/shared/go"
ok "$refused of 20 requests on $A's job key refused after 80 on $A's key; malformed messages counted; $lines log lines for 400 of them"

# 8b. Tokens are the user's: B reusing A's token gets a job of B's own, A
#     retrying gets A's. uid 0 claimed by a client shows as what the job ran as.
echo "submit tok-$$" | poke "$T/keys/$A.key" >"$T/tok-a.out"
echo "submit tok-$$" | poke "$T/keys/$B.key" >"$T/tok-b.out"
echo "submit tok-$$" | poke "$T/keys/$A.key" >"$T/tok-a2.out"
ja=$(sed -n 's/^submitted //p' "$T/tok-a.out") jb=$(sed -n 's/^submitted //p' "$T/tok-b.out")
[ -n "$ja" ] && [ -n "$jb" ] || fail "token submissions: $(cat "$T/tok-a.out" "$T/tok-b.out")"
[ "$ja" != "$jb" ] || fail "$B's reuse of $A's token returned $A's job $ja"
[ "$(sed -n 's/^submitted //p' "$T/tok-a2.out")" = "$ja" ] || fail "$A's retry did not return job $ja"
tern wait "$jb" --timeout 30 >/dev/null || fail "$B's job $jb: $(tern show "$jb")"
tern show "$jb" | grep -q "UserId=$B($uidB) GroupId=$gidB" \
    || fail "job $jb (claimed uid 0) shows $(tern show "$jb" | grep -o 'UserId=[^ ]* GroupId=[^ ]*')"
ok "$B's reuse of $A's token made job $jb of $B's (A's retry: $ja); it shows UserId=$B($uidB), not the uid 0 its client claimed"

# 8c. Bounds: array indexes below 1001 (SLURM's MaxArraySize); at most
#     10000 jobs of one user queued or running. Held behind a dependency
#     so that nothing runs.
expect_error "an array of 20001 tasks" "above this cluster's limit (ternd --max-array-size 1001" \
    as "$A" tern submit --array 0-20000 -o /dev/null -- true
blocker=$(as "$A" tern submit --parsable -o /dev/null -- sleep 300) || fail "submit the blocker"
n=$(mine "$A")
refused=""
for i in $(seq 12); do
    bare "$A" tern submit --parsable --array 0-999 -o /dev/null --dependency "afterok:$blocker" \
        -- true >/dev/null 2>"$T/arr.err" || { refused=$(cat "$T/arr.err"); break; }
done
echo "$refused" | grep -q "may have at most 10000 (ternd --max-pending-per-user)" \
    || fail "$A's submissions past 10000 jobs: '$refused' after $i arrays"
have=$(mine "$A")
[ "$have" -le 10000 ] && [ "$have" -gt 9000 ] || fail "$A has $have jobs queued or running"
echo nodes | poke "$T/keys/$B.key" | grep -q "^nodes 2" || fail "$B cannot use the cluster"
tern cancel "$blocker" >/dev/null
ok "arrays past index 1000 refused; $A's submission past 10000 jobs refused ($have queued): $refused"
