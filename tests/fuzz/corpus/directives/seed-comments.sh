
# train the model
#SBATCH -N 3 -c 2   # three nodes

   
## not a directive: #SBATCH -N 99
#SBATCH	--time=10
#SBATCHX -N 42
#TERN --preemptible --max-restarts 2
srun python train.py
