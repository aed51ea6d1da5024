#!/usr/bin/env bash
# The checks that need a GPU, run on the lent GPU machine in one call:
#   device run --carry bin lib build/rel/tests -- tests/gpu/run.sh
# (the binaries are built on the development machine; the GPU machine has
# the NVIDIA driver, CUDA and NCCL libraries.)
#
# What it checks, exactly:
#  1. nvidia-smi sees a GPU (else nothing below means anything).
#  2. libtern's NCCL backend (lib/libtern-nccl.so), world size 1, device
#     buffers: all-reduce of f32, f64, f16 and bf16 with sum, avg, min and
#     max equals, byte for byte, what the CPU backend computes from the same
#     input; broadcast and all-gather of device buffers return the input;
#     a barrier goes through NCCL. (tests/gpu/gpu_check.c)
#  3. tern-worker discovers the GPU through NVML (dlopen of
#     libnvidia-ml.so.1): it registers with a PCI bus id and a name, and a
#     job asking for one GPU gets CUDA_VISIBLE_DEVICES with its index.
#  4. bin/train_mlp_cuda (cuBLAS, NCCL through libtern) trains 100 steps
#     with the loss of bin/train_mlp at every 10th step within a relative
#     1e-4; its checkpoint of step 50 resumes in the CPU trainer, which then
#     ends within 1e-4 of its own uninterrupted loss.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
status=0
say() { printf '%s\n' "$*"; }

if nvidia-smi -L >/dev/null 2>&1; then
    say "ok GPU: $(nvidia-smi -L | head -n 1)"
else
    say "FAIL no GPU visible to nvidia-smi"
    exit 1
fi

if [ -x build/rel/tests/gpu_check ]; then
    LD_LIBRARY_PATH="$here/lib:${LD_LIBRARY_PATH:-}" build/rel/tests/gpu_check || status=1
else
    say "FAIL build/rel/tests/gpu_check was not built (no CUDA toolkit where make ran?)"
    status=1
fi

dir=$(mktemp -d)
if bin/tern up --dir "$dir/.tern" --workers 1 >/dev/null 2>&1; then
    export TERN_SCHEDULER=$(sed -n 's/^scheduler=//p' "$dir/.tern/cluster")
    gpus=$(bin/tern nodes --json | python3 -c '
import json, sys
n = json.load(sys.stdin)["nodes"][0]
print(len(n["gpus"]), n["gpus"][0]["pci_bus_id"] if n["gpus"] else "-", n["gpus"][0]["name"] if n["gpus"] else "-")')
    set -- $gpus
    if [ "${1:-0}" -ge 1 ]; then
        say "ok NVML: the worker registered $1 GPU(s), first at $2 ($3 ${4:-} ${5:-})"
        id=$(bin/tern submit --parsable --gpus-per-node 1 -o "$dir/out" -- sh -c 'echo "$CUDA_VISIBLE_DEVICES"')
        bin/tern wait "$id" --timeout 60 >/dev/null 2>&1
        cvd=$(cat "$dir/out" 2>/dev/null)
        if [ -n "$cvd" ]; then say "ok a one-GPU job got CUDA_VISIBLE_DEVICES=$cvd"
        else say "FAIL a one-GPU job got no CUDA_VISIBLE_DEVICES"; status=1; fi
    else
        say "FAIL NVML: the worker registered no GPU"
        status=1
    fi
    bin/tern down --dir "$dir/.tern" >/dev/null 2>&1
else
    say "FAIL tern up did not start a local cluster"
    status=1
fi
rm -rf "$dir"

dir=$(mktemp -d)
if [ -x bin/train_mlp_cuda ]; then
    rankenv="RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=29517"
    env $rankenv bin/train_mlp --steps 100 --log-every 10 >"$dir/cpu" 2>&1
    env $rankenv bin/train_mlp_cuda --steps 100 --log-every 10 --ckpt-every 50 \
        --ckpt-dir "$dir/ckpt" >"$dir/gpu" 2>&1
    if python3 - "$dir/cpu" "$dir/gpu" <<'PY'
import re, sys
def losses(f):
    return {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"^step (\d+) loss (\S+)$", open(f).read(), re.M)}
cpu, gpu = losses(sys.argv[1]), losses(sys.argv[2])
worst = max((abs(gpu[s] - cpu[s]) / abs(cpu[s]), s) for s in cpu) if cpu and set(cpu) == set(gpu) else None
print("   ", "no loss curve" if worst is None else "worst relative difference %.2e at step %d" % worst)
sys.exit(0 if worst is not None and worst[0] < 1e-4 else 1)
PY
    then say "ok train_mlp_cuda follows train_mlp's loss curve over 100 steps (< 1e-4)"
    else say "FAIL train_mlp_cuda's loss curve: $(tail -3 "$dir/gpu" | tr '\n' ';')"; status=1; fi
    rm -rf "$dir/ckpt/step-100"; echo step-50 >"$dir/ckpt/LATEST"
    env $rankenv bin/train_mlp --steps 100 --log-every 100 --ckpt-dir "$dir/ckpt" >"$dir/resumed" 2>&1
    a=$(sed -n 's/^step 100 loss //p' "$dir/cpu") b=$(sed -n 's/^step 100 loss //p' "$dir/resumed")
    if grep -q "resumed from step 50" "$dir/resumed" &&
       python3 -c "import sys; sys.exit(abs($a - $b) / abs($a) >= 1e-4)" 2>/dev/null; then
        say "ok the CPU trainer resumed the GPU trainer's step 50: loss $b at step 100 (uninterrupted $a)"
    else say "FAIL resuming the GPU checkpoint on the CPU: $(tr '\n' ';' <"$dir/resumed")"; status=1; fi
else
    say "FAIL bin/train_mlp_cuda was not built (no nvcc where make ran?)"
    status=1
fi
rm -rf "$dir"
[ $status -eq 0 ] && say "PASS tests/gpu/run.sh" || say "FAIL tests/gpu/run.sh"
exit $status
