# Where tern talks, and what it sends and shows. A .tern/cluster that
# another user could have written (theirs, writable by others, a link) is
# passed over with one line saying why, and nothing reaches the listener it
# names; tern never talks to a scheduler in plain text unless told so
# (--insecure, TERN_INSECURE=1); a 'tern submit' inside a batch job submits
# as the job's user without the job's key in the child's record, whose
# environment values another user does not see; tern show escapes the
# control characters of a job's argv; tern up's files are private where
# they should be.
. "$(dirname "$0")/lib.sh"

can_make_users || { echo "skip - a cluster file planted by another user: $MAKE_USER_SKIP"; exit 0; }
PATH="$PATH:/usr/sbin:/sbin"
# The users work in $T/shared and write their sanitizer reports (the ASan
# build) to $T.
chmod 1777 "$T"
mkdir -m 1777 "$T/shared"
A=tc$$a B=tc$$b
make_user "$A"
make_user "$B"
uid_b=$MADE_UID

# as USER COMMAND...: COMMAND as USER, with none of this shell's tern settings.
as() {
    local u=$1
    shift
    setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- \
        env -u TERN_SCHEDULER -u TERN_INSECURE -u TERN_KEY -u TERN_SERVER_KEY "$@"
}

# B listens on a port of his own and notes every connection and byte.
# (setpriv and env exec: $! is the listener's PID.)
setpriv --reuid="$B" --regid="$(id -g "$B")" --init-groups -- env python3 -c '
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    c.settimeout(1)
    try:
        data = c.recv(65536)
    except OSError:
        data = b""
    with open(sys.argv[2], "a") as f:
        f.write("connection, %d bytes\n" % len(data))
    c.close()
' "$T/shared/b.port" "$T/shared/b.heard" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/shared/b.port" || fail "B's listener did not start"
bport=$(cat "$T/shared/b.port")
# (It hears a probe: what it hears of A's tern below would show.)
python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).sendall(b"probe")' "$bport"
wait_for 10 grep -q "connection, 5 bytes" "$T/shared/b.heard" || fail "B's listener hears nothing"
bkey=$(tern keygen -o "$T/b-server.key" 2>/dev/null) || fail "tern keygen"

# plant DIR [server_key=KEY]: B's .tern/cluster in DIR naming his listener.
plant() {
    as "$B" mkdir -p "$1/.tern"
    printf 'scheduler=tcp://127.0.0.1:%s\nternd_pid=\n%s\n' "$bport" "${2:-}" |
        as "$B" sh -c "cat >'$1/.tern/cluster'"
}

# refused_with WHAT IGNORED-LINE COMMAND...: the command fails, the first line
# on stderr is IGNORED-LINE, and the second says there is no scheduler.
refused_with() {
    local what=$1 want=$2
    shift 2
    "$@" >/dev/null 2>"$T/err" && fail "$what: exit status 0"
    [ "$(wc -l <"$T/err")" -eq 2 ] || fail "$what: expected two lines on stderr, got: $(cat "$T/err")"
    [ "$(head -n 1 "$T/err")" = "$want" ] || fail "$what: '$(head -n 1 "$T/err")', expected '$want'"
    grep -q "no scheduler: give --scheduler" "$T/err" || fail "$what: $(cat "$T/err")"
    ok "$what: $(head -n 1 "$T/err")"
}

# 1. B plants a cluster file where A works: with no server key (plain text to
# B), and with a key of B's (CURVE to B). A's tern passes both over.
cd "$T/shared"
plant "$T/shared"
owned="owned by $B (uid $uid_b), not by you or root"
refused_with "A's tern submit beside B's cluster file" \
    "tern: ignoring $T/shared/.tern/cluster: $owned" as "$A" tern submit -- true
refused_with "A's tern queue beside it" "tern: ignoring $T/shared/.tern/cluster: $owned" \
    as "$A" tern queue
as "$B" mkdir -m 1777 "$T/keyed"
plant "$T/keyed" "server_key=$bkey"
cd "$T/keyed"
refused_with "B's cluster file with a server key" \
    "tern: ignoring $T/keyed/.tern/cluster: $owned" as "$A" tern submit -- true
# A's own files, but others may write the file, or the directory; or the file
# is a link to B's.
as "$A" mkdir -p "$T/a/.tern" "$T/a2/.tern" "$T/a3/.tern"
as "$A" cp "$T/shared/.tern/cluster" "$T/a/.tern/cluster"
as "$A" chmod 666 "$T/a/.tern/cluster"
cd "$T/a"
refused_with "A's cluster file writable by others" \
    "tern: ignoring $T/a/.tern/cluster: writable by others" as "$A" tern queue
as "$A" cp "$T/shared/.tern/cluster" "$T/a2/.tern/cluster"
as "$A" chmod 775 "$T/a2/.tern"
cd "$T/a2"
refused_with "A's cluster directory writable by its group" \
    "tern: ignoring $T/a2/.tern/cluster: its directory is writable by its group" \
    as "$A" tern queue
as "$A" ln -s "$T/shared/.tern/cluster" "$T/a3/.tern/cluster"
cd "$T/a3"
refused_with "A's cluster file a link" "tern: ignoring $T/a3/.tern/cluster: a symbolic link" \
    as "$A" tern queue
cd "$T"
sleep 0.2
[ "$(cat "$T/shared/b.heard")" = "connection, 5 bytes" ] || fail "B's listener heard: $(cat "$T/shared/b.heard")"
ok "B's listener on port $bport received nothing from A's tern"

# 2. A ternd without keys: refused before a byte is sent, unless asked for.
ternd --state "$T/plain.db" --client tcp://127.0.0.1:0 --worker tcp://127.0.0.1:0 \
    --endpoints-file "$T/plain.ep" 2>"$T/plain.log" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/plain.ep" || fail "ternd did not start"
plain=$(sed -n 's/^client=//p' "$T/plain.ep")
expect_error "a ternd without keys" \
    "tern: queue: the scheduler at $plain: no server key known, so the connection would not be encrypted or authenticated: set TERN_SERVER_KEY (ternd's public key), or give --insecure for a scheduler that runs without keys" \
    env -u TERN_INSECURE TERN_SCHEDULER="$plain" tern queue
TERN_SCHEDULER=$plain tern --insecure queue >/dev/null || fail "tern --insecure queue"
TERN_SCHEDULER=$plain tern queue --insecure >/dev/null || fail "tern queue --insecure"
env -u TERN_SCHEDULER tern --insecure --scheduler "$plain" queue >/dev/null \
    || fail "tern --insecure --scheduler URL queue (the options before the command)"
TERN_SCHEDULER=$plain TERN_INSECURE=1 tern queue >/dev/null || fail "TERN_INSECURE=1 tern queue"
id=$(TERN_SCHEDULER=$plain tern submit --insecure --parsable -- true) || fail "tern submit --insecure"
ok "with --insecure (before or after the command) or TERN_INSECURE=1 it works: job $id"
printf '#!/bin/sh\n#TERN --insecure\ntrue\n' >"$T/insecure.sh"
expect_error "--insecure in a script" "$T/insecure.sh:2: --insecure is an option of the command line only" \
    env TERN_SCHEDULER="$plain" tern submit "$T/insecure.sh"

# 3. A local cluster (keys on), whose files others may reach but not read.
up --workers 1 --cpus-per-worker 2
for f in .tern:711 .tern/logs:711 .tern/cluster:644 .tern/keys:700 .tern/ternd.log:600 \
    .tern/worker-node1.log:600; do
    [ "$(stat -c %a "$T/${f%:*}")" = "${f#*:}" ] || fail "$T/${f%:*} has mode $(stat -c %a "$T/${f%:*}")"
done
ok "tern up: .tern and .tern/logs 0711, the cluster file 0644, keys 0700, daemon logs 0600"
for u in "$A" "$B"; do
    pub=$(tern keygen -o "$T/$u.key" 2>/dev/null) || fail "tern keygen"
    chown "$u:" "$T/$u.key"
    echo "user $u $pub" >>"$T/.tern/keys/authorized_keys"
done
sleep 1.1   # ternd looks at the file again at most once a second
# B's file still beside A: passed over, and the cluster above (root's) found.
cd "$T/shared"
as "$A" env TERN_KEY="$T/$A.key" tern queue >/dev/null 2>"$T/err" || fail "A's queue: $(cat "$T/err")"
[ "$(cat "$T/err")" = "tern: ignoring $T/shared/.tern/cluster: $owned" ] || fail "A's queue said: $(cat "$T/err")"
ok "B's cluster file passed over, the local cluster above it found"

# 4. A batch job of A's submits a job itself: as A, without the job's key.
mkdir -m 1777 "$T/nest"
cat >"$T/nest/job.sh" <<EOF
#!/bin/sh
#TERN -o $T/nest/out-%j.txt
[ -n "\$TERN_JOB_KEY" ] || { echo "no TERN_JOB_KEY in the batch job"; exit 1; }
tern submit --parsable -J child -- true >$T/nest/child.id
EOF
chmod 755 "$T/nest/job.sh"
cd "$T/nest"
parent=$(as "$A" env TERN_KEY="$T/$A.key" tern submit --parsable "$T/nest/job.sh") || fail "A's submit"
tern wait "$parent" --timeout 30 >/dev/null || fail "batch job $parent: $(cat "$T/nest/out-$parent.txt")"
child=$(cat "$T/nest/child.id")
tern wait "$child" --timeout 30 >/dev/null || fail "child job $child"
tern history --json --env "$child" >"$T/child.json" || fail "tern history $child"
python3 - "$T/child.json" "$A" <<'EOF' || fail "child job $child: $(cat "$T/child.json")"
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
assert job["user"] == sys.argv[2], job["user"]
assert "TERN_JOB_KEY" not in job["environment"], "TERN_JOB_KEY recorded"
assert "TERN_JOB_ID" in job["environment"], "not submitted from the batch job"
EOF
ok "batch job $parent of $A submitted job $child as $A; its recorded environment has no TERN_JOB_KEY"
# B sees the names of A's environment, not the values, and is told why.
as "$B" env TERN_KEY="$T/$B.key" tern history --env "$child" >"$T/b-history.txt" ||
    fail "tern history as $B"
grep -qx "     TERN_JOB_ID" "$T/b-history.txt" && ! grep -q "TERN_JOB_ID=" "$T/b-history.txt" &&
    grep -qx "   (values hidden: job $child belongs to $A)" "$T/b-history.txt" ||
    fail "tern history --env as $B: $(cat "$T/b-history.txt")"
ok "$B's tern history --env of job $child: names alone, '(values hidden: job $child belongs to $A)'"

# 5. Control characters in a job's argv are shown escaped.
cd "$T"
id=$(tern submit --parsable -- echo "$(printf 'a\033[2Jb')" "$(printf 'two\nlines')") || fail "submit"
tern show "$id" >"$T/show.txt" || fail "tern show $id"
grep -qF 'Command=echo a\x1b[2Jb two\nlines' "$T/show.txt" || fail "tern show: $(cat -v "$T/show.txt")"
! grep -q "$(printf '\033')" "$T/show.txt" || fail "tern show printed an ESC"
[ "$(grep -c '^   Command=' "$T/show.txt")" -eq 1 ] && ! grep -q '^lines' "$T/show.txt" ||
    fail "tern show printed the argv's newline"
ok "tern show: $(grep Command= "$T/show.txt")"
