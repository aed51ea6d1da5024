# Bad input gets one clear line on stderr and a non-zero exit; hostile bytes
# on both ternd endpoints leave it serving with its state intact.
. "$(dirname "$0")/lib.sh"

expect_error "no scheduler anywhere" "no scheduler" env -u TERN_SCHEDULER tern queue
expect_error "no scheduler listening" "no scheduler listening at tcp://127.0.0.1:9" \
    tern queue --insecure --scheduler tcp://127.0.0.1:9

up --workers 2 --cpus-per-worker 2
good=$(tern submit --parsable true) || fail "submit"
tern wait "$good" --timeout 30 || fail "job $good"

expect_error "unknown flag" "unknown option '--bogus'" tern submit --bogus true
expect_error "unknown command" "unknown command 'frobnicate'" tern frobnicate
expect_error "-N 0" "a job needs 1 to 100000 nodes" tern submit -N 0 true
expect_error "GPUs beyond every node" "--gpus-per-node 9 exceeds every node (max 0)" \
    tern submit --gpus-per-node 9 true
expect_error "more nodes than the cluster" "needs 3 nodes" tern submit -N 3 true
expect_error "missing script" "cannot read script '$T/nope.sh': No such file" \
    tern submit "$T/nope.sh"
mkdir "$T/adir"
expect_error "script that is a directory" "Is a directory" tern submit "$T/adir"
printf '#!/bin/sh\n#TERN --nodes=abc\ntrue\n' >"$T/bad.sh"
expect_error "bad directive" "bad.sh:2" tern submit "$T/bad.sh"
expect_error "unknown job id" "no job 424242" tern show 424242
expect_error "a flag given a value" "option '--parsable' takes no value" \
    tern submit --parsable=yes true
{ printf '#!/bin/sh\n'; head -c 4194000 /dev/zero | tr '\0' '#'; printf '\ntrue\n'; } >"$T/big.sh"
export PAD=$(head -c 60000 /dev/zero | tr '\0' x)
expect_error "a job larger than 4 MiB" "at most 4194304" tern submit "$T/big.sh"
unset PAD
expect_error "malformed job id" "'12x' is not a job id" tern cancel 12x
expect_error "cancel unknown job" "no job 999" tern cancel 999
expect_error "unknown node" "no node 'nonode'" tern drain nonode
expect_error "logs of unknown rank" "has ranks 0 to 0" tern logs "$good" --rank 5

# The example configurations parse (--help runs after them).
ternd --config "$TESTS/../configs/ternd.conf" --help >/dev/null || fail "configs/ternd.conf"
tern-worker --config "$TESTS/../configs/worker.conf" --help >/dev/null || fail "configs/worker.conf"
ok "configs/ternd.conf and configs/worker.conf parse"
printf 'state = x\nfrobnicate = 1\n' >"$T/ternd.conf"
expect_error "garbage ternd config" "ternd.conf:2: unknown option 'frobnicate'" \
    "$TERN_BIN/ternd" --config "$T/ternd.conf"
head -c 3000 /dev/urandom >"$T/random.conf"
expect_error "binary ternd config" "random.conf" "$TERN_BIN/ternd" --config "$T/random.conf"
mv "$T/random.conf" "$T/worker.conf"
expect_error "garbage worker config" "worker.conf" \
    "$TERN_BIN/tern-worker" --config "$T/worker.conf" --scheduler tcp://127.0.0.1:9
expect_error "second ternd on the same state" "in use by another ternd" \
    "$TERN_BIN/ternd" --state "$T/.tern/state.db" --client tcp://127.0.0.1:0 --worker tcp://127.0.0.1:0

# Hostile bytes on both endpoints.
client_ep=$(sed -n 's/^scheduler=//p' "$T/.tern/cluster")
worker_ep=$(sed -n 's/^worker_endpoint=//p' "$T/.tern/cluster")
ternd_pid=$(sed -n 's/^ternd_pid=//p' "$T/.tern/cluster")
before=$(tern queue --all --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
export TERN_SERVER_KEY=$(sed -n 's/^server_key=//p' "$T/.tern/cluster")
for ep in "$client_ep" "$worker_ep"; do
    # Authenticated but hostile: the admin's key on the client endpoint, the
    # workers' on the worker endpoint.
    key=$T/.tern/keys/admin.key
    [ "$ep" = "$worker_ep" ] && key=$T/.tern/keys/worker.key
    TERN_KEY=$key "$TERN_TESTBIN/zpoke" "$ep" random 300 || fail "zpoke random $ep"
    TERN_KEY=$key "$TERN_TESTBIN/zpoke" "$ep" big || fail "zpoke big $ep"
    msg=$(TERN_KEY=$key "$TERN_TESTBIN/zpoke" "$ep" version) || fail "no answer to a wrong version on $ep"
    echo "$msg" | grep -q "protocol version 99, this program speaks 1" || fail "version answer: $msg"
    msg=$(TERN_KEY=$key "$TERN_TESTBIN/zpoke" "$ep" empty) || fail "no answer to an empty envelope on $ep"
    echo "$msg" | grep -q "no body" || fail "empty envelope answer: $msg"
    # A stranger without keys: refused at the handshake (its sends time out
    # once ZeroMQ gives up on the connection), never answered.
    TERN_KEY= "$TERN_TESTBIN/zpoke" "$ep" random 50 2>/dev/null
    TERN_KEY= "$TERN_TESTBIN/zpoke" "$ep" version >/dev/null 2>&1 && fail "a stranger got an answer on $ep"
    port=${ep##*:}
    # Not even ZeroMQ: raw bytes straight at the TCP port.
    (exec 3<>"/dev/tcp/127.0.0.1/$port" && head -c 65536 /dev/urandom >&3) 2>/dev/null
done
unset TERN_SERVER_KEY
ok "random bytes, a 16-MiB message, a wrong version (with keys), the same without keys (no answer) and raw TCP garbage sent to both endpoints"
kill -0 "$ternd_pid" || fail "ternd died"
after=$(tern queue --all --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
[ "$before" = "$after" ] || fail "job count changed from $before to $after"
tern nodes | grep -c " UP " | grep -qx 2 || fail "nodes not up: $(tern nodes)"
again=$(tern submit --parsable -N 2 true) || fail "submit after the garbage"
tern wait "$again" --timeout 30 || fail "job $again after the garbage"
ok "ternd still serving: $after jobs intact, both nodes up, new job $again completed"

# Names need not be UTF-8; the JSON output is, all the same.
odd=$(tern submit --parsable -J "$(printf 'caf\351')" true) || fail "submit odd name"
tern show "$odd" --json | python3 -c '
import json, sys
assert json.load(sys.stdin)["name"] == "caf\ufffd"' || fail "show --json of a non-UTF-8 name"
ok "a non-UTF-8 job name comes out as valid JSON"
