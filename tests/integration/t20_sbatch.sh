# An sbatch script written for SLURM runs under tern as under sbatch: the
# batch part once, on the first node, with the batch environment; each srun
# in it a step of the job's tasks on its nodes with the variables SLURM's
# srun gives; everything in out-<id>.txt in the submit directory. tern's
# srun and scontrol come first on the script's PATH even where SLURM is
# installed.
. "$(dirname "$0")/lib.sh"

up --workers 2 --cpus-per-worker 2
cd "$T" || fail "cd"
cat >job.sbatch <<'SCRIPT'
#!/bin/bash
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
#SBATCH -t 00:05:00
#SBATCH -o out-%j.txt
#SBATCH -J sbatch-test
echo "batch on $SLURMD_NODENAME job=$SLURM_JOB_ID nodes=$SLURM_JOB_NUM_NODES ntasks=$SLURM_NTASKS tpn=$SLURM_TASKS_PER_NODE submit=$SLURM_SUBMIT_DIR"
echo "hosts $(scontrol show hostnames "$SLURM_JOB_NODELIST" | tr '\n' ' ')"
echo "srun is $(command -v srun)"
srun bash -c 'echo "task $SLURM_PROCID of $SLURM_NTASKS local=$SLURM_LOCALID node=$SLURM_NODEID on=$SLURMD_NODENAME rank=$RANK world=$WORLD_SIZE step=$SLURM_STEP_ID job=$SLURM_JOB_ID master=$MASTER_ADDR:$MASTER_PORT"'
srun --unbuffered -u --nodes=1 --ntasks=1 bash -c 'echo "single on $SLURMD_NODENAME step=$SLURM_STEP_ID ntasks=$SLURM_NTASKS"'
srun -N 1 -n 1 -w "$(scontrol show hostnames "$SLURM_JOB_NODELIST" | tail -n 1)" bash -c 'echo "pinned on $SLURMD_NODENAME"'
srun bash -c 'exit $((SLURM_PROCID == 2 ? 3 : 0))'
echo "srun exit $?"
echo "batch done"
SCRIPT
id=$(tern submit --parsable job.sbatch) || fail "submit"
tern wait "$id" --timeout 60 >/dev/null || fail "job $id: $(tern show "$id"); $(cat "out-$id.txt" 2>/dev/null)"
out="$T/out-$id.txt"
[ -f "$out" ] || fail "no out-$id.txt in the submit directory: $(ls "$T")"
[ "$(grep -c '^batch on ' "$out")" -eq 1 ] || fail "the batch part ran $(grep -c '^batch on ' "$out") times: $(cat "$out")"
grep -qx "batch on node1 job=$id nodes=2 ntasks=4 tpn=2(x2) submit=$T" "$out" || fail "batch environment: $(cat "$out")"
grep -qx "hosts node1 node2 " "$out" || fail "scontrol show hostnames: $(cat "$out")"
grep -q "^srun is .*/lib/tern/slurm/srun$" "$out" || fail "not tern's srun first on PATH: $(grep '^srun is' "$out")"
for p in 0 1 2 3; do
    l=$((p % 2)) n=$((p / 2))
    grep -q "^task $p of 4 local=$l node=$n on=node$((n + 1)) rank=$p world=4 step=0 job=$id master=127.0.0.1:[0-9]*$" "$out" \
        || fail "task $p: $(grep '^task' "$out")"
done
[ "$(grep -c '^task ' "$out")" -eq 4 ] || fail "$(grep -c '^task ' "$out") task lines"
grep -qx "single on node1 step=1 ntasks=1" "$out" || fail "srun --unbuffered -u --nodes=1 --ntasks=1: $(cat "$out")"
grep -qx "pinned on node2" "$out" || fail "srun -w node2: $(cat "$out")"
grep -qx "srun exit 3" "$out" || fail "srun's exit status: $(grep 'srun exit' "$out")"
[ "$(tail -n 1 "$out")" = "batch done" ] || fail "the batch part did not finish last: $(tail -n 3 "$out")"
ok "sbatch script: batch part once on node1 with SLURM's batch variables, srun steps of 4 / 1 / -w tasks with per-task SLURM_* and torchrun variables, srun's exit status, all in out-$id.txt"

# srun outside a tern job says so; a step larger than the job is refused.
expect_error "srun outside a job" "not inside a tern batch job" env -u TERN_JOB_ID "$TERN_BIN/../lib/tern/slurm/srun" true
cat >big.sbatch <<'SCRIPT'
#!/bin/sh
#SBATCH -N 1
#SBATCH -o big-%j.txt
srun -N 2 true
echo "srun exit $?"
SCRIPT
big=$(tern submit --parsable big.sbatch) || fail "submit big"
tern wait "$big" --timeout 30 >/dev/null || fail "big: $(tern show "$big")"
grep -q "srun: -N 2: the job has 1 nodes" "big-$big.txt" || fail "oversized step: $(cat "big-$big.txt")"
grep -qx "srun exit 1" "big-$big.txt" || fail "oversized step exit: $(cat "big-$big.txt")"
ok "srun outside a tern job and a step larger than the job are refused with the reason"

# A step takes what belongs to the job from the job: its checkpoint
# directory and warning signal; the warning (--signal before the time
# limit) goes to the step's tasks, not to the batch script, which goes on.
cat >warn.sbatch <<SCRIPT
#!/bin/sh
#SBATCH -N 1
#SBATCH -t 0:04
#SBATCH --signal=USR2@2
#SBATCH -o warn-%j.txt
#TERN --checkpoint-dir $T/ck
srun sh -c 'echo "step ckpt=\$TERN_CHECKPOINT_DIR signal=\$TERN_PREEMPT_SIGNAL"; trap "echo step warned; exit 0" USR2; sleep 30 & wait'
echo "srun exit \$? and the script goes on"
SCRIPT
warn=$(tern submit --parsable warn.sbatch) || fail "submit warn"
tern wait "$warn" --timeout 30 >/dev/null || fail "warn job: $(tern show "$warn"); $(cat "warn-$warn.txt")"
grep -qx "step ckpt=$T/ck signal=SIGUSR2" "warn-$warn.txt" || fail "step environment: $(cat "warn-$warn.txt")"
grep -qx "step warned" "warn-$warn.txt" || fail "the step was not warned: $(cat "warn-$warn.txt")"
grep -qx "srun exit 0 and the script goes on" "warn-$warn.txt" || fail "the batch script: $(cat "warn-$warn.txt")"
ok "a step gets the job's checkpoint directory and signal; the --signal warning reaches the step, the batch script goes on"

# Cancelling a batch job stops its steps on every node.
cat >long.sbatch <<SCRIPT
#!/bin/sh
#SBATCH -N 2
#SBATCH -o long-%j.txt
srun sh -c 'echo \$\$ > $T/step.\$SLURM_PROCID; exec sleep 300'
SCRIPT
long=$(tern submit --parsable long.sbatch) || fail "submit long"
wait_for 20 sh -c "[ \$(ls $T/step.* 2>/dev/null | wc -l) -eq 2 ]" || fail "steps did not start"
tern cancel "$long" || fail "cancel"
tern wait "$long" --timeout 30 >/dev/null 2>&1
wait_for 15 pids_gone <(cat "$T"/step.*) || fail "step tasks left running after cancel"
ok "cancelling the batch job stopped its step's tasks on both nodes"
