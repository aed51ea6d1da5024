# A script whose #TERN / #SBATCH lines give the options; the command line
# overrides them; tern logs shows each rank's output, -f follows it.
. "$(dirname "$0")/lib.sh"

up --workers 2
cat >"$T/job.sh" <<'SCRIPT'
#!/bin/sh
#SBATCH --job-name=from-script
#SBATCH --nodes=2
#SBATCH --mail-type=END
#TERN --ntasks-per-node 2
srun sh -c 'echo "hello from rank $RANK of $WORLD_SIZE args=$*"' sh "$@"
SCRIPT
chmod +x "$T/job.sh"
id=$(tern submit --parsable "$T/job.sh" a1 a2 2>"$T/warn") || fail "submit script"
grep -q "job.sh:4: #SBATCH --mail-type=END is not supported; ignored" "$T/warn" \
    || fail "no warning for the unsupported directive: $(cat "$T/warn")"
# The script is kept as submitted: editing it now changes nothing.
echo 'echo EDITED' >>"$T/job.sh"
tern wait "$id" --timeout 30 || fail "script job"
tern show "$id" | grep -q "JobName=from-script" || fail "job name from #SBATCH"
tern show "$id" | grep -q "NumNodes=2 NumTasks=4" || fail "shape from directives: $(tern show "$id")"
tern logs "$id" | sort >"$T/logs"
for r in 0 1 2 3; do
    grep -q "hello from rank $r of 4 args=a1 a2$" "$T/logs" || fail "rank $r output: $(cat "$T/logs")"
done
! grep -q EDITED "$T/logs" || fail "the edited script ran"
ok "script job $id: directives applied, one warning, its srun ran 4 ranks"

id2=$(tern submit --parsable -N 1 -J override "$T/job.sh") || fail "submit override"
tern wait "$id2" --timeout 30 || fail "override job"
tern show "$id2" | grep -q "JobName=override" || fail "-J did not override"
tern show "$id2" | grep -q "NumNodes=1 NumTasks=2" || fail "-N did not override: $(tern show "$id2")"
ok "command-line options override the script's"

# -f follows a running job to its end.
id3=$(tern submit --parsable -- sh -c 'for i in 1 2 3; do echo tick $i; sleep 0.3; done') \
    || fail "submit ticking job"
timeout 30 tern logs -f "$id3" >"$T/follow" || fail "logs -f"
[ "$(cat "$T/follow")" = "$(printf 'tick 1\ntick 2\ntick 3')" ] || fail "followed: $(cat "$T/follow")"
ok "logs -f followed job $id3 to its end"

# A command that does not exist: the rank fails with 127 and says why.
id4=$(tern submit --parsable no-such-command-xyz) || fail "submit missing command"
tern wait "$id4" --timeout 30 2>/dev/null
[ $? -eq 127 ] || fail "missing command should exit 127"
tern show "$id4" | grep -q "cannot run 'no-such-command-xyz': command not found" \
    || fail "reason: $(tern show "$id4" | grep Reason)"
tern logs "$id4" | grep -q "command not found" || fail "the log does not say why"
ok "a missing command fails with 127 and the reason in show and logs"

# The example job script runs as it stands.
ex=$(tern submit --parsable "$TESTS/../configs/jobs/hello.sbatch") || fail "submit the example"
tern wait "$ex" --timeout 30 || fail "example job $ex"
[ "$(tern logs "$ex" | grep -c "rank [0-3] of 4 on node")" -eq 4 ] || fail "example output: $(tern logs "$ex")"
[ "$(tern logs "$ex" | grep -c "batch script on node1")" -eq 1 ] || fail "example batch line: $(tern logs "$ex")"
ok "configs/jobs/hello.sbatch ran its batch part once and 4 ranks through srun"
