/* The CPU algorithms, all on the ring rank -> rank+1.
 *
 * All-reduce: reduce-scatter then all-gather over the canonical chunks
 * (coll.h). At reduce-scatter step s rank r sends chunk r-s and receives
 * chunk r-s-1, to which it adds its own values: chunk c's sum starts with
 * rank c and follows the ring, whatever carries the bytes. Small messages
 * instead gather every rank's vector and reduce locally in the same order,
 * so both give the same bits. Half types are widened to float32 first and
 * rounded once at the end. */
#include "collectives/ring.h"

#include "collectives/progress.h"
#include "collectives/reduce.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* At or below this many bytes (of the reduction type) an all-reduce
 * gathers and reduces locally: n-1 hops of one small message each, rather
 * than 2(n-1) hops. */
#define SMALL_BYTES (16u << 10)

typedef struct rs_sink {
    char *dst;                     /* where the chunk's results go */
    const char *own;               /* this rank's values of the chunk */
    tern_dtype dt;
    tern_op op;
    size_t esize;
    int divide;                    /* AVG: the last step divides by n */
} rs_sink;

static void reduce_sink(void *arg, size_t off, const void *data, size_t len)
{
    rs_sink *s = arg;
    reduce_pair(s->dst + off, data, s->own + off, len / s->esize, s->dt, s->op);
    if (s->divide)
        reduce_divide(s->dst + off, len / s->esize, s->dt, s->divide);
}

static void copy_sink(void *arg, size_t off, const void *data, size_t len)
{
    memcpy((char *)arg + off, data, len);
}

static int mod(int a, int n)
{
    return ((a % n) + n) % n;
}

/* All-reduce of 'count' elements of dt (F32 or F64) from send into recv, as
 * one pipeline of 2(n-1) stages: each forwards the chunk the one before it
 * received, so reduce-scatter and all-gather overlap. */
static int ring_reduce(tern_comm *c, const char *send, char *recv, size_t count, tern_dtype dt,
                       tern_op op)
{
    int n = c->size, r = c->rank, nst = 2 * (n - 1);
    size_t es = tern_dtype_size(dt);
    coll_stage *st = calloc((size_t)nst, sizeof *st);
    rs_sink *sinks = calloc((size_t)n, sizeof *sinks);
    if (!st || !sinks) {
        free(st);
        free(sinks);
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    }
    for (int t = 0; t < nst; t++) {
        bool rs = t < n - 1;
        int s = rs ? t : t - (n - 1);
        int sc = rs ? mod(r - s, n) : mod(r + 1 - s, n);
        int rc = rs ? mod(r - s - 1, n) : mod(r - s, n);
        size_t s0 = coll_chunk_start(count, n, sc), s1 = coll_chunk_start(count, n, sc + 1);
        size_t r0 = coll_chunk_start(count, n, rc), r1 = coll_chunk_start(count, n, rc + 1);
        st[t].sbuf = (t == 0 ? send : recv) + s0 * es;
        st[t].slen = (s1 - s0) * es;
        st[t].rlen = (r1 - r0) * es;
        st[t].gate = t - 1;
        if (rs) {
            /* chunk rc: the partial from rank r-1, then this rank's values */
            sinks[t] = (rs_sink){ recv + r0 * es, send + r0 * es, dt, op, es,
                                  t == n - 2 && op == TERN_AVG ? n : 0 };
            st[t].sink = reduce_sink;
            st[t].arg = &sinks[t];
        } else {
            st[t].sink = copy_sink;
            st[t].arg = recv + r0 * es;
        }
    }
    int rc = coll_stages(c, st, nst, es);
    free(st);
    free(sinks);
    return rc;
}

/* Small messages: everyone's vector everywhere, then the canonical order
 * locally, chunk by chunk. */
static int gather_reduce(tern_comm *c, const char *send, char *recv, size_t count,
                         tern_dtype dt, tern_op op)
{
    int n = c->size;
    size_t es = tern_dtype_size(dt), bytes = count * es;
    char *all = coll_scratch(c, COLL_GATHER, bytes * (size_t)n);
    if (!all)
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    if (ring_allgather(c, send, all, bytes) < 0)
        return -1;
    for (int ch = 0; ch < n; ch++) {
        size_t c0 = coll_chunk_start(count, n, ch), c1 = coll_chunk_start(count, n, ch + 1);
        if (c1 == c0)
            continue;
        char *dst = recv + c0 * es;
        memmove(dst, all + (size_t)ch * bytes + c0 * es, (c1 - c0) * es);
        for (int k = 1; k < n; k++) {
            int from = (ch + k) % n;
            reduce_pair(dst, dst, all + (size_t)from * bytes + c0 * es, c1 - c0, dt, op);
        }
        if (op == TERN_AVG)
            reduce_divide(dst, c1 - c0, dt, n);
    }
    return 0;
}

int ring_allreduce(tern_comm *c, const void *send, void *recv, size_t count, tern_dtype dt,
                   tern_op op)
{
    tern_dtype rt = reduce_type(dt);
    size_t es = tern_dtype_size(rt);
    const char *in = send;
    char *out = recv;
    if (rt != dt) {   /* widen to float32; the work buffer is both in and out */
        float *work = coll_scratch(c, COLL_WORK, count * sizeof(float));
        if (!work && count)
            return coll_fail(c, TERN_ENOMEM, "out of memory");
        halves_to_f32(work, send, count, dt);
        in = out = (char *)work;
    }
    int rc;
    if (c->size == 1) {
        if (out != in)
            memmove(out, in, count * es);
        if (op == TERN_AVG)
            reduce_divide(out, count, rt, 1);
        rc = 0;
    } else if (count * es <= SMALL_BYTES) {
        rc = gather_reduce(c, in, out, count, rt, op);
    } else {
        rc = ring_reduce(c, in, out, count, rt, op);
    }
    if (rc == 0 && rt != dt)
        f32_to_halves(recv, (const float *)out, count, dt);
    return rc;
}

int ring_allgather(tern_comm *c, const void *send, void *recv, size_t bytes)
{
    int n = c->size, r = c->rank;
    char *dst = recv;
    if (send != dst + (size_t)r * bytes)
        memmove(dst + (size_t)r * bytes, send, bytes);
    if (n == 1)
        return 0;
    coll_stage *st = calloc((size_t)n - 1, sizeof *st);
    if (!st)
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    for (int t = 0; t < n - 1; t++) {
        int sb = mod(r - t, n), rb = mod(r - t - 1, n);
        st[t] = (coll_stage){ dst + (size_t)sb * bytes, bytes, bytes, copy_sink,
                              dst + (size_t)rb * bytes, t - 1 };
    }
    int rc = coll_stages(c, st, n - 1, 1);
    free(st);
    return rc;
}

/* A chain from the root around the ring: each rank forwards bytes as soon
 * as they arrive. */
int ring_broadcast(tern_comm *c, void *buf, size_t bytes, int root)
{
    int n = c->size, pos = mod(c->rank - root, n);   /* 0: root, n-1: last */
    if (n == 1 || bytes == 0)
        return 0;
    coll_stage st = { buf, pos == n - 1 ? 0 : bytes, pos == 0 ? 0 : bytes, copy_sink, buf,
                      pos == 0 ? -1 : 0 };
    return coll_stages(c, &st, 1, 1);
}

/* Completing a ring all-gather means every rank has contributed, so every
 * rank has entered. */
int ring_barrier(tern_comm *c)
{
    char *all = coll_scratch(c, COLL_GATHER, (size_t)c->size);
    if (!all)
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    char mine = 1;
    return c->size == 1 ? 0 : ring_allgather(c, &mine, all, 1);
}
