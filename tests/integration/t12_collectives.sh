# libtern collectives between local processes: results equal a serial
# reference for world sizes 1-8 (every dtype and op; counts 0, 1, primes,
# and 64 MiB), bit for bit the same over shared memory and over TCP; a rank
# killed mid-all-reduce turns every other rank's call into an error within
# 5 s; a rank that never arrives fails every init, named.
. "$(dirname "$0")/lib.sh"

check="$TERN_TESTBIN/coll_check"
# The sanitizer build runs the 64 MiB case for two ranks only: it is ten
# times slower and the code paths are the same.
if [ -n "${TERN_SANITIZED:-}" ]; then big_ranks="2"; else big_ranks="1 2 3 4 5 6 7 8"; fi
for n in 1 2 3 4 5 6 7 8; do
    big=0
    case " $big_ranks " in *" $n "*) big=64 ;; esac
    "$check" matrix "$n" "$big" >"$T/shm-$n" || fail "$n ranks over shared memory: $(tail -3 "$T/shm-$n")"
    lines=$(grep -c '^digest' "$T/shm-$n")
    [ "$lines" -ge 64 ] || fail "$n ranks: only $lines results checked"
done
ok "world sizes 1-8: every dtype and op, counts 0, 1, 1009, 1000003 and 64 MiB (ranks $big_ranks), equal to the serial reference"

for n in 3 4 8; do
    TERN_COLL_TRANSPORT=tcp "$check" matrix "$n" 0 >"$T/tcp-$n" || fail "$n ranks over TCP: $(tail -3 "$T/tcp-$n")"
    "$check" matrix "$n" 0 >"$T/again-$n" || fail "$n ranks again"
    grep '^digest' "$T/shm-$n" | grep -v ' 67108864 \| 33554432 \| 16777216 \| 8388608 ' >"$T/shm-small-$n"
    cmp -s "$T/shm-small-$n" "$T/tcp-$n" || fail "$n ranks: TCP gives other bits than shared memory"
    cmp -s "$T/tcp-$n" "$T/again-$n" || fail "$n ranks: a second run gives other bits"
done
ok "3, 4 and 8 ranks: the same bits over TCP, over shared memory, and in a second run"

# A 4 KiB shared-memory ring: every wrap-around and full-ring path, many
# times per call (the sender must never overrun what the reader has not read).
for n in 2 3 3 3 5; do
    TERN_COLL_RING_KIB=4 "$check" matrix "$n" 0 >"$T/small-ring-$n" \
        || fail "$n ranks with a 4 KiB ring: $(tail -3 "$T/small-ring-$n")"
    grep '^digest' "$T/small-ring-$n" | cmp -s - <(grep '^digest' "$T/shm-$n" | grep -v ' 67108864 \| 33554432 \| 16777216 \| 8388608 ') \
        || fail "$n ranks with a 4 KiB ring: other bits"
done
ok "a 4 KiB ring (2, 3 and 5 ranks, repeatedly): the same bits"

# A rank busy elsewhere is not dead: over TCP, with a 2 s dead-peer timeout,
# a rank 4 s late to a 64 MiB all-reduce (more than the sockets buffer).
out=$(TERN_COLL_TRANSPORT=tcp TERN_COLL_DEAD_TIMEOUT=2 "$check" late 3 1 4) || fail "late rank: $out"
ok "$out"

for transport in auto tcp; do
    out=$(TERN_COLL_TRANSPORT=$transport "$check" kill 4 2) || fail "kill ($transport): $out"
    [ "$(echo "$out" | grep -c 'error after')" -eq 3 ] || fail "kill ($transport): not every survivor failed: $out"
    slow=$(echo "$out" | awk '/error after/ { if ($5 + 0 > 5.0) print }')
    [ -z "$slow" ] || fail "kill ($transport): an error came later than 5 s: $slow"
    ok "rank 2 killed mid-all-reduce ($transport): $(echo "$out" | tr '\n' ';')"
done

# A survivor must not wait for a late rank to hear of a death (TCP: its
# next rank's closed connection tells it).
out=$(TERN_COLL_TRANSPORT=tcp COLL_CHECK_LATE_RANK=2 COLL_CHECK_LATE_S=8 "$check" kill 3 1) \
    || fail "kill with a late rank: $out"
echo "$out" | grep -q '^rank 0: error after 0\.' || fail "rank 0 waited for the late rank: $out"
ok "rank 1 killed while rank 2 is late: rank 0 fails at once ($(echo "$out" | head -n 1))"

out=$(TERN_INIT_TIMEOUT=3 "$check" absent 4 2) || fail "absent: $out"
[ "$(echo "$out" | grep -c 'rank 2 never arrived within 3 s')" -eq 3 ] || fail "absent: $out"
out=$(TERN_INIT_TIMEOUT=3 "$check" absent 3 0) || fail "absent rank 0: $out"
[ "$(echo "$out" | grep -c '(rank 0) did not answer within 3 s')" -eq 2 ] || fail "absent rank 0: $out"
ok "a rank that never arrives: every other init fails naming it"

# Under Open MPI's mpirun, the same calls go through MPI.
if ! command -v mpirun >/dev/null; then
    echo "SKIP: mpirun is not installed; the MPI backend is untested"
elif [ -n "${TERN_SANITIZED:-}" ]; then
    echo "SKIP: MPI backend under the sanitizers (Open MPI's own allocations read as leaks)"
else
    for n in 2 3; do
        out=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 \
              mpirun --oversubscribe -np "$n" "$check" mpi 2>&1) || fail "mpirun -np $n: $out"
        echo "$out" | grep -q "mpi backend: $n ranks, every dtype and op exact" || fail "mpi: $out"
    done
    ok "under mpirun (2 and 3 ranks) the MPI backend serves every dtype and op exactly"
fi
