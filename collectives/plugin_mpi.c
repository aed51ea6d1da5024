/* libtern-mpi.so: the MPI backend, for programs Open MPI's mpirun started
 * (OMPI_COMM_WORLD_SIZE in the environment, or TERN_COLL=mpi). The world
 * is MPI's; every operation is MPI's on MPI_COMM_WORLD. Half types are
 * widened to float32 for the reduction and rounded back, as the CPU
 * backend does; the order of the additions is MPI's. When a peer dies,
 * mpirun ends the job. */
#include "collectives/plugin.h"
#include "collectives/reduce.h"

#include <mpi.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mpi_state {
    bool we_initialized;
    float *wide;                   /* widened half types */
    size_t wide_len;
} mpi_state;

static bool started_mpi;

static int say(int rc, char *err, size_t errlen, const char *what)
{
    if (rc == MPI_SUCCESS)
        return 0;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    snprintf(err, errlen, "%s: %.*s", what, len, msg);
    return -1;
}

static int world(int *rank, int *size)
{
    int up = 0, provided;
    MPI_Initialized(&up);
    if (!up) {
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
            return -1;
        started_mpi = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return 0;
}

static int create(void **state, int rank, int size, const void *id, size_t idlen,
                  double timeout_s, char *err, size_t errlen)
{
    (void)rank, (void)size, (void)id, (void)idlen, (void)timeout_s;
    mpi_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Errors come back as codes, for tern_comm_error(), not as an abort. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    s->we_initialized = started_mpi;
    *state = s;
    return 0;
}

static float *wide(mpi_state *s, size_t count)
{
    if (count > s->wide_len) {
        float *w = realloc(s->wide, count * sizeof *w);
        if (!w)
            return NULL;
        s->wide = w;
        s->wide_len = count;
    }
    return s->wide;
}

static int allreduce(void *state, const void *send, void *recv, size_t count, tern_dtype dt,
                     tern_op op, int (*alive)(void *), void *arg, char *err, size_t errlen)
{
    (void)alive, (void)arg;
    mpi_state *s = state;
    MPI_Op mop = op == TERN_MIN ? MPI_MIN : op == TERN_MAX ? MPI_MAX : MPI_SUM;
    tern_dtype rt = reduce_type(dt);
    void *buf = recv;
    const void *src = send == recv ? MPI_IN_PLACE : send;
    if (rt != dt) {
        float *w = wide(s, count ? count : 1);
        if (!w) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        halves_to_f32(w, send, count, dt);
        buf = w;
        src = MPI_IN_PLACE;
    }
    int n;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    /* MPI counts are int: large messages go in pieces. */
    size_t es = tern_dtype_size(rt), done = 0, piece = (size_t)1 << 30;
    while (done < count || count == 0) {
        size_t k = count - done < piece ? count - done : piece;
        const void *from = src == MPI_IN_PLACE ? MPI_IN_PLACE : (const char *)src + done * es;
        int rc = MPI_Allreduce(from, (char *)buf + done * es, (int)k,
                               rt == TERN_F64 ? MPI_DOUBLE : MPI_FLOAT, mop, MPI_COMM_WORLD);
        if (say(rc, err, errlen, "MPI_Allreduce") < 0)
            return -1;
        done += k;
        if (count == 0)
            break;
    }
    if (op == TERN_AVG)
        reduce_divide(buf, count, rt, n);
    if (rt != dt)
        f32_to_halves(recv, buf, count, dt);
    return 0;
}

static int broadcast(void *state, void *buf, size_t count, tern_dtype dt, int root,
                     int (*alive)(void *), void *arg, char *err, size_t errlen)
{
    (void)state, (void)alive, (void)arg;
    size_t bytes = count * tern_dtype_size(dt), done = 0, piece = (size_t)1 << 30;
    while (done < bytes) {
        size_t k = bytes - done < piece ? bytes - done : piece;
        if (say(MPI_Bcast((char *)buf + done, (int)k, MPI_BYTE, root, MPI_COMM_WORLD), err,
                errlen, "MPI_Bcast") < 0)
            return -1;
        done += k;
    }
    return 0;
}

static int allgather(void *state, const void *send, void *recv, size_t count, tern_dtype dt,
                     int (*alive)(void *), void *arg, char *err, size_t errlen)
{
    (void)state, (void)alive, (void)arg;
    size_t bytes = count * tern_dtype_size(dt);
    if (bytes > (size_t)1 << 30) {
        snprintf(err, errlen, "MPI backend: all-gather of more than 1 GiB per rank");
        return -1;
    }
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    /* In place, as the CPU backend allows: MPI wants MPI_IN_PLACE then. */
    const void *from = send == (const char *)recv + (size_t)rank * bytes ? MPI_IN_PLACE : send;
    return say(MPI_Allgather(from, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE,
                             MPI_COMM_WORLD), err, errlen, "MPI_Allgather");
}

static int barrier(void *state, int (*alive)(void *), void *arg, char *err, size_t errlen)
{
    (void)state, (void)alive, (void)arg;
    return say(MPI_Barrier(MPI_COMM_WORLD), err, errlen, "MPI_Barrier");
}

static void destroy(void *state)
{
    mpi_state *s = state;
    if (!s)
        return;
    if (s->we_initialized) {
        int done = 0;
        MPI_Finalized(&done);
        if (!done)
            MPI_Finalize();
    }
    free(s->wide);
    free(s);
}

/* The one symbol the plugin exports (built -fvisibility=hidden). */
TERN_API const coll_plugin tern_coll_plugin = {
    .abi = COLL_PLUGIN_ABI,
    .name = "mpi",
    .make_id = NULL,
    .create = create,
    .owns = NULL,
    .allreduce = allreduce,
    .broadcast = broadcast,
    .allgather = allgather,
    .barrier = barrier,
    .abort = NULL,
    .destroy = destroy,
    .world = world,
};
