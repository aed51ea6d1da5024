#!/bin/bash
#SBATCH -N 2
#SBATCH --ntasks-per-node=4
#TERN --gpus-per-node 1
echo hi
#SBATCH -N 9
