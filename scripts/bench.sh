#!/usr/bin/env bash
# make bench: every benchmark in bin/bench-*, beside a single-node SLURM
# started for the run (when this machine can: root, slurm-wlm, munge) and
# Open MPI. Prints each table, then the headline lines together.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$here/bin:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
slurm_dir=$(mktemp -d "${TMPDIR:-/tmp}/tern-slurm.XXXXXX")
cleanup() {
    "$here/scripts/slurm-local.sh" stop "$slurm_dir" >/dev/null 2>&1
    rm -rf "$slurm_dir"
}
trap cleanup EXIT
if conf=$("$here/scripts/slurm-local.sh" start "$slurm_dir" 2>"$slurm_dir/start.err"); then
    export "$conf"
    echo "peer: SLURM $(sinfo -V | cut -d' ' -f2) running locally ($SLURM_CONF)"
else
    echo "peer: no SLURM ($(tail -n 1 "$slurm_dir/start.err")); its columns stay empty"
fi
command -v mpirun >/dev/null && echo "peer: $(mpirun --version | head -n 1)"

headlines=$(mktemp)
status=0
for b in "$here"/bin/bench-*; do
    echo
    echo "== $(basename "$b")"
    "$b" | tee -a "$headlines" || status=1
done
echo
echo "== headlines ($(nproc) cores, $(date -u +%Y-%m-%d))"
grep '^bench: ' "$headlines"
rm -f "$headlines"
exit $status
