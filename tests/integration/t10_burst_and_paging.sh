# Thousands of jobs placed in one turn all launch (none dropped on the way
# to the worker), and listings longer than one reply come in pages.
. "$(dirname "$0")/lib.sh"

up --workers 2 --cpus-per-worker 16 --rate-limit 0
client_ep=$(sed -n 's/^scheduler=//p' "$T/.tern/cluster")
# zpoke submits as the cluster's admin.
export TERN_SERVER_KEY=$(sed -n 's/^server_key=//p' "$T/.tern/cluster") TERN_KEY=$T/.tern/keys/admin.key
tern drain node1 && tern drain node2 || fail "drain"
last=$("$TERN_TESTBIN/zpoke" "$client_ep" submit 12000) || fail "submitting 12000 jobs"
[ "$last" -eq 12000 ] || fail "last job id $last"
n=$(tern queue --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
[ "$n" -eq 12000 ] || fail "queue --json listed $n of 12000 pending jobs"
tern queue | tail -n +2 | awk '{print $5}' | sort -u | grep -qx PD || fail "states in queue"
ok "12000 pending jobs listed (more than one page)"

# Both nodes back: the first turn places 32 jobs, every finished job lets the
# next start; all of them must run to completion.
tern resume node1 && tern resume node2 || fail "resume"
tern wait 12000 --timeout 120 || fail "the last job did not complete"
wait_for 60 sh -c '[ "$(tern queue --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"jobs\"]))")" -eq 0 ]' \
    || fail "jobs left in the queue: $(tern queue | head)"
done_ok=$(tern queue --all --json | python3 -c '
import json, sys
jobs = json.load(sys.stdin)["jobs"]
print(sum(1 for j in jobs if j["state"] == "CD"))')
[ "$done_ok" -eq 12000 ] || fail "$done_ok of 12000 jobs completed"
ok "all 12000 jobs completed"
