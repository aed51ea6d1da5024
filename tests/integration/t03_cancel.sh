# tern cancel: a running job's ranks are all gone and it ends CA; a pending
# job never starts.
. "$(dirname "$0")/lib.sh"

up --workers 2 --cpus-per-worker 2
mkdir -p "$T/pids" "$T/started"
running=$(tern submit --parsable -N 2 --ntasks-per-node 2 -- sh -c \
    'echo $$ > '"$T"'/pids/$RANK; exec sleep 300') || fail "submit running"
wait_for 20 count_is "$T/pids" 4 || fail "ranks did not start"
# The cluster is full: this one waits for resources.
pending=$(tern submit --parsable -N 1 -- sh -c 'touch '"$T"'/started/$TERN_JOB_ID') \
    || fail "submit pending"
state_is "$pending" PD || fail "job $pending should be pending, is $(job_state "$pending")"
tern queue | grep -E "^ *$pending .* PD .*\(Resources\)" >/dev/null || fail "queue reason: $(tern queue)"
ok "job $pending pending with reason Resources"

tern cancel "$pending" || fail "cancel pending"
state_is "$pending" CA || fail "pending job state $(job_state "$pending") after cancel"
tern cancel "$running" || fail "cancel running"
tern wait "$running" --timeout 30 2>/dev/null
rc=$?
[ "$rc" -eq 143 ] || fail "wait on cancelled job exited $rc, expected 143"
state_is "$running" CA || fail "running job state $(job_state "$running") after cancel"
wait_for 5 pids_gone "$T"/pids/* || fail "ranks alive after cancel"
ok "cancelled running job $running: state CA, all 4 ranks gone"

# The freed cluster runs new work, but never the cancelled job.
after=$(tern submit --parsable -N 2 true) || fail "submit after"
tern wait "$after" --timeout 30 || fail "job $after did not complete"
[ ! -e "$T/started/$pending" ] || fail "cancelled pending job $pending ran"
expect_error "cancel a finished job" "already CANCELLED" tern cancel "$pending"
ok "cancelled pending job $pending never started"

# A time limit: the --signal warning first, then the end, state TO.
id=$(tern submit --parsable -t 0:02 --signal USR1@1 -- sh -c \
    'trap "echo warned" USR1; while :; do sleep 0.1; done') || fail "submit timed job"
tern wait "$id" --timeout 30 2>/dev/null
rc=$?
[ "$rc" -eq 142 ] || fail "a timed-out job: wait exited $rc, expected 142"
state_is "$id" TO || fail "state $(job_state "$id"), expected TO"
tern logs "$id" | grep -qx warned || fail "no USR1 warning before the limit: $(tern logs "$id")"
ok "job $id warned with USR1, ended TO at its 2 s limit"
