/* train_mlp: data-parallel training of a small MLP classifier (inputs 32,
 * one ReLU hidden layer, 10 classes, softmax cross-entropy) on the CPU,
 * with libtern's all-reduce and checkpoints. The loop, data and state are
 * in mlp.c; this is the arithmetic. */
#include "examples/mlp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cpu {
    const mlp_config *cf;
    mlp_model *md;
    int rank;
} cpu;

static int gradient(void *self, long s, float *g)
{
    cpu *c = self;
    const mlp_model *md = c->md;
    int h = md->hidden, nb = c->cf->batch;
    const float *w1 = md->p, *b1 = w1 + (size_t)h * MLP_INPUTS, *w2 = b1 + h, *b2 = w2 + (size_t)MLP_CLASSES * h;
    float *gw1 = g, *gb1 = gw1 + (size_t)h * MLP_INPUTS, *gw2 = gb1 + h, *gb2 = gw2 + (size_t)MLP_CLASSES * h;
    float x[MLP_INPUTS], hid[MLP_MAX_HIDDEN], dh[MLP_MAX_HIDDEN], z[MLP_CLASSES], dz[MLP_CLASSES];
    float loss = 0, inv = 1.0f / (float)nb;
    memset(g, 0, md->n * sizeof *g);
    for (int i = 0; i < nb; i++) {
        int y = mlp_sample(c->cf->seed, s, c->rank, i, x);
        for (int k = 0; k < h; k++) {
            float a = b1[k];
            for (int j = 0; j < MLP_INPUTS; j++)
                a += w1[(size_t)k * MLP_INPUTS + j] * x[j];
            hid[k] = a > 0 ? a : 0;
        }
        float top = -INFINITY, sum = 0;
        for (int o = 0; o < MLP_CLASSES; o++) {
            float a = b2[o];
            for (int k = 0; k < h; k++)
                a += w2[(size_t)o * h + k] * hid[k];
            z[o] = a;
            if (a > top)
                top = a;
        }
        for (int o = 0; o < MLP_CLASSES; o++)
            sum += expf(z[o] - top);
        loss += (logf(sum) + top - z[y]) * inv;
        for (int o = 0; o < MLP_CLASSES; o++)
            dz[o] = (expf(z[o] - top) / sum - (o == y ? 1.0f : 0.0f)) * inv;
        for (int k = 0; k < h; k++) {
            float d = 0;
            for (int o = 0; o < MLP_CLASSES; o++) {
                gw2[(size_t)o * h + k] += dz[o] * hid[k];
                d += w2[(size_t)o * h + k] * dz[o];
            }
            dh[k] = hid[k] > 0 ? d : 0;
        }
        for (int o = 0; o < MLP_CLASSES; o++)
            gb2[o] += dz[o];
        for (int k = 0; k < h; k++) {
            gb1[k] += dh[k];
            for (int j = 0; j < MLP_INPUTS; j++)
                gw1[(size_t)k * MLP_INPUTS + j] += dh[k] * x[j];
        }
    }
    g[md->n] = loss;
    return 0;
}

static int put(void *self, float *g, size_t i, float v)
{
    (void)self;
    g[i] = v;
    return 0;
}

static int get(void *self, const float *g, size_t i, float *v)
{
    (void)self;
    *v = g[i];
    return 0;
}

static int update(void *self, const float *g, long t)
{
    cpu *c = self;
    mlp_model *md = c->md;
    float lr = c->cf->lr;
    if (!c->cf->adam) {
        for (size_t i = 0; i < md->n; i++) {
            md->m[i] = 0.9f * md->m[i] + g[i];
            md->p[i] -= lr * md->m[i];
        }
        return 0;
    }
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    for (size_t i = 0; i < md->n; i++) {
        md->m[i] = b1 * md->m[i] + (1 - b1) * g[i];
        md->v[i] = b2 * md->v[i] + (1 - b2) * g[i] * g[i];
        md->p[i] -= lr * (md->m[i] / c1) / (sqrtf(md->v[i] / c2) + eps);
    }
    return 0;
}

/* The host model is the state itself. */
static int pull(void *self, mlp_model *md)
{
    (void)self;
    (void)md;
    return 0;
}

static int push(void *self, const mlp_model *md)
{
    (void)self;
    (void)md;
    return 0;
}

int main(int argc, char **argv)
{
    const char *prog = "train_mlp";
    mlp_config cf;
    if (mlp_start(argc, argv, prog, &cf) < 0)
        return 2;
    tern_comm *comm;
    char err[512];
    if (tern_comm_init(&comm, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    mlp_model md = { 0 };
    cpu c = { .cf = &cf, .md = &md, .rank = tern_comm_rank(comm) };
    mlp_backend be = { .name = "cpu", .self = &c, .gradient = gradient, .put = put, .get = get,
                       .update = update, .pull = pull, .push = push };
    int rc = 1;
    if (mlp_model_init(&md, &cf) < 0 || !(be.g = malloc((md.n + 2) * sizeof(float))))
        fprintf(stderr, "%s: out of memory\n", prog);
    else
        rc = mlp_run(prog, &cf, comm, &md, &be);
    free(be.g);
    mlp_model_free(&md);
    tern_comm_destroy(&comm);
    return rc;
}
