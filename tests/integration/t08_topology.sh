# Workers describe their node with hwloc: one stands in for a 2-socket,
# 4-GPU server (an hwloc XML fixture), one is this machine. Ranks get the
# GPUs placed for their node and processors near their own GPU; on this
# machine the binding is real.
. "$(dirname "$0")/lib.sh"

fixture="$TESTS/fixtures/topologies/2socket-4gpu.xml"
ternd_local
tern-worker --scheduler "$WORKER_EP" --name gpubox --addr 127.0.0.1 --topology "$fixture" \
    --label rack=r1 2>"$T/gpubox.log" &
PIDS="$PIDS $!"
tern-worker --scheduler "$WORKER_EP" --name local --addr 127.0.0.1 --gpus 0 2>"$T/local.log" &
PIDS="$PIDS $!"
nodes_up 2

tern nodes --json | python3 -c '
import json, sys
n = {x["name"]: x for x in json.load(sys.stdin)["nodes"]}["gpubox"]
assert n["cpus"] == 8 and n["numa_nodes"] == 2, n
assert [g["pci_bus_id"] for g in n["gpus"]] == ["0000:18:00.0", "0000:2a:00.0", "0000:9a:00.0", "0000:ab:00.0"], n["gpus"]
assert [g["numa"] for g in n["gpus"]] == [0, 0, 1, 1], n["gpus"]
assert n["gpus"][0]["name"].startswith("NVIDIA H100"), n["gpus"][0]
assert any(x["name"] == "eth0" and x["numa"] == 0 for x in n["nics"]), n["nics"]
assert n["labels"] == ["rack=r1"], n["labels"]' || fail "gpubox topology: $(tern nodes --json)"
ok "fixture worker registered 8 cpus, 2 NUMA nodes, 4 H100s by bus id, eth0, label rack=r1"

# Four ranks, one GPU each: ranks 2 and 3 have the GPUs of socket 1.
id=$(tern submit --parsable --gpus-per-node 4 --ntasks-per-node 4 -o "$T/out/%t" -- \
     sh -c 'echo "$CUDA_VISIBLE_DEVICES $TERN_CPUS"') || fail "submit gpu job"
tern wait "$id" --timeout 30 || fail "gpu job"
for r in 0 1 2 3; do
    read -r gpus cpus <"$T/out/$r"
    [ "$gpus" = "0,1,2,3" ] || fail "rank $r CUDA_VISIBLE_DEVICES=$gpus"
    case $r in
        0|1) echo "$cpus" | grep -qE '^[0-3]$' || fail "rank $r (GPU on socket 0) got cpus $cpus" ;;
        2|3) echo "$cpus" | grep -qE '^[4-7]$' || fail "rank $r (GPU on socket 1) got cpus $cpus" ;;
    esac
done
ok "ranks 0,1 on socket 0 cores, ranks 2,3 on socket 1 cores, next to their GPUs"

# This machine: the rank really runs on the processors tern chose.
id=$(tern submit --parsable -c 1 -o "$T/out/local-%t" -- \
     sh -c 'echo "$TERN_NODE_NAME $TERN_CPUS $(grep Cpus_allowed_list /proc/self/status | cut -f2)"') \
    || fail "submit cpu job"
tern wait "$id" --timeout 30 || fail "cpu job"
read -r node chosen allowed <"$T/out/local-0"
[ "$node" = local ] || fail "cpu job ran on $node (best fit should pick the smaller node)"
[ "$chosen" = "$allowed" ] || fail "rank bound to $allowed, tern chose $chosen"
ok "on this machine the rank is bound to cpu $allowed, as chosen"

# An 8-GPU server of two NVLink islands (4 GPUs per socket): two 4-GPU
# jobs take one island each, never a mix.
islands="$TESTS/fixtures/topologies/8gpu-2islands.xml"
tern-worker --scheduler "$WORKER_EP" --name twoisl --addr 127.0.0.1 --topology "$islands" \
    --label pool=islands 2>"$T/twoisl.log" &
PIDS="$PIDS $!"
wait_for 10 sh -c 'tern nodes | grep -qE "^twoisl +UP"' || fail "twoisl did not register"
tern nodes --json | python3 -c '
import json, sys
n = {x["name"]: x for x in json.load(sys.stdin)["nodes"]}["twoisl"]
assert [g["island"] for g in n["gpus"]] == [0, 0, 0, 0, 1, 1, 1, 1], n["gpus"]' \
    || fail "twoisl islands: $(tern nodes --json)"
hold='echo "$CUDA_VISIBLE_DEVICES" > '"$T"'/isl.$TERN_JOB_ID; sleep 30'
i1=$(tern submit --parsable --gpus-per-node 4 -- sh -c "$hold") || fail "submit"
wait_for 10 test -s "$T/isl.$i1" || fail "job $i1 did not start"
i2=$(tern submit --parsable --gpus-per-node 4 -- sh -c "$hold") || fail "submit"
wait_for 10 test -s "$T/isl.$i2" || fail "job $i2 did not start"
tern show "$i1" | grep -q "NodeList=twoisl " && tern show "$i2" | grep -q "NodeList=twoisl " \
    || fail "4-GPU jobs not both on twoisl: $(tern queue)"
[ "$(cat "$T/isl.$i1") $(cat "$T/isl.$i2")" = "0,1,2,3 4,5,6,7" ] \
    || fail "GPUs $(cat "$T/isl.$i1") and $(cat "$T/isl.$i2"), wanted one island each"
tern cancel "$i1" "$i2" >/dev/null
ok "two 4-GPU jobs on an 8-GPU, 2-island node: GPUs 0-3 and 4-7, one NVLink island each"

# Two such servers with 4 GPUs busy on each: an 8-GPU job on one node
# waits (8 free GPUs in all, never 4 + 4 of two nodes); when one server
# frees up it gets all eight there.
tern-worker --scheduler "$WORKER_EP" --name twoisl2 --addr 127.0.0.1 --topology "$islands" \
    2>"$T/twoisl2.log" &
PIDS="$PIDS $!"
wait_for 10 sh -c 'tern nodes | grep -qE "^twoisl2 +UP"' || fail "twoisl2 did not register"
wait_for 10 sh -c "tern show $i1 | grep -q JobState=CA && tern show $i2 | grep -q JobState=CA" \
    || fail "the 4-GPU jobs did not end: $(tern queue)"
# Four 4-GPU jobs fill both servers (best fit: one after the other); two
# of them end, leaving 4 free GPUs on each.
for k in 1 2 3 4; do
    h=$(tern submit --parsable --gpus-per-node 4 -- sh -c "$hold") || fail "submit"
    wait_for 10 test -s "$T/isl.$h" || fail "holder $k did not start: $(tern queue)"
    eval h$k=$h
done
tern cancel "$h2" "$h4" >/dev/null
wait_for 10 sh -c "tern show $h2 | grep -q JobState=CA && tern show $h4 | grep -q JobState=CA" \
    || fail "holders did not end: $(tern queue)"
w8=$(tern submit --parsable -N 1 --gpus-per-node 8 -- sh -c "$hold") || fail "submit 8-GPU"
sleep 1
state_is "$w8" PD || fail "the 8-GPU job started on fragments: $(tern show "$w8")"
tern queue | grep -E "^ *$w8 .* PD .*\(Resources\)" >/dev/null || fail "8-GPU reason: $(tern queue)"
tern cancel "$h1" >/dev/null
wait_for 15 test -s "$T/isl.$w8" || fail "the 8-GPU job did not start when a server freed up: $(tern queue)"
[ "$(cat "$T/isl.$w8")" = "0,1,2,3,4,5,6,7" ] || fail "8-GPU job got $(cat "$T/isl.$w8")"
tern cancel "$h3" "$w8" >/dev/null
ok "8-GPU job with -N 1 waited while 4 + 4 GPUs were free on two servers, then took one whole server"

expect_error "garbage topology" "cannot parse hwloc XML" \
    tern-worker --scheduler "$WORKER_EP" --name bad --topology "$T/ep"
