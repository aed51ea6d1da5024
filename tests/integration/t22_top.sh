# tern top: nodes with the CPUs and GPUs in use, running jobs with the last
# step they reported (train_mlp calls tern_report_step every step).
. "$(dirname "$0")/lib.sh"

up --workers 2 --cpus-per-worker 4 --gpus-per-worker 2
id=$(tern submit --parsable -N 2 --gpus-per-node 1 -- "$TERN_BIN/train_mlp" --steps 100000 \
     --log-every 0 --step-delay-ms 5) || fail "submit"
progress() { tern show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["progress"])'; }
wait_for 20 sh -c "[ \$(tern show $id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"progress\"])') -gt 0 ]" \
    || fail "no progress reported: $(tern show "$id" --json)"
p1=$(progress)
tern top --once >"$T/top" || fail "tern top: $(cat "$T/top")"
grep -qE "^node1 +UP +1/4 +1/2 +1$" "$T/top" || fail "node1 row: $(cat "$T/top")"
grep -qE "^node2 +UP +1/4 +1/2 +1$" "$T/top" || fail "node2 row: $(cat "$T/top")"
step=$(awk -v id="$id" '$1 == id { print $6 }' "$T/top")
[ -n "$step" ] && [ "$step" -ge "$p1" ] || fail "job row step '$step' (progress was $p1): $(cat "$T/top")"
grep -qE "^ +$id train_mlp .* node1,node2$" "$T/top" || fail "job row: $(cat "$T/top")"
grep -qx "1 running, 0 pending" "$T/top" || fail "summary: $(cat "$T/top")"
sleep 1.5
[ "$(progress)" -gt "$p1" ] || fail "progress did not move: $p1 then $(progress)"
tern cancel "$id" >/dev/null
ok "tern top: both nodes 1/4 CPUs and 1/2 GPUs in use, job $id at step $step and moving"
expect_error "tern top bad interval" "--interval '0'" tern top --interval 0
