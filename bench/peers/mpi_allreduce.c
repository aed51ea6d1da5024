/* peer-mpi-allreduce: Open MPI's MPI_Allreduce (float32 sum, in place) at
 * the sizes bench-allreduce uses, timed the same way; rank 0 prints
 * "SIZE SECONDS" lines. Built with mpicc; run by bench-allreduce. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static const size_t sizes[] = {
    4u << 10, 16u << 10, 64u << 10, 256u << 10, 1u << 20, 4u << 20, 16u << 20, 64u << 20,
    256u << 20,
};

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    size_t n = sizeof sizes / sizeof sizes[0], maxb = sizes[n - 1];
    float *buf = malloc(maxb);
    for (size_t i = 0; i < maxb / 4; i++)
        buf[i] = (float)(i % 97) / 97.0f;
    for (size_t k = 0; k < n; k++) {
        int count = (int)(sizes[k] / 4);
        size_t it = (200u << 20) / sizes[k];
        int iters = it < 5 ? 5 : it > 2000 ? 2000 : (int)it;
        for (int w = 0; w < 2; w++)
            MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < iters; i++)
            MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double t = (MPI_Wtime() - t0) / iters;
        if (rank == 0) {
            printf("%zu %.9f\n", sizes[k], t);
            fflush(stdout);
        }
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
