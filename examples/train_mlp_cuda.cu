/* train_mlp_cuda: train_mlp on a GPU. The same model, data, loop and
 * checkpoints (mlp.c); the arithmetic here runs on the device: cuBLAS for
 * the matrix products, small kernels for the rest, and the gradient's
 * all-reduce through libtern's NCCL backend (the buffer is on the device).
 * Its loss curve matches train_mlp's to float rounding (tests/gpu/run.sh
 * checks a relative difference under 1e-4), and its checkpoints are
 * train_mlp's: either resumes the other's run.
 *
 * Layout: cuBLAS is column-major, so a row-major [rows x cols] matrix is
 * its [cols x rows] transpose; activations are [features x batch], one
 * column per sample. */
#include "examples/mlp.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D MLP_INPUTS
#define C MLP_CLASSES

typedef struct gpu {
    const mlp_config *cf;
    int rank, h, nb;
    size_t n;
    cublasHandle_t blas;
    float *p, *m, *v;              /* device state */
    float *x, *a1, *dh, *z, *dz, *loss;
    int *y;
    float *hx;                     /* host batch */
    int *hy;
} gpu;

static int cuda_ok(cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return 0;
    fprintf(stderr, "train_mlp_cuda: %s: %s\n", what, cudaGetErrorString(e));
    return -1;
}

static int blas_ok(cublasStatus_t s, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return 0;
    fprintf(stderr, "train_mlp_cuda: %s: cuBLAS status %d\n", what, (int)s);
    return -1;
}

static unsigned blocks(size_t n)
{
    return (unsigned)((n + 255) / 256);
}

__global__ void bias_relu(float *a, const float *b, int rows, int cols)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)rows * cols)
        return;
    float v = a[i] + b[i % rows];
    a[i] = v > 0 ? v : 0;
}

/* Per sample: logits + bias, softmax, cross-entropy, and dL/dz / batch. */
__global__ void softmax_ce(const float *z, const float *b2, const int *y, int nb, float *dz,
                           float *loss)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nb)
        return;
    float zz[C], top = -INFINITY, sum = 0, inv = 1.0f / (float)nb;
    for (int o = 0; o < C; o++) {
        zz[o] = z[o + C * i] + b2[o];
        top = fmaxf(top, zz[o]);
    }
    for (int o = 0; o < C; o++)
        sum += expf(zz[o] - top);
    loss[i] = (logf(sum) + top - zz[y[i]]) * inv;
    for (int o = 0; o < C; o++)
        dz[o + C * i] = (expf(zz[o] - top) / sum - (o == y[i] ? 1.0f : 0.0f)) * inv;
}

/* out[r] = sum over the columns of row r, in column order (deterministic). */
__global__ void row_sums(const float *a, int rows, int cols, float *out)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows)
        return;
    float s = 0;
    for (int c = 0; c < cols; c++)
        s += a[r + (size_t)rows * c];
    out[r] = s;
}

__global__ void relu_mask(float *d, const float *a, size_t n)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n && a[i] <= 0)
        d[i] = 0;
}

__global__ void sgd(float *p, float *m, const float *g, size_t n, float lr)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    m[i] = 0.9f * m[i] + g[i];
    p[i] -= lr * m[i];
}

__global__ void adam(float *p, float *m, float *v, const float *g, size_t n, float lr, float c1,
                     float c2)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    m[i] = 0.9f * m[i] + 0.1f * g[i];
    v[i] = 0.999f * v[i] + 0.001f * g[i] * g[i];
    p[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + 1e-8f);
}

static int gradient(void *self, long s, float *g)
{
    gpu *c = (gpu *)self;
    int h = c->h, nb = c->nb;
    const float one = 1, zero = 0;
    const float *w1 = c->p, *b1 = w1 + (size_t)h * D, *w2 = b1 + h, *b2 = w2 + (size_t)C * h;
    float *gw1 = g, *gb1 = gw1 + (size_t)h * D, *gw2 = gb1 + h, *gb2 = gw2 + (size_t)C * h;
    for (int i = 0; i < nb; i++)
        c->hy[i] = mlp_sample(c->cf->seed, s, c->rank, i, c->hx + (size_t)i * D);
    if (cuda_ok(cudaMemcpy(c->x, c->hx, sizeof(float) * D * nb, cudaMemcpyHostToDevice), "batch") ||
        cuda_ok(cudaMemcpy(c->y, c->hy, sizeof(int) * nb, cudaMemcpyHostToDevice), "labels"))
        return -1;
    /* a1 [h x nb] = W1 x + b1, ReLU; z [C x nb] = W2 a1 (+ b2 in softmax_ce) */
    if (blas_ok(cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, h, nb, D, &one, w1, D, c->x, D,
                            &zero, c->a1, h), "W1 x"))
        return -1;
    bias_relu<<<blocks((size_t)h * nb), 256>>>(c->a1, b1, h, nb);
    if (blas_ok(cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, C, nb, h, &one, w2, h, c->a1, h,
                            &zero, c->z, C), "W2 a1"))
        return -1;
    softmax_ce<<<blocks(nb), 256>>>(c->z, b2, c->y, nb, c->dz, c->loss);
    /* gW2 = dz a1^T, gb2 = sum dz; dh = W2^T dz masked by ReLU; gW1 = dh x^T */
    if (blas_ok(cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, h, C, nb, &one, c->a1, h, c->dz, C,
                            &zero, gw2, h), "gW2"))
        return -1;
    row_sums<<<1, C>>>(c->dz, C, nb, gb2);
    if (blas_ok(cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, h, nb, C, &one, w2, h, c->dz, C,
                            &zero, c->dh, h), "W2^T dz"))
        return -1;
    relu_mask<<<blocks((size_t)h * nb), 256>>>(c->dh, c->a1, (size_t)h * nb);
    row_sums<<<blocks(h), 256>>>(c->dh, h, nb, gb1);
    if (blas_ok(cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, D, h, nb, &one, c->x, D, c->dh, h,
                            &zero, gw1, D), "gW1"))
        return -1;
    row_sums<<<1, 1>>>(c->loss, 1, nb, g + c->n);
    return cuda_ok(cudaGetLastError(), "gradient kernels");
}

static int put(void *self, float *g, size_t i, float v)
{
    (void)self;
    return cuda_ok(cudaMemcpy(g + i, &v, sizeof v, cudaMemcpyHostToDevice), "put");
}

static int get(void *self, const float *g, size_t i, float *v)
{
    (void)self;
    return cuda_ok(cudaMemcpy(v, g + i, sizeof *v, cudaMemcpyDeviceToHost), "get");
}

static int update(void *self, const float *g, long t)
{
    gpu *c = (gpu *)self;
    if (c->cf->adam)
        adam<<<blocks(c->n), 256>>>(c->p, c->m, c->v, g, c->n, c->cf->lr,
                                    1.0f - powf(0.9f, (float)t), 1.0f - powf(0.999f, (float)t));
    else
        sgd<<<blocks(c->n), 256>>>(c->p, c->m, g, c->n, c->cf->lr);
    return cuda_ok(cudaGetLastError(), "update");
}

static int pull(void *self, mlp_model *md)
{
    gpu *c = (gpu *)self;
    size_t b = c->n * sizeof(float);
    return cuda_ok(cudaMemcpy(md->p, c->p, b, cudaMemcpyDeviceToHost), "pull") ||
           cuda_ok(cudaMemcpy(md->m, c->m, b, cudaMemcpyDeviceToHost), "pull") ||
           (md->v && cuda_ok(cudaMemcpy(md->v, c->v, b, cudaMemcpyDeviceToHost), "pull")) ? -1 : 0;
}

static int push(void *self, const mlp_model *md)
{
    gpu *c = (gpu *)self;
    size_t b = c->n * sizeof(float);
    return cuda_ok(cudaMemcpy(c->p, md->p, b, cudaMemcpyHostToDevice), "push") ||
           cuda_ok(cudaMemcpy(c->m, md->m, b, cudaMemcpyHostToDevice), "push") ||
           (md->v && cuda_ok(cudaMemcpy(c->v, md->v, b, cudaMemcpyHostToDevice), "push")) ? -1 : 0;
}

static int gpu_new(gpu *c, const mlp_config *cf, int rank, size_t n, float **g)
{
    int h = cf->hidden, nb = cf->batch;
    *c = gpu();
    c->cf = cf;
    c->rank = rank;
    c->h = h;
    c->nb = nb;
    c->n = n;
    size_t b = n * sizeof(float);
    c->hx = (float *)malloc(sizeof(float) * D * nb);
    c->hy = (int *)malloc(sizeof(int) * nb);
    if (!c->hx || !c->hy)
        return -1;
    if (cuda_ok(cudaMalloc(&c->p, b), "cudaMalloc") || cuda_ok(cudaMalloc(&c->m, b), "cudaMalloc") ||
        (cf->adam && cuda_ok(cudaMalloc(&c->v, b), "cudaMalloc")) ||
        cuda_ok(cudaMalloc(g, b + 2 * sizeof(float)), "cudaMalloc") ||
        cuda_ok(cudaMalloc(&c->x, sizeof(float) * D * nb), "cudaMalloc") ||
        cuda_ok(cudaMalloc(&c->a1, sizeof(float) * h * nb), "cudaMalloc") ||
        cuda_ok(cudaMalloc(&c->dh, sizeof(float) * h * nb), "cudaMalloc") ||
        cuda_ok(cudaMalloc(&c->z, sizeof(float) * C * nb), "cudaMalloc") ||
        cuda_ok(cudaMalloc(&c->dz, sizeof(float) * C * nb), "cudaMalloc") ||
        cuda_ok(cudaMalloc(&c->loss, sizeof(float) * nb), "cudaMalloc") ||
        cuda_ok(cudaMalloc(&c->y, sizeof(int) * nb), "cudaMalloc"))
        return -1;
    if (blas_ok(cublasCreate(&c->blas), "cublasCreate") ||
        blas_ok(cublasSetMathMode(c->blas, CUBLAS_PEDANTIC_MATH), "math mode"))
        return -1;
    return 0;
}

static void gpu_free(gpu *c, float *g)
{
    if (c->blas)
        cublasDestroy(c->blas);
    float *bufs[] = { c->p, c->m, c->v, c->x, c->a1, c->dh, c->z, c->dz, c->loss, g };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cudaFree(bufs[i]);
    cudaFree(c->y);
    free(c->hx);
    free(c->hy);
}

int main(int argc, char **argv)
{
    const char *prog = "train_mlp_cuda";
    mlp_config cf;
    if (mlp_start(argc, argv, prog, &cf) < 0)
        return 2;
    /* One GPU per rank of a node (tern sets CUDA_VISIBLE_DEVICES). */
    int ndev = 0;
    if (cuda_ok(cudaGetDeviceCount(&ndev), "cudaGetDeviceCount") || ndev == 0)
        return 1;
    const char *lr = getenv("LOCAL_RANK");
    if (cuda_ok(cudaSetDevice(lr ? atoi(lr) % ndev : 0), "cudaSetDevice"))
        return 1;
    setenv("TERN_COLL", "nccl", 0);
    tern_comm *comm;
    char err[512];
    if (tern_comm_init(&comm, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    mlp_model md = mlp_model();
    gpu c = gpu();
    mlp_backend be = mlp_backend();
    be.name = "cuda";
    be.self = &c;
    be.gradient = gradient;
    be.put = put;
    be.get = get;
    be.update = update;
    be.pull = pull;
    be.push = push;
    int rc = 1;
    if (mlp_model_init(&md, &cf) < 0)
        fprintf(stderr, "%s: out of memory\n", prog);
    else if (gpu_new(&c, &cf, tern_comm_rank(comm), md.n, &be.g) == 0 && push(&c, &md) == 0)
        rc = mlp_run(prog, &cf, comm, &md, &be);
    gpu_free(&c, be.g);
    mlp_model_free(&md);
    tern_comm_destroy(&comm);
    return rc;
}
