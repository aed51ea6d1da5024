# A worker running as root runs each job's ranks as the user who submitted
# it: that user's uid, gid and groups as this node knows them, USER and
# LOGNAME, in the submit directory. What the worker creates for the job
# (the -o files and their directories, the job directory where checkpoints,
# progress and srun's output go) belongs to the user. A batch script and
# its srun steps run as the user too. A user with no account on the node
# gets a failed job that says so, never a rank as root.
. "$(dirname "$0")/lib.sh"

can_make_users || { echo "skip - ranks as the submitting user: $MAKE_USER_SKIP"; exit 0; }
PATH="$PATH:/usr/sbin:/sbin"

up --workers 2 --cpus-per-worker 2
# The users must reach the cluster's file (.tern/cluster, 0644 in a 0711
# directory), the submit directory, and a directory they can write; their
# processes' sanitizer reports (the ASan build) go to $T too. mktemp made
# $T 0700.
chmod 1777 "$T"
mkdir -m 1777 "$T/shared"

u1=tern$$a u2=tern$$b
make_user "$u1"
uid1=$MADE_UID gid1=$MADE_GID
make_user "$u2"
uid2=$MADE_UID gid2=$MADE_GID
usermod -a -G "$u1" "$u2" || fail "usermod: cannot add $u2 to group $u1"

# The key says who submits: each user has one (what 'tern keygen' makes),
# which the admin (who ran 'tern up') lists in the cluster's authorized
# keys. ghost's names a user no node knows; $u0's a user whose uid is 0
# (an alias of root) but who is no admin.
ghost=ghost$$
u0=tern$$r
make_user "$u0" -o -u 0
mkdir -m 0711 "$T/keys"
for u in "$u1" "$u2" "$ghost" "$u0"; do
    pub=$(tern keygen -o "$T/keys/$u.key" 2>"$T/keygen.err") || fail "tern keygen: $(cat "$T/keygen.err")"
    getent passwd "$u" >/dev/null && chown "$u:" "$T/keys/$u.key"
    echo "user $u $pub" >>"$T/.tern/keys/authorized_keys"
done
sleep 1.1   # ternd looks at the file again at most once a second

# as_user USER COMMAND...: COMMAND as USER (uid, gid and groups) with USER's
# key for the tern CLI, and ternd's public key (the ranks inherit both, for
# their srun).
server_key=$(sed -n 's/^server_key=//p' "$T/.tern/cluster")
as_user() {
    local u=$1
    shift
    TERN_KEY="$T/keys/$u.key" TERN_SERVER_KEY="$server_key" setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

# submit_as USER ARGS...: 'tern submit ARGS...' as USER.
submit_as() {
    local u=$1
    shift
    as_user "$u" "$TERN_BIN/tern" submit "$@"
}

# owner PATH: "uid:gid" of PATH.
owner() { stat -c %u:%g "$1"; }

# 1. Two users, 2 nodes x 2 tasks each: every rank has its user's ids and
# groups (u2 is also in u1's group), and -o made its directory and files
# as the user.
for u in "$u1" "$u2"; do
    id=$(submit_as "$u" --parsable -N 2 --ntasks-per-node 2 -o "$T/shared/$u/out-%j-%t.txt" -- \
        sh -c 'echo "$(id -u) $(id -g) $(id -G) $USER $LOGNAME $(pwd)"') || fail "submit as $u"
    tern wait "$id" --timeout 30 >/dev/null || fail "job $id of $u: $(tern show "$id")"
    if [ "$u" = "$u1" ]; then
        want="$uid1 $gid1 $gid1 $u1 $u1 $T" own=$uid1:$gid1
    else
        want="$uid2 $gid2 $gid2 $gid1 $u2 $u2 $T" own=$uid2:$gid2
    fi
    [ "$(owner "$T/shared/$u")" = "$own" ] || fail "-o's directory is $(owner "$T/shared/$u"), not $u's"
    for r in 0 1 2 3; do
        f="$T/shared/$u/out-$id-$r.txt"
        [ "$(cat "$f")" = "$want" ] || fail "$u's rank $r wrote '$(cat "$f")', expected '$want'"
        [ "$(owner "$f")" = "$own" ] || fail "$u's rank $r output is owned by $(owner "$f")"
    done
done
[ "$uid1" -ne 0 ] && [ "$uid2" -ne 0 ] || fail "a test user is root"
ok "4 ranks each of $u1 (uid $uid1 gid $gid1) and $u2 (uid $uid2 gid $gid2, groups $gid2 $gid1) ran with their ids, USER and LOGNAME, in $T; -o files and directory theirs"

# 2. The job directory is the user's: train_mlp (2 nodes) reports its
# progress there and checkpoints to its default TERN_CHECKPOINT_DIR in it;
# the user reads the log with tern logs.
mlp=$(submit_as "$u1" --parsable -N 2 -- "$TERN_BIN/train_mlp" --steps 100000 --ckpt-every 20 \
      --log-every 10 --step-delay-ms 5) || fail "submit train_mlp as $u1"
jobdir="$T/.tern/logs/$mlp"
wait_for 20 sh -c "[ \$(tern show $mlp --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"progress\"])') -gt 0 ]" \
    || fail "no progress from $u1's job: $(tern show "$mlp"); $(tern logs "$mlp" 2>&1 | tail -n 5)"
wait_for 20 test -s "$jobdir/checkpoints/LATEST" \
    || fail "no checkpoint in $jobdir/checkpoints: $(tern logs "$mlp" 2>&1 | tail -n 5)"
[ "$(owner "$jobdir")" = "$uid1:$gid1" ] || fail "the job directory is $(owner "$jobdir")"
[ "$(owner "$jobdir/checkpoints/LATEST")" = "$uid1:$gid1" ] || fail "LATEST is $(owner "$jobdir/checkpoints/LATEST")"
as_user "$u1" "$TERN_BIN/tern" logs "$mlp" --rank 0 \
    >"$T/mlp.log" 2>&1 || fail "tern logs as $u1: $(cat "$T/mlp.log")"
grep -q "^step 10 " "$T/mlp.log" || fail "$u1's tern logs: $(head -n 5 "$T/mlp.log")"
tern cancel "$mlp" >/dev/null
tern wait "$mlp" --timeout 30 >/dev/null 2>&1
ok "$u1's train_mlp reported progress and checkpointed in its job directory (owned by $u1); $u1 read its log"

# 3. A batch script runs as the user, and so do the tasks of its srun.
cat >"$T/shared/job.sbatch" <<'SCRIPT'
#!/bin/sh
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
echo "batch $(id -u) $(id -g) $USER"
srun sh -c 'echo "task $SLURM_PROCID $(id -u) $(id -g) $USER"'
echo "srun exit $?"
SCRIPT
chmod 0644 "$T/shared/job.sbatch"
b=$(submit_as "$u2" --parsable -o "$T/shared/$u2/batch-%j.txt" "$T/shared/job.sbatch") \
    || fail "submit the batch script as $u2"
tern wait "$b" --timeout 60 >/dev/null || fail "batch job $b: $(tern show "$b"); $(cat "$T/shared/$u2/batch-$b.txt")"
out="$T/shared/$u2/batch-$b.txt"
grep -qx "batch $uid2 $gid2 $u2" "$out" || fail "the batch part: $(cat "$out")"
for p in 0 1 2 3; do
    grep -qx "task $p $uid2 $gid2 $u2" "$out" || fail "srun task $p: $(cat "$out")"
done
grep -qx "srun exit 0" "$out" || fail "srun: $(cat "$out")"
[ "$(owner "$T/.tern/logs/$b/script")" = "$uid2:$gid2" ] || fail "the script copy is $(owner "$T/.tern/logs/$b/script")"
ok "$u2's batch script and its srun step's 4 tasks ran as $u2"

# 4. A user this node does not know: the job fails, each rank saying why,
# and nothing runs. A user whose uid is 0 is refused too, unlike an admin.
n=$(TERN_KEY="$T/keys/$ghost.key" tern submit --parsable -N 2 -- touch "$T/shared/ran") \
    || fail "submit as $ghost"
tern wait "$n" --timeout 30 >/dev/null 2>&1 && fail "job $n of a user with no account succeeded"
show=$(tern show "$n")
echo "$show" | grep -qE "user '$ghost' has no account on node node[12]" \
    || fail "job $n does not say why: $show"
grep -q "job=$n attempt=0 node=node[12]: launch refused: user '$ghost' has no account" \
    "$T"/.tern/worker-node*.log || fail "no worker log line for job $n"
r=$(submit_as "$u0" --parsable -- touch "$T/shared/ran") || fail "submit as $u0"
tern wait "$r" --timeout 30 >/dev/null 2>&1 && fail "job $r of $u0 (uid 0, no admin) succeeded"
tern show "$r" | grep -q "job $r would run as root but was not submitted with an admin key" \
    || fail "job $r does not say why: $(tern show "$r")"
[ ! -e "$T/shared/ran" ] || fail "a rank of job $n or $r ran"
a=$(tern submit --parsable -- id -u) || fail "submit as the admin"
tern wait "$a" --timeout 30 >/dev/null || fail "the admin's job: $(tern show "$a")"
[ "$(tern logs "$a")" = 0 ] || fail "the admin's job ran as uid $(tern logs "$a")"
ok "job $n of $ghost (no account) failed: \"$(echo "$show" | grep -oE "user '$ghost' has no account on node node[12]" | head -n 1)\"; job $r of $u0 (uid 0, no admin key) refused; nothing ran; the admin's job ran as root"

# 5. The worker opens the output and enters the working directory as the
# user: where the user may not go (root could), the job fails with the
# reason.
mkdir -m 0700 "$T/private"
d=$(submit_as "$u1" --parsable -D "$T/private" -- true) || fail "submit -D as $u1"
tern wait "$d" --timeout 30 >/dev/null 2>&1 && fail "job $d ran in a directory $u1 cannot enter"
tern show "$d" | grep -q "cannot run [^ ]*/true in $T/private: Permission denied" \
    || fail "job $d: $(tern show "$d")"
o=$(submit_as "$u1" --parsable -o "$T/private/out.txt" -- true) || fail "submit -o as $u1"
tern wait "$o" --timeout 30 >/dev/null 2>&1 && fail "job $o wrote where $u1 cannot"
tern show "$o" | grep -q "cannot open output $T/private/out.txt: Permission denied" \
    || fail "job $o: $(tern show "$o")"
[ ! -e "$T/private/out.txt" ] || fail "the worker created $T/private/out.txt for $u1"
ok "$u1's job in a directory it cannot enter, and one writing where it cannot, failed with Permission denied"
