/* An MPI program for --launcher mpi: each rank says who and where it is,
 * then rank 0 prints the sum of every rank's number (MPI_Allreduce). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *node = getenv("TERN_NODE_NAME");
    printf("mpi rank %d of %d on %s\n", rank, size, node ? node : "?");
    fflush(stdout);
    long mine = rank + 1, sum = 0;
    MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("allreduce sum %ld of %d ranks\n", sum, size);
    MPI_Finalize();
    return 0;
}
