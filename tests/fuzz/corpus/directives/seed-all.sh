#!/bin/bash
#SBATCH --array=0-15:4,20%2
#SBATCH --dependency=afterok:12:13,afterany:14
#SBATCH -p spot --signal=B:USR1@90 --priority -5
#SBATCH -n 8 --gpus=gpu:h100:8 --gres=gpu:4 -t 1-02:03:04
#TERN --launcher mpi --slurm-env --parsable --scheduler tcp://ctl:7817
#TERN --label team=ml --label "cost center=42"
srun ./a.out
