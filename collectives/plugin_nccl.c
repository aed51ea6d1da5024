/* libtern-nccl.so: the NCCL backend, loaded by libtern for device buffers
 * (or TERN_COLL=nccl), so that libtern itself never needs CUDA.
 *
 * The communicator is created non-blocking from the unique id rank 0
 * published at the rendezvous, and every operation is waited for by
 * polling: the stream, NCCL's asynchronous error, and libtern's view of
 * the peers (which sees a dead rank through the ring links within
 * seconds). When something is wrong the communicator is aborted
 * (ncclCommAbort) instead of waiting for NCCL's own watchdog.
 *
 * Arithmetic is NCCL's: half types reduce as NCCL reduces them, and the
 * order of additions is NCCL's, not the CPU backend's canonical one. */
#include "collectives/plugin.h"

#include <cuda_runtime_api.h>
#include <nccl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct nccl_state {
    ncclComm_t comm;
    cudaStream_t stream;
    int device;
    float *one;                    /* a device float, for the barrier */
    bool aborted;
} nccl_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_id(void *buf, size_t *len, char *err, size_t errlen)
{
    ncclUniqueId id;
    ncclResult_t r = ncclGetUniqueId(&id);
    if (r != ncclSuccess || *len < sizeof id) {
        snprintf(err, errlen, "ncclGetUniqueId: %s", ncclGetErrorString(r));
        return -1;
    }
    memcpy(buf, &id, sizeof id);
    *len = sizeof id;
    return 0;
}

/* Waits for a non-blocking NCCL call to settle. */
static int settle(nccl_state *s, double deadline, char *err, size_t errlen)
{
    ncclResult_t st = ncclInProgress;
    while (ncclCommGetAsyncError(s->comm, &st) == ncclSuccess && st == ncclInProgress) {
        if (now_s() > deadline) {
            snprintf(err, errlen, "NCCL did not finish forming the communicator in time");
            return -1;
        }
        usleep(1000);
    }
    if (st != ncclSuccess) {
        snprintf(err, errlen, "NCCL: %s", ncclGetErrorString(st));
        return -1;
    }
    return 0;
}

static int create(void **state, int rank, int size, const void *id, size_t idlen,
                  double timeout_s, char *err, size_t errlen)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        snprintf(err, errlen, "no CUDA device visible (CUDA_VISIBLE_DEVICES=%s)",
                 getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES") : "(unset)");
        return -1;
    }
    if (idlen != sizeof(ncclUniqueId)) {
        snprintf(err, errlen, "NCCL unique id of %zu bytes, expected %zu", idlen,
                 sizeof(ncclUniqueId));
        return -1;
    }
    nccl_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *lr = getenv("LOCAL_RANK");
    s->device = (lr ? atoi(lr) : 0) % ndev;
    /* A blocking stream: ordered after the caller's work on the default
     * stream, so NCCL never reads gradients before they are written. */
    if (cudaSetDevice(s->device) != cudaSuccess ||
        cudaStreamCreateWithFlags(&s->stream, cudaStreamDefault) != cudaSuccess ||
        cudaMalloc((void **)&s->one, sizeof(float)) != cudaSuccess) {
        snprintf(err, errlen, "CUDA device %d: %s", s->device,
                 cudaGetErrorString(cudaGetLastError()));
        free(s);
        return -1;
    }
    ncclUniqueId uid;
    memcpy(&uid, id, sizeof uid);
    ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
    cfg.blocking = 0;
    ncclResult_t r = ncclCommInitRankConfig(&s->comm, size, uid, rank, &cfg);
    if ((r != ncclSuccess && r != ncclInProgress) ||
        settle(s, now_s() + timeout_s, err, errlen) < 0) {
        if (r != ncclSuccess && r != ncclInProgress)
            snprintf(err, errlen, "ncclCommInitRankConfig: %s", ncclGetErrorString(r));
        if (s->comm)
            ncclCommAbort(s->comm);
        cudaFree(s->one);
        cudaStreamDestroy(s->stream);
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int owns(void *state, const void *buf)
{
    (void)state;
    struct cudaPointerAttributes a;
    if (!buf || cudaPointerGetAttributes(&a, buf) != cudaSuccess) {
        cudaGetLastError();        /* a host pointer: clear the sticky error */
        return 0;
    }
    return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}

static void abort_comm(void *state)
{
    nccl_state *s = state;
    if (s && !s->aborted) {
        s->aborted = true;
        ncclCommAbort(s->comm);
    }
}

/* Waits for what was launched on the stream, watching NCCL and the peers. */
static int finish(nccl_state *s, ncclResult_t launched, int (*alive)(void *), void *arg,
                  char *err, size_t errlen)
{
    if (launched != ncclSuccess && launched != ncclInProgress) {
        snprintf(err, errlen, "NCCL: %s", ncclGetErrorString(launched));
        abort_comm(s);
        return -1;
    }
    /* Non-blocking NCCL may return before the work is on the stream: the
     * stream counts only once the communicator has settled. */
    double checked = now_s();
    bool settled = false;
    for (;;) {
        ncclResult_t st = ncclInProgress;
        if (ncclCommGetAsyncError(s->comm, &st) != ncclSuccess)
            st = ncclInternalError;
        if (st != ncclSuccess && st != ncclInProgress) {
            snprintf(err, errlen, "NCCL: %s", ncclGetErrorString(st));
            abort_comm(s);
            return -1;
        }
        settled |= st == ncclSuccess;
        if (settled) {
            cudaError_t q = cudaStreamQuery(s->stream);
            if (q == cudaSuccess)
                return 0;
            if (q != cudaErrorNotReady) {
                snprintf(err, errlen, "CUDA: %s", cudaGetErrorString(q));
                abort_comm(s);
                return -1;
            }
        }
        if (now_s() - checked > 0.01) {
            checked = now_s();
            if (alive && alive(arg) < 0) {
                snprintf(err, errlen, "a peer is gone; NCCL communicator aborted");
                abort_comm(s);
                return -1;
            }
        }
        usleep(50);
    }
}

static ncclDataType_t nccl_type(tern_dtype dt)
{
    switch (dt) {
    case TERN_F64: return ncclFloat64;
    case TERN_F16: return ncclFloat16;
    case TERN_BF16: return ncclBfloat16;
    default: return ncclFloat32;
    }
}

static ncclRedOp_t nccl_op(tern_op op)
{
    switch (op) {
    case TERN_AVG: return ncclAvg;
    case TERN_MIN: return ncclMin;
    case TERN_MAX: return ncclMax;
    default: return ncclSum;
    }
}

static int allreduce(void *state, const void *send, void *recv, size_t count, tern_dtype dt,
                     tern_op op, int (*alive)(void *), void *arg, char *err, size_t errlen)
{
    nccl_state *s = state;
    return finish(s, ncclAllReduce(send, recv, count, nccl_type(dt), nccl_op(op), s->comm,
                                   s->stream), alive, arg, err, errlen);
}

static int broadcast(void *state, void *buf, size_t count, tern_dtype dt, int root,
                     int (*alive)(void *), void *arg, char *err, size_t errlen)
{
    nccl_state *s = state;
    return finish(s, ncclBroadcast(buf, buf, count, nccl_type(dt), root, s->comm, s->stream),
                  alive, arg, err, errlen);
}

static int allgather(void *state, const void *send, void *recv, size_t count, tern_dtype dt,
                     int (*alive)(void *), void *arg, char *err, size_t errlen)
{
    nccl_state *s = state;
    return finish(s, ncclAllGather(send, recv, count, nccl_type(dt), s->comm, s->stream),
                  alive, arg, err, errlen);
}

static int barrier(void *state, int (*alive)(void *), void *arg, char *err, size_t errlen)
{
    nccl_state *s = state;
    return finish(s, ncclAllReduce(s->one, s->one, 1, ncclFloat32, ncclSum, s->comm, s->stream),
                  alive, arg, err, errlen);
}

static void destroy(void *state)
{
    nccl_state *s = state;
    if (!s)
        return;
    if (!s->aborted)
        ncclCommDestroy(s->comm);
    cudaFree(s->one);
    cudaStreamDestroy(s->stream);
    free(s);
}

/* The one symbol the plugin exports (built -fvisibility=hidden). */
TERN_API const coll_plugin tern_coll_plugin = {
    .abi = COLL_PLUGIN_ABI,
    .name = "nccl",
    .make_id = make_id,
    .create = create,
    .owns = owns,
    .allreduce = allreduce,
    .broadcast = broadcast,
    .allgather = allgather,
    .barrier = barrier,
    .abort = abort_comm,
    .destroy = destroy,
    .world = NULL,
};
