# The audit record: a job with labels, preempted once, shows in tern history
# --json with both attempts, their nodes and GPUs, exit statuses and the
# checkpoint steps each committed; its submitter, spec hash, command and
# environment are there too.
. "$(dirname "$0")/lib.sh"

up --workers 3 --cpus-per-worker 2 --gpus-per-worker 1
train="$TERN_BIN/train_mlp --steps 400 --ckpt-every 50 --log-every 10 --step-delay-ms 10"
id=$(tern submit --parsable -N 2 --gpus-per-node 1 --checkpoint-dir "$T/ckpt" \
     --label dataset=sha256:ab12 --label model=mlp-v3 -- $train) || fail "submit"
wait_for 20 sh -c "tern logs $id --rank 0 | grep -q '^step 120 '" || fail "training did not start: $(tern logs "$id")"
first=$(tern show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes"][0])')
tern preempt "$first" --in 20 >/dev/null || fail "preempt $first"
tern wait "$id" --timeout 60 >/dev/null || fail "job $id: $(tern show "$id")"
tern history --json "$id" >"$T/h.json" || fail "tern history: $(cat "$T/h.json")"
python3 - "$T/h.json" "$id" "$first" <<'PY' || fail "history: $(cat "$T/h.json")"
import json, sys
h = json.load(open(sys.argv[1]))["jobs"]
job_id, first = int(sys.argv[2]), sys.argv[3]
assert len(h) == 1 and h[0]["id"] == job_id, h
j = h[0]
assert j["labels"] == {"dataset": "sha256:ab12", "model": "mlp-v3"}, j["labels"]
assert len(j["spec_hash"]) == 16 and j["user"] and j["uid"] >= 0, j
assert j["argv"][0].endswith("train_mlp") and "PATH" in j["environment"], j["argv"]
assert j["state"] == "CD" and j["preemptions"] == 1, (j["state"], j["preemptions"])
a = j["attempts"]
assert [x["attempt"] for x in a] == [0, 1] and [x["state"] for x in a] == ["PR", "CD"], a
assert first in a[0]["nodes"] and len(a[0]["nodes"]) == 2 and len(a[1]["nodes"]) == 2, a
assert first not in a[1]["nodes"], "attempt 1 went back to the preempted node"
assert all(g == "0" for x in a for g in x["gpus"]), [x["gpus"] for x in a]
assert a[0]["exit_code"] == 75 and a[1]["exit_code"] == 0, [x["exit_code"] for x in a]
c0, c1 = a[0]["checkpoints"], a[1]["checkpoints"]
assert c0 and all(s % 50 == 0 for s in c0[:-1]) and c0 == sorted(c0), c0
assert c1 and c1[-1] == 400 and c1[0] > c0[-1] - 1, (c0, c1)
print("ok", c0, c1)
PY
ok "tern history --json: labels, spec hash, 2 attempts (PR exit 75 on $first, then CD elsewhere), GPUs, checkpoints $(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["jobs"][0]["attempts"]; print(a[0]["checkpoints"], a[1]["checkpoints"])' "$T/h.json")"
tern history | grep -q "SpecHash=.* Labels=dataset=sha256:ab12,model=mlp-v3" || fail "tern history text: $(tern history)"
ok "tern history (all jobs) shows the labels and spec hash in text"
expect_error "bad label" "--label 'nokey'" tern submit --label nokey -- true
