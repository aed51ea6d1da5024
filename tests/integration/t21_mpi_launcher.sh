# --launcher mpi: the job's first node runs Open MPI's mpirun over the
# placed nodes (a hostfile of their slots) with tern-rsh as its launch
# agent, so the MPI daemons start through the target node's tern-worker,
# never ssh. An MPI program prints the right ranks per node and an
# all-reduce result; libtern's MPI backend passes its test there.
. "$(dirname "$0")/lib.sh"

if ! command -v mpirun >/dev/null; then
    echo "skip - mpirun is not installed"
    exit 0
fi
up --workers 2 --cpus-per-worker 2
# Both "nodes" are this machine: Open MPI's shared-memory transport would
# name its segments alike on each (by host name) and collide, so the ranks
# talk TCP here, as ranks on different machines would.
export OMPI_MCA_btl=self,tcp
export TMPDIR="$T"   # the daemons' session directories go with the test's
id=$(tern submit --parsable -N 2 --ntasks-per-node 2 --launcher mpi -o "$T/mpi-%j.out" -- \
     "$TERN_TESTBIN/mpi_hello") || fail "submit"
tern wait "$id" --timeout 60 >/dev/null || fail "mpi job: $(tern show "$id"); $(cat "$T/mpi-$id.out")"
out="$T/mpi-$id.out"
for r in 0 1 2 3; do
    grep -qx "mpi rank $r of 4 on node$((r / 2 + 1))" "$out" || fail "rank $r: $(cat "$out")"
done
grep -qx "allreduce sum 10 of 4 ranks" "$out" || fail "allreduce: $(cat "$out")"
ls "$T/.tern/logs/$id"/mpi-daemon-node*.out >/dev/null 2>&1 || fail "the daemons did not start through the workers"
ok "MPI program under --launcher mpi: ranks 0-1 on node1, 2-3 on node2, all-reduce sum 10"

if [ -n "${TERN_SANITIZED:-}" ]; then
    # (tern's daemons and tern-rsh are sanitized here all the same)
    echo "skip - libtern's MPI backend under the sanitizers (Open MPI's own allocations read as leaks)"
else
    id2=$(tern submit --parsable -N 2 --ntasks-per-node 2 --launcher mpi -o "$T/coll-%j.out" -- \
          "$TERN_TESTBIN/coll_check" mpi) || fail "submit coll_check"
    tern wait "$id2" --timeout 120 >/dev/null || fail "coll_check mpi: $(cat "$T/coll-$id2.out")"
    grep -q "mpi backend: 4 ranks, every dtype and op exact" "$T/coll-$id2.out" \
        || fail "libtern's MPI backend: $(cat "$T/coll-$id2.out")"
    ok "libtern's MPI backend under --launcher mpi across two workers: every dtype and op exact"
fi

# A failing MPI rank fails the job with its status.
id3=$(tern submit --parsable -N 2 --launcher mpi -o "$T/bad-%j.out" -- sh -c 'exit 5') \
    || fail "submit failing"
tern wait "$id3" --timeout 60 >/dev/null 2>&1
rc=$?
[ "$rc" -ne 0 ] || fail "a failing MPI program ended well"
state_is "$id3" F || fail "state $(job_state "$id3")"
ok "a failing MPI program fails the job (exit $rc)"
