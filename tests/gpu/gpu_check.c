/* gpu_check: libtern's NCCL backend on one GPU (world size 1), device
 * buffers, every dtype and op: the result must equal what the CPU backend
 * computes from the same input (for one rank: the input itself, or the
 * input over 1 for AVG). Also broadcast and all-gather of device buffers.
 * Run by tests/gpu/run.sh on a machine with a GPU; built wherever the CUDA
 * toolkit and NCCL are. Prints one line per check; exits 0 when all pass. */
#include "tern/tern.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dt_names[] = { "f32", "f64", "f16", "bf16" };
static const char *const op_names[] = { "sum", "avg", "min", "max" };

int main(void)
{
    setenv("TERN_COLL", "nccl", 0);
    setenv("RANK", "0", 0);
    setenv("WORLD_SIZE", "1", 0);
    setenv("LOCAL_RANK", "0", 0);
    setenv("MASTER_ADDR", "127.0.0.1", 0);
    setenv("MASTER_PORT", "29431", 0);
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("FAIL no CUDA device\n");
        return 1;
    }
    tern_comm *nc, *cc;
    char err[512];
    if (tern_comm_init(&nc, err, sizeof err) != 0) {
        printf("FAIL nccl init: %s\n", err);
        return 1;
    }
    /* The CPU reference: a second communicator without the plugin. */
    tern_comm_opts o = { .rank = 0, .world_size = 1, .master_addr = "127.0.0.1",
                         .master_port = 29432 };
    setenv("TERN_COLL", "cpu", 1);
    if (tern_comm_init_opts(&cc, &o, err, sizeof err) != 0) {
        printf("FAIL cpu init: %s\n", err);
        return 1;
    }
    size_t count = 1000003, bad = 0;
    for (int dt = 0; dt < TERN_DTYPE_COUNT; dt++) {
        size_t bytes = count * tern_dtype_size((tern_dtype)dt);
        unsigned char *host = malloc(bytes), *want = malloc(bytes), *got = malloc(bytes);
        void *dev;
        for (size_t i = 0; i < bytes; i++)
            host[i] = (unsigned char)(i * 2654435761u >> 13);
        if (dt == 2 || dt == 3)   /* keep halves finite: clear the top exponent bit */
            for (size_t i = 1; i < bytes; i += 2)
                host[i] &= 0x3f;
        if (dt == 0)
            for (size_t i = 3; i < bytes; i += 4)
                host[i] &= 0x3f;
        if (dt == 1)
            for (size_t i = 7; i < bytes; i += 8)
                host[i] &= 0x3f;
        if (cudaMalloc(&dev, bytes) != cudaSuccess) {
            printf("FAIL cudaMalloc\n");
            return 1;
        }
        for (int op = 0; op < TERN_OP_COUNT; op++) {
            memcpy(want, host, bytes);
            tern_allreduce(cc, want, want, count, (tern_dtype)dt, (tern_op)op);
            cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice);
            int rc = tern_allreduce(nc, dev, dev, count, (tern_dtype)dt, (tern_op)op);
            cudaMemcpy(got, dev, bytes, cudaMemcpyDeviceToHost);
            int same = rc == 0 && memcmp(got, want, bytes) == 0;
            printf("%s allreduce %s %s on the device equals the CPU backend%s%s\n",
                   same ? "ok" : "FAIL", dt_names[dt], op_names[op], rc ? ": " : "",
                   rc ? tern_comm_error(nc) : "");
            bad += !same;
        }
        cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice);
        int rc = tern_broadcast(nc, dev, count, (tern_dtype)dt, 0);
        cudaMemcpy(got, dev, bytes, cudaMemcpyDeviceToHost);
        int same = rc == 0 && memcmp(got, host, bytes) == 0;
        printf("%s broadcast %s of a device buffer\n", same ? "ok" : "FAIL", dt_names[dt]);
        bad += !same;
        void *dev2;
        cudaMalloc(&dev2, bytes);
        rc = tern_allgather(nc, dev, dev2, count, (tern_dtype)dt);
        cudaMemcpy(got, dev2, bytes, cudaMemcpyDeviceToHost);
        same = rc == 0 && memcmp(got, host, bytes) == 0;
        printf("%s allgather %s of device buffers\n", same ? "ok" : "FAIL", dt_names[dt]);
        bad += !same;
        cudaFree(dev2);
        cudaFree(dev);
        free(host);
        free(want);
        free(got);
    }
    int rc = tern_barrier(nc);
    printf("%s barrier through NCCL\n", rc == 0 ? "ok" : "FAIL");
    bad += rc != 0;
    tern_comm_destroy(&nc);
    tern_comm_destroy(&cc);
    printf("%s: %zu checks failed\n", bad ? "FAIL" : "PASS", bad);
    return bad ? 1 : 0;
}
