#!/bin/sh
#SBATCH -n 6 --ntasks-per-node 4
#SBATCH -G 3 -N 2 -t UNLIMITED
#SBATCH --signal SIG40 --time=0:30 --max-restarts=1000 -c 4096
