/* The reference trainers' shared half (see mlp.h).
 *
 *   - every rank holds the whole model and computes gradients on its own
 *     batch; one all-reduce (AVG) per step gives every rank the same mean
 *     gradient, so the replicas never drift;
 *   - each step's batch is a pure function of (seed, step, rank): a resumed
 *     run needs no data cursor, and its bits equal an uninterrupted run's;
 *   - a checkpoint every --ckpt-every steps (in the background with
 *     --async): every rank saves one slice of the replicated state, so the
 *     writing is spread over the ranks; a start loads the newest complete
 *     step, whatever number of ranks saved it;
 *   - the preemption flag travels in the gradient's all-reduce (one more
 *     element), so every rank learns of a notice in the same step, saves
 *     that step and exits TERN_EXIT_REQUEUE. */
#include "examples/mlp.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#define STATE_MAGIC 0x504c4d54u   /* "TMLP" */

/* ---- deterministic numbers: a counter-based generator ---- */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Uniform in [-1, 1), from a key. */
static float uniform(uint64_t key)
{
    return (float)((double)(mix(key) >> 40) / (double)(1ull << 23) - 1.0);
}

static uint64_t key(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    return mix(mix(mix(mix(a) ^ b) ^ c) ^ d);
}

int mlp_sample(uint64_t seed, long s, int r, int i, float *x)
{
    uint64_t k = key(seed, (uint64_t)s, (uint64_t)r, (uint64_t)i);
    for (int j = 0; j < MLP_INPUTS; j++)
        x[j] = uniform(k + (uint64_t)j);
    /* The class a fixed random "teacher" projection scores highest. */
    int best = 0;
    float top = -INFINITY;
    for (int c = 0; c < MLP_CLASSES; c++) {
        float z = 0;
        for (int j = 0; j < MLP_INPUTS; j++)
            z += uniform(key(seed, 3, (uint64_t)c, (uint64_t)j)) * x[j];
        if (z > top) {
            top = z;
            best = c;
        }
    }
    return best;
}

/* ---- the model ---- */

size_t mlp_param_count(int h)
{
    return (size_t)h * MLP_INPUTS + (size_t)h + (size_t)MLP_CLASSES * h + MLP_CLASSES;
}

int mlp_model_init(mlp_model *md, const mlp_config *cf)
{
    int h = cf->hidden;
    md->hidden = h;
    md->n = mlp_param_count(h);
    md->p = calloc(md->n, sizeof(float));
    md->m = calloc(md->n, sizeof(float));
    md->v = cf->adam ? calloc(md->n, sizeof(float)) : NULL;
    if (!md->p || !md->m || (cf->adam && !md->v))
        return -1;
    /* Glorot-uniform weights, zero biases. */
    float a1 = sqrtf(6.0f / (MLP_INPUTS + h)), a2 = sqrtf(6.0f / (h + MLP_CLASSES));
    float *w1 = md->p, *w2 = md->p + (size_t)h * MLP_INPUTS + h;
    for (size_t i = 0; i < (size_t)h * MLP_INPUTS; i++)
        w1[i] = a1 * uniform(key(cf->seed, 1, i, 0));
    for (size_t i = 0; i < (size_t)MLP_CLASSES * h; i++)
        w2[i] = a2 * uniform(key(cf->seed, 2, i, 0));
    return 0;
}

void mlp_model_free(mlp_model *md)
{
    free(md->p);
    free(md->m);
    free(md->v);
    md->p = md->m = md->v = NULL;
}

/* ---- the state as bytes: a header, the parameters, the moments ---- */

typedef struct header {
    uint32_t magic, hidden, adam, nparams;
} header;

static size_t state_size(const mlp_model *md)
{
    return sizeof(header) + md->n * sizeof(float) * (md->v ? 3 : 2);
}

static void state_pack(const mlp_model *md, char *out)
{
    header hd = { STATE_MAGIC, (uint32_t)md->hidden, md->v != NULL, (uint32_t)md->n };
    size_t b = md->n * sizeof(float);
    memcpy(out, &hd, sizeof hd);
    memcpy(out + sizeof hd, md->p, b);
    memcpy(out + sizeof hd + b, md->m, b);
    if (md->v)
        memcpy(out + sizeof hd + 2 * b, md->v, b);
}

static int state_unpack(mlp_model *md, const char *in, size_t len, char *why, size_t whylen)
{
    header hd;
    if (len != state_size(md)) {
        snprintf(why, whylen, "it holds %zu bytes of state; this model (--hidden %d%s) has %zu",
                 len, md->hidden, md->v ? " --opt adam" : "", state_size(md));
        return -1;
    }
    memcpy(&hd, in, sizeof hd);
    if (hd.magic != STATE_MAGIC || hd.hidden != (uint32_t)md->hidden ||
        hd.adam != (md->v != NULL) || hd.nparams != md->n) {
        snprintf(why, whylen, "it is not this model's state");
        return -1;
    }
    size_t b = md->n * sizeof(float);
    memcpy(md->p, in + sizeof hd, b);
    memcpy(md->m, in + sizeof hd + b, b);
    if (md->v)
        memcpy(md->v, in + sizeof hd + 2 * b, b);
    return 0;
}

/* ---- the command line ---- */

static const char usage[] =
    "usage: %s [--steps N] [--ckpt-every K] [--async] [--ckpt-dir DIR] [--no-resume]\n"
    "          [--hidden H] [--batch B] [--lr X] [--opt sgd|adam] [--seed S]\n"
    "          [--log-every N] [--step-delay-ms MS]\n"
    "  Trains data-parallel under tern, torchrun or mpirun (RANK, WORLD_SIZE,\n"
    "  MASTER_ADDR, MASTER_PORT). Checkpoints go to --ckpt-dir or\n"
    "  TERN_CHECKPOINT_DIR; a start resumes from the newest complete one.\n"
    "  On TERN_PREEMPT_SIGNAL or SIGTERM: saves that step and exits 75 (requeue).\n";

static int bad(const char *prog, const char *opt, const char *v)
{
    fprintf(stderr, "%s: %s: bad value '%s'\n", prog, opt, v);
    fprintf(stderr, usage, prog);
    return -1;
}

static int parse_args(int argc, char **argv, const char *prog, mlp_config *cf)
{
    static const struct option opts[] = {
        { "steps", required_argument, 0, 's' }, { "ckpt-every", required_argument, 0, 'k' },
        { "async", no_argument, 0, 'a' }, { "ckpt-dir", required_argument, 0, 'd' },
        { "no-resume", no_argument, 0, 'R' }, { "hidden", required_argument, 0, 'H' },
        { "batch", required_argument, 0, 'b' }, { "lr", required_argument, 0, 'l' },
        { "opt", required_argument, 0, 'o' }, { "seed", required_argument, 0, 'S' },
        { "log-every", required_argument, 0, 'L' },
        { "step-delay-ms", required_argument, 0, 'D' }, { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 }
    };
    *cf = (mlp_config){ .steps = 200, .log_every = 10, .hidden = 64, .batch = 32,
                        .lr = 0.05f, .seed = 1, .resume = true };
    int c;
    char *end;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        errno = 0;
        switch (c) {
        case 's': case 'k': case 'L': case 'D': {
            long v = strtol(optarg, &end, 10);
            if (errno || *end || v < 0)
                return bad(prog, argv[optind - 1], optarg);
            *(c == 's' ? &cf->steps : c == 'k' ? &cf->ckpt_every
                                    : c == 'L' ? &cf->log_every : &cf->delay_ms) = v;
            break;
        }
        case 'H': case 'b': {
            long v = strtol(optarg, &end, 10);
            if (errno || *end || v < 1 || v > (c == 'H' ? MLP_MAX_HIDDEN : 1 << 20))
                return bad(prog, c == 'H' ? "--hidden (1-1024)" : "--batch", optarg);
            *(c == 'H' ? &cf->hidden : &cf->batch) = (int)v;
            break;
        }
        case 'l':
            cf->lr = strtof(optarg, &end);
            if (errno || *end || !(cf->lr > 0))
                return bad(prog, "--lr", optarg);
            break;
        case 'o':
            if (strcmp(optarg, "adam") != 0 && strcmp(optarg, "sgd") != 0)
                return bad(prog, "--opt (sgd or adam)", optarg);
            cf->adam = strcmp(optarg, "adam") == 0;
            break;
        case 'S':
            cf->seed = strtoull(optarg, &end, 10);
            if (errno || *end)
                return bad(prog, "--seed", optarg);
            break;
        case 'a': cf->async = true; break;
        case 'd': cf->ckpt_dir = optarg; break;
        case 'R': cf->resume = false; break;
        case 'h': printf(usage, prog); exit(0);
        default:
            fprintf(stderr, "%s: unknown option '%s'\n", prog, argv[optind - 1]);
            fprintf(stderr, usage, prog);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        fprintf(stderr, usage, prog);
        return -1;
    }
    return 0;
}

int mlp_start(int argc, char **argv, const char *prog, mlp_config *cf)
{
    if (parse_args(argc, argv, prog, cf) < 0)
        return -1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = tern_preempt_watch();
    if (rc < 0) {
        const char *sig = getenv("TERN_PREEMPT_SIGNAL");
        fprintf(stderr, "%s: TERN_PREEMPT_SIGNAL=%s: %s\n", prog, sig ? sig : "",
                rc == TERN_EINVAL ? "no such signal" : "this signal cannot be caught");
        return -1;
    }
    return 0;
}

/* ---- the run ---- */

typedef struct run {
    const char *prog;
    const mlp_config *cf;
    tern_comm *comm;
    tern_ckpt *ck;
    int rank, world;
    mlp_model *md;
    mlp_backend *be;
    char *state;
    size_t state_len;
} run;

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* Saves this rank's slice of the state as step 'done'. */
static int save(run *r, long done, bool async)
{
    if (r->be->pull(r->be->self, r->md) < 0)
        return -1;
    state_pack(r->md, r->state);
    size_t a = r->state_len * (size_t)r->rank / (size_t)r->world;
    size_t b = r->state_len * (size_t)(r->rank + 1) / (size_t)r->world;
    int rc = async ? tern_ckpt_save_async(r->ck, done, r->state + a, b - a)
                   : tern_ckpt_save(r->ck, done, r->state + a, b - a);
    if (rc < 0 && r->rank == 0)
        fprintf(stderr, "%s: checkpoint: %s\n", r->prog, tern_ckpt_error(r->ck));
    return rc;
}

static int resume(run *r, long *start)
{
    int64_t step;
    void *data;
    size_t len;
    *start = 0;
    if (tern_ckpt_load_all(r->ck, &step, &data, &len) < 0) {
        fprintf(stderr, "%s: rank %d: %s\n", r->prog, r->rank, tern_ckpt_error(r->ck));
        return -1;
    }
    if (step < 0) {
        if (r->rank == 0)
            printf("no checkpoint: starting at step 0\n");
        return 0;
    }
    char why[256];
    int rc = state_unpack(r->md, data, len, why, sizeof why);
    free(data);
    if (rc < 0) {
        fprintf(stderr, "%s: checkpoint step %" PRId64 ": %s\n", r->prog, step, why);
        return -1;
    }
    if (r->be->push(r->be->self, r->md) < 0)
        return -1;
    *start = (long)step;
    if (r->rank == 0)
        printf("resumed from step %ld\n", *start);
    return 0;
}

static int loop(run *r)
{
    const mlp_config *cf = r->cf;
    mlp_backend *be = r->be;
    float *g = be->g, loss, flag;
    size_t n = r->md->n;
    long start = 0;
    if (r->ck && cf->resume && resume(r, &start) < 0)
        return 1;
    for (long s = start; s < cf->steps; s++) {
        if (cf->delay_ms)
            sleep_ms(cf->delay_ms);
        if (be->gradient(be->self, s, g) < 0 ||
            be->put(be->self, g, n + 1, tern_preempt_requested() ? 1.0f : 0.0f) < 0)
            return 1;
        if (tern_allreduce(r->comm, g, g, n + 2, TERN_F32, TERN_AVG) < 0) {
            fprintf(stderr, "%s: rank %d: step %ld: %s\n", r->prog, r->rank, s + 1,
                    tern_comm_error(r->comm));
            return 1;
        }
        if (be->update(be->self, g, s + 1) < 0 || be->get(be->self, g, n, &loss) < 0 ||
            be->get(be->self, g, n + 1, &flag) < 0)
            return 1;
        long done = s + 1;
        if (r->rank == 0 && cf->log_every && (done % cf->log_every == 0 || done == cf->steps))
            printf("step %ld loss %.6f\n", done, loss);
        if (r->rank == 0)
            tern_report_step(done);
        if (flag > 0) {
            int rc = r->ck ? save(r, done, false) : -1;
            if (r->rank == 0 && rc == 0)
                printf("preempted: saved step %ld; exiting %d to be requeued\n", done,
                       TERN_EXIT_REQUEUE);
            else if (r->rank == 0)
                printf("preempted at step %ld without a checkpoint; exiting %d\n", done,
                       TERN_EXIT_REQUEUE);
            return TERN_EXIT_REQUEUE;
        }
        /* A later attempt owns the checkpoints: this one was given up on
         * (its node cut off from the scheduler) and must not go on. */
        if (r->ck && cf->ckpt_every && done % cf->ckpt_every == 0 &&
            save(r, done, cf->async) == TERN_EFENCED) {
            fprintf(stderr, "%s: rank %d: a later attempt of this job took over; stopping\n",
                    r->prog, r->rank);
            return 1;
        }
    }
    if (r->ck && tern_ckpt_wait(r->ck) < 0 && r->rank == 0)
        fprintf(stderr, "%s: checkpoint: %s\n", r->prog, tern_ckpt_error(r->ck));
    if (be->pull(be->self, r->md) < 0)
        return 1;
    if (r->rank == 0)
        printf("weights %016" PRIx64 "\n", (uint64_t)XXH3_64bits(r->md->p, n * sizeof(float)));
    return 0;
}

int mlp_run(const char *prog, const mlp_config *cf, tern_comm *comm, mlp_model *md,
            mlp_backend *be)
{
    run r = { .prog = prog, .cf = cf, .comm = comm, .md = md, .be = be,
              .rank = tern_comm_rank(comm), .world = tern_comm_size(comm) };
    r.state_len = state_size(md);
    r.state = malloc(r.state_len);
    if (!r.state) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    const char *dir = cf->ckpt_dir ? cf->ckpt_dir : getenv("TERN_CHECKPOINT_DIR");
    char err[512];
    int rc = 1;
    if (dir && *dir) {
        tern_ckpt_opts o = { .dir = dir };
        if (tern_ckpt_open(&r.ck, comm, &o, err, sizeof err) < 0) {
            fprintf(stderr, "%s: rank %d: %s\n", prog, r.rank, err);
            goto out;
        }
    } else if (r.rank == 0 && cf->ckpt_every) {
        fprintf(stderr, "%s: no checkpoint directory (--ckpt-dir or TERN_CHECKPOINT_DIR): "
                "training without checkpoints\n", prog);
    }
    if (r.rank == 0)
        printf("%s: %d ranks (%s), %zu parameters, %s, batch %d per rank, %ld steps\n", prog,
               r.world, be->name, md->n, cf->adam ? "adam" : "sgd+momentum", cf->batch,
               cf->steps);
    rc = loop(&r);
out:
    if (tern_ckpt_close(&r.ck) < 0 && rc == 0)
        rc = 1;
    free(r.state);
    return rc;
}
