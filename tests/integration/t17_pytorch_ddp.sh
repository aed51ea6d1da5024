# An ordinary PyTorch DDP script, written for torchrun (gloo on CPU, env://
# init), runs unmodified as a 2-node x 2-rank tern job: the four ranks find
# each other from tern's rank environment alone, train together, and the
# loss goes down. Torch comes from scripts/torch-venv.sh (Debian's package,
# or PyPI into build/torch-venv, kept between runs); the test is skipped
# only when torch cannot be installed.
. "$(dirname "$0")/lib.sh"

root=$(cd "$TESTS/.." && pwd)
py=$("$root/scripts/torch-venv.sh" 2>"$T/torch-venv.err")
case $? in
    0) ;;
    3) echo "skip - no torch: $(tail -n 1 "$T/torch-venv.err")"; exit 0 ;;
    *) fail "scripts/torch-venv.sh: $(cat "$T/torch-venv.err")" ;;
esac
ok "torch $("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null) from $py"

ternd_local
two_workers "$T"
nodes_up 2

# What a user types, with that python first on PATH (as an activated venv
# puts it): the command line torchrun would run for each rank. The ranks
# get the submitting environment, PATH included.
pybin=$(dirname "$py")
[ -x "$pybin/python3" ] || fail "$py has no python3 beside it"
id=$(PATH="$pybin:$PATH" tern submit --parsable -N 2 --ntasks-per-node 2 -o "$T/out/%t" \
     python3 "$root/examples/ddp_train.py") || fail "submit"
tern wait "$id" --timeout 120 >/dev/null \
    || fail "DDP job: $(tern show "$id"); rank 0: $(cat "$T/out/0" 2>/dev/null)"
state_is "$id" CD || fail "DDP job state $(job_state "$id")"

# Rank 0: one loss per epoch, the last well below the first, world_size 4.
python3 - "$T/out/0" <<'EOF' || fail "rank 0's output: $(cat "$T/out/0")"
import re, sys
text = open(sys.argv[1]).read()
losses = [float(x) for x in re.findall(r"^epoch \d+ loss ([0-9.]+)$", text, re.M)]
assert len(losses) >= 3, losses
assert losses[-1] < 0.5 * losses[0], losses
assert re.search(r"^world_size 4$", text, re.M), text
print(f"ok - loss {losses[0]:.4f} -> {losses[-1]:.4f} over {len(losses)} epochs, world_size 4")
EOF

# Every rank took part: each knows its rank and the world of four.
for r in 0 1 2 3; do
    grep -q "^rank $r local_rank $((r % 2)) world_size 4 " "$T/out/$r" \
        || fail "rank $r: $(cat "$T/out/$r" 2>/dev/null)"
done

# Two nodes, two ranks on each, all four exited 0 (the workers' logs).
nodes=$(tern show "$id" --json | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["nodes"]))')
[ "$nodes" = "node1 node2" ] || [ "$nodes" = "node2 node1" ] || fail "job nodes '$nodes'"
for n in node1 node2; do
    [ "$(grep -c "job=$id attempt=0 rank=[0-3] pid=[0-9]* exit=0" "$T/$n.log")" -eq 2 ] \
        || fail "$n: ranks' exits: $(grep "job=$id " "$T/$n.log")"
done
ok "4 ranks on nodes $nodes (2 each), all exited 0"
