# Shared by the integration scenarios: each sources this, then reads like a
# user's session. Everything runs in a fresh temporary directory; every
# daemon started is killed by PID on exit, whatever happens.
set -u

: "${TERN_BIN:?TERN_BIN must name the directory of tern, ternd, tern-worker}"
: "${TERN_TESTBIN:=}"
export PATH="$TERN_BIN:$PATH"
export TERN_TIMEOUT=${TERN_TIMEOUT:-20}
TESTS=$(cd "$(dirname "$0")/.." && pwd)     # the tests/ directory
T=$(mktemp -d "${TMPDIR:-/tmp}/tern-it.XXXXXX")
PIDS=""
MOUNTS=""
TEST_USERS=""
cd "$T" || exit 1

# PIDs of the local cluster in $T/.tern, from its cluster file.
cluster_pids() {
    [ -f "$T/.tern/cluster" ] || return 0
    sed -n 's/^ternd_pid=//p; s/^worker=[^ ]* //p' "$T/.tern/cluster"
}

# Sanitizer reports (the ASan/UBSan build) from every process, daemons
# included, go to files that cleanup turns into a failure.
export ASAN_OPTIONS="log_path=$T/sanitizer:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$T/sanitizer:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

cleanup() {
    local rc=$? p
    exec 2>/dev/null    # no "Killed" notices for our own background daemons
    # Daemons stop gracefully first, so that they run their exit checks.
    [ -f "$T/.tern/cluster" ] && tern down --dir "$T/.tern" >/dev/null
    for p in $PIDS; do kill "$p"; done
    for p in $PIDS; do
        for _ in $(seq 100); do kill -0 "$p" || break; sleep 0.05; done
    done
    for p in $PIDS $(cluster_pids); do kill -9 "$p"; done
    # Ranks die with their worker (PR_SET_PDEATHSIG); give them a moment.
    sleep 0.1
    for p in $MOUNTS; do umount "$p"; done
    # Users made for the scenario, and their groups if userdel left them.
    for p in $TEST_USERS; do
        PATH="$PATH:/usr/sbin:/sbin" userdel "$p" || PATH="$PATH:/usr/sbin:/sbin" userdel -f "$p"
        getent group "$p" >/dev/null && PATH="$PATH:/usr/sbin:/sbin" groupdel "$p"
    done
    if ls "$T"/sanitizer.* >/dev/null 2>&1; then
        echo "FAIL: sanitizer reports:"
        cat "$T"/sanitizer.*
        rc=1
    fi
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/.tern/*.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}

ok() { echo "ok - $*"; }

# wait_for SECONDS COMMAND...: retries COMMAND until it succeeds.
wait_for() {
    local secs=$1 i=0
    shift
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -gt $((secs * 20)) ] && return 1
        sleep 0.05
    done
}

# expect_error "what" EXPECTED_SUBSTRING COMMAND...: the command must fail
# with exactly one line on stderr containing the substring.
expect_error() {
    local what=$1 want=$2 rc
    shift 2
    local err="$T/.expect.err"
    "$@" >/dev/null 2>"$err"
    rc=$?
    [ "$rc" -ne 0 ] || fail "$what: exit status 0"
    [ "$(wc -l <"$err")" -eq 1 ] || fail "$what: expected one line on stderr, got: $(cat "$err")"
    grep -qF -- "$want" "$err" || fail "$what: stderr '$(cat "$err")' lacks '$want'"
    ok "$what: $(cat "$err")"
}

job_state() { tern show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }

state_is() { [ "$(job_state "$1")" = "$2" ]; }

# pids_gone FILE...: true when no PID listed in the files is alive (a
# zombie waiting for a parent that does not reap counts as gone).
pids_gone() {
    local p
    for p in $(cat "$@" 2>/dev/null); do
        [ -r "/proc/$p/stat" ] || continue
        case "$(sed 's/.*) //' "/proc/$p/stat" | cut -c1)" in Z|X) continue ;; esac
        return 1
    done
    return 0
}

# can_make_users: true when make_user can work here; else false with the
# reason (for a "skip - ..." line) in MAKE_USER_SKIP.
can_make_users() {
    MAKE_USER_SKIP=""
    if [ "$(id -u)" -ne 0 ]; then
        MAKE_USER_SKIP="creating users needs root"
    elif ! command -v useradd >/dev/null && [ ! -x /usr/sbin/useradd ]; then
        MAKE_USER_SKIP="no useradd (passwd)"
    elif ! command -v setpriv >/dev/null; then
        MAKE_USER_SKIP="no setpriv (util-linux)"
    fi
    [ -z "$MAKE_USER_SKIP" ]
}

# make_user NAME [USERADD-OPTION...]: creates the system user NAME (and its
# group NAME), with no home and no login shell, removed again at exit;
# MADE_UID and MADE_GID are its ids. NAME should be unique to the run
# (scenarios run at once).
make_user() {
    local i name=$1
    shift
    # useradd waits for no one: another scenario's lock on /etc/passwd
    # makes it fail at once, so try again a little later.
    for i in $(seq 20); do
        PATH="$PATH:/usr/sbin:/sbin" useradd -r -M -U -d /nonexistent -s /usr/sbin/nologin "$@" \
            "$name" 2>"$T/.useradd.err" && break
        getent passwd "$name" >/dev/null && fail "make_user $name: the user exists already"
        sleep 0.2
    done
    getent passwd "$name" >/dev/null || fail "make_user $name: $(cat "$T/.useradd.err")"
    TEST_USERS="$TEST_USERS $name"
    MADE_UID=$(getent passwd "$name" | cut -d: -f3)
    MADE_GID=$(getent passwd "$name" | cut -d: -f4)
}

# The public key of the local cluster's ternd (its workers' --server-key).
server_key() { sed -n 's/^server_key=//p' "$T/.tern/cluster"; }

up() {
    tern up --dir "$T/.tern" "$@" >/dev/null || fail "tern up $*"
}

# count_is DIR N: DIR holds exactly N entries.
count_is() { [ "$(ls "$1" 2>/dev/null | wc -l)" -eq "$2" ]; }

# alive PID: the process exists and is not a zombie.
alive() { ! pids_gone <(echo "$1"); }

# ranks_start N COMMAND...: starts N ranks of COMMAND on this machine with
# the rank environment tern gives them (RANK, LOCAL_RANK, WORLD_SIZE,
# MASTER_ADDR, MASTER_PORT); rank R's output goes to $T/rank-R.out and
# .err. RANK_PIDS lists them in rank order.
ranks_start() {
    local n=$1 r port
    shift
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    RANK_PIDS=""
    for r in $(seq 0 $((n - 1))); do
        RANK=$r LOCAL_RANK=$r WORLD_SIZE=$n LOCAL_WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 \
            MASTER_PORT=$port "$@" >"$T/rank-$r.out" 2>"$T/rank-$r.err" &
        RANK_PIDS="$RANK_PIDS $!"
    done
    PIDS="$PIDS $RANK_PIDS"
}

# ranks_wait [SECONDS]: waits for the ranks (killing what is left after
# SECONDS, default 120); RANK_STATUS lists their exit statuses, and the
# return value is the largest.
ranks_wait() {
    local deadline=$(( $(date +%s) + ${1:-120} )) p st rc=0
    RANK_STATUS=""
    for p in $RANK_PIDS; do
        # (no "Killed" notices from the shell for the ranks a test kills)
        {
            while alive "$p" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
            kill -9 "$p"
            wait "$p"
        } 2>/dev/null
        st=$?
        RANK_STATUS="$RANK_STATUS $st"
        [ "$st" -gt "$rc" ] && rc=$st
    done
    RANK_STATUS=${RANK_STATUS# }
    return "$rc"
}

# ranks N COMMAND...: runs N ranks to the end.
ranks() { ranks_start "$@"; ranks_wait; }

# never_stopped N COMMAND...: runs N ranks of COMMAND (a train_mlp) here to
# the end; NEVER_STOPPED is the weights line rank 0 printed, the bits that
# a run somewhere stopped and resumed must end with.
never_stopped() {
    ranks "$@" || fail "train_mlp: $(cat "$T"/rank-*.err)"
    NEVER_STOPPED=$(sed -n 's/^weights //p' "$T/rank-0.out")
    [ -n "$NEVER_STOPPED" ] || fail "no weights line"
}

# ternd_in DIR [TERND-OPTION...]: starts a ternd without keys on loopback
# ports, its state.db, logs/, endpoints file ep and stderr ternd.log in
# DIR, and waits until it listens. TERND_PID is its PID; CLIENT_EP and
# WORKER_EP are the endpoints of its clients and its workers.
ternd_in() {
    local dir=$1
    shift
    ternd --state "$dir/state.db" --client tcp://127.0.0.1:0 --worker tcp://127.0.0.1:0 \
        --endpoints-file "$dir/ep" --log-dir "$dir/logs" "$@" 2>"$dir/ternd.log" &
    TERND_PID=$!
    PIDS="$PIDS $TERND_PID"
    wait_for 10 test -s "$dir/ep" || fail "ternd did not start: $(cat "$dir/ternd.log")"
    CLIENT_EP=$(sed -n 's/^client=//p' "$dir/ep")
    WORKER_EP=$(sed -n 's/^worker=//p' "$dir/ep")
}

# ternd_local [TERND-OPTION...]: ternd_in $T, and tern talks to it: in
# plain text, as this ternd has no keys.
ternd_local() {
    ternd_in "$T" "$@"
    export TERN_SCHEDULER=$CLIENT_EP
    export TERN_INSECURE=1
}

# two_workers DIR [TERN-WORKER-OPTION...]: starts workers node1 and node2
# of 2 CPUs and no GPU on loopback for the ternd at WORKER_EP, their
# stderr in DIR/node1.log and DIR/node2.log.
two_workers() {
    local dir=$1 n
    shift
    for n in node1 node2; do
        tern-worker --scheduler "$WORKER_EP" --name $n --addr 127.0.0.1 --cpus 2 --gpus 0 "$@" \
            2>"$dir/$n.log" &
        PIDS="$PIDS $!"
    done
}

# nodes_up N: waits until 'tern nodes' shows N nodes UP.
nodes_up() {
    wait_for 10 sh -c "tern nodes | grep -c ' UP ' | grep -qx $1" || fail "workers did not register"
}
