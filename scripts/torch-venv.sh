#!/usr/bin/env bash
# Finds or makes a Python that can `import torch` (CPU is enough), for
# examples/ddp_train.py and tests/integration/t17_pytorch_ddp.sh, and prints
# its path on stdout. Idempotent: a later call reuses what an earlier one made.
#
# Usage: scripts/torch-venv.sh            # e.g. PY=$(scripts/torch-venv.sh)
#
# Where torch comes from, first that works:
#   1. $TERN_TORCH_PYTHON, if set.
#   2. Debian's python3-torch (CPU build, 1.13) for /usr/bin/python3, if
#      installed and TORCH_FROM is not "pypi": about 150 MB of .debs, no
#      pip. (Its own torchrun fails on Python 3.11 -- a torch 1.13 bug;
#      tern does not need torchrun.)
#   3. build/torch-venv: a virtualenv with torch==$TORCH_VERSION from PyPI.
#      PyPI has no CPU build of torch for Linux x86_64, only the CUDA one,
#      which runs on a machine without a GPU too: about 2.8 GB to download
#      (torch and its nvidia-* packages), 5.3 GB installed, 1.5 minutes
#      here. The torch wheel alone (--no-deps) does not import without them.
#
# Exit status: 0 with the python's path on stdout; 3 when torch cannot be
# installed from PyPI (no registry, no disk space); 1 on any other failure.
set -eu

TORCH_VERSION=${TORCH_VERSION:-2.15.0}
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${TORCH_VENV:-$root/build/torch-venv}

has_torch() { "$1" -c 'import torch, torch.distributed as d; assert d.is_gloo_available()' \
    >/dev/null 2>&1; }

if [ -n "${TERN_TORCH_PYTHON:-}" ]; then
    has_torch "$TERN_TORCH_PYTHON" || {
        echo "torch-venv: TERN_TORCH_PYTHON=$TERN_TORCH_PYTHON cannot import torch with gloo" >&2
        exit 1
    }
    echo "$TERN_TORCH_PYTHON"
    exit 0
fi
if [ "${TORCH_FROM:-}" != pypi ] && [ -x /usr/bin/python3 ] && has_torch /usr/bin/python3; then
    echo /usr/bin/python3
    exit 0
fi

mkdir -p "$(dirname "$venv")"
# One installer at a time (the release and ASan test runs may both ask).
exec 9>"$venv.lock"
flock 9
# A venv counts once its install finished (the marker), not before.
if [ -f "$venv/.installed" ] && has_torch "$venv/bin/python"; then
    echo "$venv/bin/python"
    exit 0
fi

base=/usr/bin/python3
[ -x "$base" ] || base=$(command -v python3)
rm -rf "$venv"
"$base" -m venv "$venv" || { echo "torch-venv: $base -m venv failed" >&2; exit 1; }
echo "torch-venv: installing torch==$TORCH_VERSION from PyPI into $venv" \
     "(about 2.8 GB to download, 5.3 GB on disk)" >&2
log="$venv.log"
start=$(date +%s)
# numpy only silences torch's "Failed to initialize NumPy" warning.
if ! "$venv/bin/pip" install --no-input --progress-bar off --no-cache-dir \
        "torch==$TORCH_VERSION" numpy >"$log" 2>&1; then
    rm -rf "$venv"
    # The cause (no network, no disk) beats pip's closing "no matching
    # distribution"; the whole story stays in the log.
    why=$(grep -m 1 -oE "(Failed to establish a new connection|Name or service not known|Temporary failure in name resolution|Network is unreachable|Connection refused|Read timed out|No space left on device)[^')]*" "$log" ||
          grep -E '^ERROR' "$log" | tail -n 1)
    echo "torch-venv: cannot install torch==$TORCH_VERSION from PyPI: $why (see $log)" >&2
    exit 3
fi
has_torch "$venv/bin/python" || {
    echo "torch-venv: torch installed but does not import:" \
         "$("$venv/bin/python" -c 'import torch' 2>&1 | tail -n 1)" >&2
    exit 1
}
touch "$venv/.installed"
echo "torch-venv: torch==$TORCH_VERSION ready in $(( $(date +%s) - start )) s" >&2
echo "$venv/bin/python"
