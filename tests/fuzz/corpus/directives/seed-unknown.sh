#!/bin/bash
#SBATCH --mail-type=END
#SBATCH --mail-user x@y
#SBATCH -N 3
#SBATCH --account proj -c 2 --exclusive --ntasks-per-node 2
#SBATCH --requeue --no-requeue
python x.py
