/* The reference trainers' shared half: the model's shape, the synthetic
 * data, the command line, the checkpointed state and the training loop.
 * A backend (train_mlp.c on the CPU, train_mlp_cuda.cu on a GPU) supplies
 * the arithmetic: a gradient and an optimizer step. Both see the same
 * data and save the same state, so either can resume the other's run. */
#ifndef TERN_EXAMPLES_MLP_H
#define TERN_EXAMPLES_MLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tern/tern.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLP_INPUTS 32
#define MLP_CLASSES 10
#define MLP_MAX_HIDDEN 1024

typedef struct mlp_config {
    long steps, ckpt_every, log_every, delay_ms;
    int hidden, batch;
    float lr;
    bool adam, async, resume;
    uint64_t seed;
    const char *ckpt_dir;
} mlp_config;

/* The replicated state, on the host: parameters (w1 [hidden x inputs],
 * b1, w2 [classes x hidden], b2, in that order) and the optimizer's
 * moments (m; v for Adam only). */
typedef struct mlp_model {
    int hidden;
    size_t n;
    float *p, *m, *v;
} mlp_model;

/* What a backend does. 'g' holds n + 2 floats where the backend keeps
 * them (host or device): the gradient, then two slots the loop fills. */
typedef struct mlp_backend {
    const char *name;
    void *self;
    /* The mean gradient of this rank's batch at 'step' into g[0..n), and
     * its mean loss into g[n]. */
    int (*gradient)(void *self, long step, float *g);
    /* g[i] = v, and *v = g[i]. */
    int (*put)(void *self, float *g, size_t i, float v);
    int (*get)(void *self, const float *g, size_t i, float *v);
    /* One optimizer step with the averaged gradient; t counts from 1. */
    int (*update)(void *self, const float *g, long t);
    /* The state between the backend and the host model. */
    int (*pull)(void *self, mlp_model *md);
    int (*push)(void *self, const mlp_model *md);
    float *g;
} mlp_backend;

/* The start of a trainer: parses the command line (exits 0 for --help),
 * line-buffers stdout, and catches the preemption signals before anything
 * else can be interrupted by them. Returns 0, or -1 after saying what is
 * wrong. */
int mlp_start(int argc, char **argv, const char *prog, mlp_config *cf);

size_t mlp_param_count(int hidden);
/* Allocates the host model and initialises it from the seed. */
int mlp_model_init(mlp_model *md, const mlp_config *cf);
void mlp_model_free(mlp_model *md);

/* Sample i of rank r at step s: its inputs into x, and its class. */
int mlp_sample(uint64_t seed, long s, int r, int i, float *x);

/* The whole run, from the rank environment to "weights <hash>". Returns
 * the exit status: 0, TERN_EXIT_REQUEUE after a preemption, 1 on errors. */
int mlp_run(const char *prog, const mlp_config *cf, tern_comm *comm, mlp_model *md,
            mlp_backend *be);

#ifdef __cplusplus
}
#endif

#endif
