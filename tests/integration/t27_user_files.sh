# What another user of the node can do to a job, and cannot. A MASTER_PORT
# some other process listens on is skipped by the job's first node for a
# free one of ternd's --master-ports range, which every rank gets (with the
# whole range held the job fails, saying so). What the
# worker and libtern make for a job (its directory, the -o files and their
# directory, the script copy, the checkpoint directory, its steps and
# lock) is the job's user's, with modes 0750 / 0640 less the submitting
# shell's umask, and the lock 0600: a user of the job's group reads the
# checkpoints but cannot flock the lock and stall the saves. The worker
# reads a job's LATEST as the job's user, so a --checkpoint-dir in someone
# else's private directory records nothing from it. A job's srun reaches a
# ternd without keys (its ranks get TERN_INSECURE=1); with keys a
# submitter's TERN_INSECURE does not reach the ranks.
. "$(dirname "$0")/lib.sh"

can_make_users || { echo "skip - files of a job's user: $MAKE_USER_SKIP"; exit 0; }
PATH="$PATH:/usr/sbin:/sbin"
umask 022

# 1. A ternd without keys whose MASTER_PORT range is 3 ports, two of them
# held by a listener of another process (one at 127.0.0.1, one at the
# wildcard address): every job's ranks, on both nodes, get the third.
lo=$(python3 -c '
import random, socket
for _ in range(200):
    p = random.randrange(20000, 30000)
    try:
        for q in (p, p + 1, p + 2):
            s = socket.socket(); s.bind(("0.0.0.0", q)); s.close()
        print(p); break
    except OSError:
        pass
') || fail "no 3 free ports in 20000-30000"
free=$((lo + 2))
python3 -c '
import socket, sys, time
held = []
for addr, port in (("127.0.0.1", int(sys.argv[1])), ("0.0.0.0", int(sys.argv[1]) + 1)):
    s = socket.socket(); s.bind((addr, port)); s.listen(); held.append(s)
open(sys.argv[2], "w").write("ready\n")
time.sleep(300)
' "$lo" "$T/squatter.ready" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/squatter.ready" || fail "the squatter did not start"

mkdir "$T/plain"
ternd_in "$T/plain" --master-ports "$lo-$free"
two_workers "$T/plain"
# plain ARGS...: tern against that ternd, consenting to plain text
# (--insecure: the jobs' environment has no TERN_INSECURE of its own).
plain() { TERN_SCHEDULER=$CLIENT_EP tern --insecure "$@"; }
two_up() { [ "$(plain nodes | grep -c ' UP ')" -eq 2 ]; }
wait_for 10 two_up \
    || fail "workers did not register: $(cat "$T"/plain/node*.log)"
# ternd picks any port of the range: jobs until one was given a held one.
moved=0
for i in $(seq 10); do
    id=$(plain submit --parsable -N 2 -o "$T/plain/mp-%j-%t.txt" -- \
         sh -c 'echo "$MASTER_PORT ${TERN_INSECURE-unset}"') || fail "submit to the plain ternd"
    plain wait "$id" --timeout 30 >/dev/null || fail "job $id: $(plain show "$id"); $(cat "$T"/plain/*.log | tail -n 20)"
    for r in 0 1; do
        [ "$(cat "$T/plain/mp-$id-$r.txt")" = "$free 1" ] \
            || fail "job $id rank $r: MASTER_PORT and TERN_INSECURE '$(cat "$T/plain/mp-$id-$r.txt")', want '$free 1'"
    done
    if grep -qE "job=$id attempt=0: MASTER_PORT ($lo|$((lo + 1))) is in use on this node; using $free" \
        "$T"/plain/node*.log; then
        moved=$((moved + 1))
        break
    fi
done
[ "$moved" -eq 1 ] || fail "in $i jobs ternd never gave a held port of $lo-$free"
ok "a squatted MASTER_PORT: job $id's node rank 0 took $free instead ($i jobs), both nodes' ranks use it; ranks of a keyless ternd have TERN_INSECURE=1"
# 2. A cluster with keys and two users; B is in A's group.
up --workers 2 --cpus-per-worker 2
chmod 1777 "$T"
mkdir -m 1777 "$T/shared"
a=tern$$f b=tern$$g
make_user "$a"
make_user "$b"
usermod -a -G "$a" "$b" || fail "usermod: cannot add $b to group $a"
mkdir -m 0711 "$T/keys"
for u in "$a" "$b"; do
    pub=$(tern keygen -o "$T/keys/$u.key" 2>"$T/keygen.err") || fail "tern keygen: $(cat "$T/keygen.err")"
    chown "$u:" "$T/keys/$u.key"
    echo "user $u $pub" >>"$T/.tern/keys/authorized_keys"
done
sleep 1.1   # ternd looks at the file again at most once a second
server_key=$(server_key)
# as_user USER COMMAND...: COMMAND as USER, with USER's key.
as_user() {
    local u=$1
    shift
    TERN_KEY="$T/keys/$u.key" TERN_SERVER_KEY="$server_key" \
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}
modes() { stat -c '%a %U' "$@" | tr '\n' ' ' | sed 's/ $//'; }

# A batch script whose srun trains with checkpoints in the job directory,
# submitted by A with umask 022 and with 077: the modes of all it made.
cat >"$T/shared/train.sbatch" <<SCRIPT
#!/bin/sh
srun -n 1 $TERN_BIN/train_mlp --steps 40 --ckpt-every 20
echo "TERN_INSECURE=\${TERN_INSECURE-unset}"
SCRIPT
chmod 0644 "$T/shared/train.sbatch"
for m in 022 077; do
    if [ "$m" = 022 ]; then d=750 f=640; else d=700 f=600; fi
    id=$(as_user "$a" sh -c "umask $m; TERN_INSECURE=1 exec $TERN_BIN/tern submit --parsable \
         -o $T/shared/$a-$m/out-%j.txt $T/shared/train.sbatch") || fail "submit as $a (umask $m)"
    tern wait "$id" --timeout 60 >/dev/null || fail "job $id: $(tern show "$id"); $(cat "$T/shared/$a-$m/out-$id.txt")"
    jd="$T/.tern/logs/$id" ck="$T/.tern/logs/$id/checkpoints"
    grep -qx "TERN_INSECURE=unset" "$T/shared/$a-$m/out-$id.txt" \
        || fail "a submitter's TERN_INSECURE reached the batch script of a cluster with keys"
    [ "$(cat "$ck/LATEST")" = step-40 ] || fail "job $id: no step 40 in $ck: $(cat "$T/shared/$a-$m/out-$id.txt")"
    want="$d $a $d $a $d $a $d $a $d $a"
    got=$(modes "$jd" "$jd/script" "$T/shared/$a-$m" "$ck" "$ck/step-40")
    [ "$got" = "$want" ] || fail "umask $m: job dir, script, -o dir, checkpoint dir, step dir: '$got', want '$want'"
    want="$f $a $f $a $f $a $f $a $f $a 600 $a"
    got=$(modes "$T/shared/$a-$m/out-$id.txt" "$ck/LATEST" "$ck/OWNER" "$ck/step-40/MANIFEST" \
          "$ck/step-40/shard-0-of-1" "$ck/.lock")
    [ "$got" = "$want" ] || fail "umask $m: -o file, LATEST, OWNER, MANIFEST, shard, .lock: '$got', want '$want'"
    ok "umask $m: the job directory, script copy, -o directory, checkpoint and step directories are $d; -o file, LATEST, OWNER, MANIFEST, shard $f; the lock 600; all $a's"
done

# 3. B (in A's group) reads A's checkpoints but cannot open their lock,
# and A's training saves every step while B keeps trying.
id=$(as_user "$a" sh -c "umask 022; exec $TERN_BIN/tern submit --parsable \
     --checkpoint-dir $T/shared/$a-ckpt -- $TERN_BIN/train_mlp --steps 300 --ckpt-every 20 \
     --step-delay-ms 10") || fail "submit train_mlp as $a"
wait_for 20 test -e "$T/shared/$a-ckpt/.lock" || fail "no lock in $T/shared/$a-ckpt: $(tern show "$id")"
tries=0 refused=0
while ! state_is "$id" CD && [ "$tries" -lt 200 ]; do
    err=$(setpriv --reuid="$b" --regid="$(id -g "$b")" --init-groups -- \
          flock -n "$T/shared/$a-ckpt/.lock" true 2>&1) && fail "$b locked $a's checkpoint lock"
    case "$err" in *"Permission denied"*) refused=$((refused + 1)) ;; *) fail "$b's flock: $err" ;; esac
    tries=$((tries + 1))
    sleep 0.05
done
tern wait "$id" --timeout 60 >/dev/null || fail "$a's training: $(tern show "$id"); $(tern logs "$id" | tail -n 5)"
[ "$(cat "$T/shared/$a-ckpt/LATEST")" = step-300 ] || fail "LATEST: $(cat "$T/shared/$a-ckpt/LATEST")"
setpriv --reuid="$b" --regid="$(id -g "$b")" --init-groups -- cat "$T/shared/$a-ckpt/LATEST" >/dev/null \
    || fail "$b of $a's group cannot read $a's LATEST"
tern show "$id" | grep -q "Checkpoints=.*300" || fail "$a's job records no checkpoint 300: $(tern show "$id")"
ok "$b (in $a's group) read $a's LATEST; $refused flocks of $a's checkpoint lock refused (Permission denied) while $a's job saved to step 300"

# 4. A's job with --checkpoint-dir in B's private directory, which holds a
# LATEST of B's: nothing of it in A's record.
mkdir -p "$T/shared/$b-private/ckpt"
echo step-42 >"$T/shared/$b-private/ckpt/LATEST"
chown -R "$b:" "$T/shared/$b-private"
chmod 0700 "$T/shared/$b-private"
id=$(as_user "$a" "$TERN_BIN/tern" submit --parsable --checkpoint-dir "$T/shared/$b-private/ckpt" \
     -- sleep 2.5) || fail "submit as $a"
tern wait "$id" --timeout 30 >/dev/null || fail "job $id: $(tern show "$id")"
tern show "$id" | grep -q "Checkpoints=" && fail "$a's job recorded $b's checkpoint: $(tern show "$id" | grep Checkpoints)"
ok "$a's job with --checkpoint-dir in $b's 0700 directory recorded no checkpoint from $b's LATEST"

# 5. With the third port of the keyless ternd's range held too, a job fails
# at once (exit 126), saying why.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").write("ready\n")
time.sleep(300)
' "$free" "$T/squatter2.ready" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/squatter2.ready" || fail "the second squatter did not start"
id=$(plain submit --parsable -N 2 -- true) || fail "submit to the plain ternd"
plain wait "$id" --timeout 20 >/dev/null 2>&1
rc=$?
[ "$rc" -eq 126 ] || fail "job $id with every MASTER_PORT held: tern wait $rc, not 126: $(plain show "$id")"
why="MASTER_PORT [0-9]* and every other port of $lo-$free are in use on node node[12]"
plain show "$id" | grep -qE "$why" || fail "job $id does not say why: $(plain show "$id")"
ok "every port of $lo-$free held: job $id failed: $(plain show "$id" | grep -oE "$why" | head -n 1)"
