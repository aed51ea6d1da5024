#!/bin/sh
#SBATCH -J "my job" -o "/logs/%x #%j.out"
#SBATCH --job-name='single quoted' -e '/logs/%A_%a.err'
#TERN -D "/home/ada/a b" --checkpoint-dir=/ckpt/%j
#SBATCH --comment="x
