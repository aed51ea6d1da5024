/* The collective save, and the background thread that runs it for
 * tern_ckpt_save_async.
 *
 * Every rank writes its shard; one all-gather is both the barrier and how
 * rank 0 learns every shard's size and hash (no shard is read back); rank
 * 0 commits and broadcasts the outcome, so every rank returns the same. */
#include "checkpoint/save.h"

#include "checkpoint/commit.h"
#include "checkpoint/owner.h"
#include "checkpoint/shard_io.h"

#include "common/fsutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* What a rank tells the others; whole 8-byte words (it travels as F64). */
typedef struct shard_rec {
    int64_t status;
    int64_t step;
    uint64_t size, hash;
    char why[CKPT_WHY];
} shard_rec;

typedef struct outcome {
    int64_t status;
    char why[CKPT_WHY + 272];
} outcome;

_Static_assert(sizeof(shard_rec) % 8 == 0, "shard_rec travels as 8-byte words");
_Static_assert(sizeof(shard_rec) <= CKPT_REC, "shard_rec fits the gather buffer");
_Static_assert(sizeof(outcome) % 8 == 0, "outcome travels as 8-byte words");

static void write_shard(tern_ckpt *ck, const char *tmp, const void *data, size_t len,
                        bool padded, shard_rec *me)
{
    char path[PATH_MAX];
    me->size = len;
    if (mkdir(tmp, CKPT_DIR_MODE) < 0 && errno != EEXIST) {
        snprintf(me->why, sizeof me->why, "mkdir %.160s: %s", tmp, strerror(errno));
        me->status = TERN_ESYS;
        return;
    }
    ckpt_path(path, sizeof path, "%s/shard-%d-of-%d", tmp, ck->rank, ck->size);
    if (ckpt_shard_write(path, data, len, padded, &me->hash, me->why, sizeof me->why) < 0) {
        me->status = TERN_ESYS;
        return;
    }
    if (fs_fsync_dir(tmp) < 0) {
        snprintf(me->why, sizeof me->why, "fsync of %.160s: %s", tmp, strerror(errno));
        me->status = TERN_ESYS;
    }
}

/* Rank 0: the first rank that failed, or that saved another step than
 * rank 0 (which a program that ignored a failed save could make happen). */
static int first_bad(tern_ckpt *ck, const shard_rec *all, int64_t step, char *why,
                     size_t whylen)
{
    for (int r = 0; r < ck->size; r++) {
        if (all[r].status) {
            snprintf(why, whylen, "step %" PRId64 ": rank %d: %s", step, r, all[r].why);
            return (int)all[r].status;
        }
        if (all[r].step != step) {
            snprintf(why, whylen, "step %" PRId64 ": rank %d saved step %" PRId64
                     " at the same time: the ranks' saves are out of step", step, r, all[r].step);
            return TERN_EINVAL;
        }
    }
    return 0;
}

/* The collective save of 'len' bytes as 'step', on whichever thread calls
 * it. A rank that already failed ('failed' a TERN_E* code, 'failwhy' the
 * reason) writes nothing but still takes part, so that every rank fails
 * the step together. Returns 0 or a TERN_E* code, the same on every rank,
 * with the reason in 'why'. */
static int ckpt_save_now(tern_ckpt *ck, int64_t step, const void *data, size_t len,
                         bool padded, int failed, const char *failwhy, char *why, size_t whylen)
{
    char tmp[PATH_MAX];
    ckpt_path(tmp, sizeof tmp, "%s/step-%" PRId64 ".tmp", ck->dir, step);
    shard_rec me = { .step = step };
    if (failed) {
        me.status = failed;
        snprintf(me.why, sizeof me.why, "%s", failwhy);
    } else {
        write_shard(ck, tmp, data, len, padded, &me);
    }
    shard_rec *all = ck->gathered;
    int rc = tern_allgather(ck->comm, &me, all, sizeof me / 8, TERN_F64);
    if (rc < 0) {
        snprintf(why, whylen, "step %" PRId64 ": %s", step, tern_comm_error(ck->comm));
        return rc;
    }
    outcome res = { 0 };
    if (ck->rank == 0) {
        res.status = first_bad(ck, all, step, res.why, sizeof res.why);
        if (res.status) {
            /* Every rank is past its write: the half-written step can go,
             * unless a later attempt owns the directory (its save may be
             * using the same name). */
            char ignored[CKPT_WHY];
            if (ckpt_owner_check(ck, ignored, sizeof ignored) == 0)
                fs_rm_rf(tmp);
        } else {
            ckpt_shard_info *shards = (ckpt_shard_info *)all;
            for (int r = 0; r < ck->size; r++)   /* in place: shards[r] ends before all[r] */
                shards[r] = (ckpt_shard_info){ all[r].size, all[r].hash };
            res.status = ckpt_commit(ck, step, shards, res.why, sizeof res.why);
            if (res.status) {
                char commit_why[sizeof res.why];
                memcpy(commit_why, res.why, sizeof commit_why);
                snprintf(res.why, sizeof res.why, "step %" PRId64 ": rank 0: %.400s", step,
                         commit_why);
            }
        }
    }
    rc = tern_broadcast(ck->comm, &res, sizeof res / 8, TERN_F64, 0);
    if (rc < 0) {
        snprintf(why, whylen, "step %" PRId64 ": %s", step, tern_comm_error(ck->comm));
        return rc;
    }
    if (res.status)
        snprintf(why, whylen, "%s", res.why);
    return (int)res.status;
}

/* ---- in the background ---- */

static void *saver_main(void *arg)
{
    tern_ckpt *ck = arg;
    pthread_mutex_lock(&ck->mu);
    for (;;) {
        while (!ck->queued && !ck->stop)
            pthread_cond_wait(&ck->cv, &ck->mu);
        if (!ck->queued)
            break;
        ck->queued = false;
        pthread_mutex_unlock(&ck->mu);
        char why[sizeof ck->result_why] = "";
        int rc = ckpt_save_now(ck, ck->staging_step, ck->staging, ck->staging_len, true, 0,
                               NULL, why, sizeof why);
        pthread_mutex_lock(&ck->mu);
        ck->result = rc;
        memcpy(ck->result_why, why, sizeof why);
        ck->result_pending = true;
        ck->in_flight = false;
        pthread_cond_broadcast(&ck->cv);
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

void ckpt_async_stop(tern_ckpt *ck)
{
    if (!ck->thread_started)
        return;
    pthread_mutex_lock(&ck->mu);
    ck->stop = true;
    pthread_cond_broadcast(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
    pthread_join(ck->thread, NULL);
    ck->thread_started = false;
}

int tern_ckpt_wait(tern_ckpt *ck)
{
    if (!ck)
        return TERN_EINVAL;
    pthread_mutex_lock(&ck->mu);
    while (ck->in_flight)
        pthread_cond_wait(&ck->cv, &ck->mu);
    int rc = 0;
    if (ck->result_pending) {
        ck->result_pending = false;
        rc = ck->result;
        if (rc)
            snprintf(ck->err, sizeof ck->err, "save of %.490s", ck->result_why);
    }
    pthread_mutex_unlock(&ck->mu);
    return rc;
}

/* Backs [p, p+len) with memory now, in 2 MiB pages where the kernel
 * gives them: a 512 MiB state is 256 page faults instead of 131072, and
 * the copy into it and the device's reads from it miss the TLB less. */
static void populate(char *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
    if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
        return;
#endif
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 0;
}

/* A staging buffer for 'len' bytes in whole blocks, its tail zeroed.
 * Mapped and touched once, then kept: fresh pages cost more than the copy. */
static int stage(tern_ckpt *ck, size_t len, char *why, size_t whylen)
{
    size_t need = (len + CKPT_ALIGN - 1) / CKPT_ALIGN * CKPT_ALIGN;
    if (need < CKPT_ALIGN)
        need = CKPT_ALIGN;
    if (need > ck->staging_cap) {
        if (ck->staging)
            munmap(ck->staging, ck->staging_cap);
        ck->staging_cap = 0;
        void *p = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            ck->staging = NULL;
            snprintf(why, whylen, "no memory for a %zu-byte staging buffer", need);
            return TERN_ENOMEM;
        }
        populate(p, need);
        ck->staging = p;
        ck->staging_cap = need;
    }
    memset(ck->staging + len, 0, need - len);
    return 0;
}

/* What is wrong with a call's arguments on this rank, if anything. */
static int check_args(int64_t step, const void *data, size_t len, char *why, size_t whylen)
{
    if (step < 0) {
        snprintf(why, whylen, "step %" PRId64 " is negative", step);
        return TERN_EINVAL;
    }
    if (len && !data) {
        snprintf(why, whylen, "NULL data");
        return TERN_EINVAL;
    }
    return 0;
}

/* A rank that cannot save still takes part, so that every rank fails the
 * step together instead of pairing its next save with this one. */
static int fail_together(tern_ckpt *ck, int64_t step, int code, const char *failwhy)
{
    char why[sizeof ck->err];
    int rc = ckpt_save_now(ck, step, NULL, 0, false, code, failwhy, why, sizeof why);
    return ckpt_fail(ck, rc ? rc : code, "save of %.490s", why);
}

int tern_ckpt_save_async(tern_ckpt *ck, int64_t step, const void *data, size_t len)
{
    if (!ck)
        return TERN_EINVAL;
    int rc = tern_ckpt_wait(ck);
    if (rc)
        return rc;
    char why[CKPT_WHY];
    rc = check_args(step, data, len, why, sizeof why);
    if (!rc)
        rc = stage(ck, len, why, sizeof why);
    if (!rc && !ck->thread_started) {
        if (pthread_create(&ck->thread, NULL, saver_main, ck) == 0) {
            ck->thread_started = true;
        } else {
            rc = TERN_ESYS;
            snprintf(why, sizeof why, "cannot start the background thread");
        }
    }
    if (rc)
        return fail_together(ck, step, rc, why);
    memcpy(ck->staging, data, len);
    pthread_mutex_lock(&ck->mu);
    ck->staging_step = step;
    ck->staging_len = len;
    ck->queued = ck->in_flight = true;
    pthread_cond_broadcast(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
    return 0;
}

int tern_ckpt_save(tern_ckpt *ck, int64_t step, const void *data, size_t len)
{
    if (!ck)
        return TERN_EINVAL;
    /* A newer committed step supersedes a background save that failed. */
    tern_ckpt_wait(ck);
    ck->err[0] = '\0';
    char why[sizeof ck->err];
    int rc = check_args(step, data, len, why, sizeof why);
    if (rc)
        return fail_together(ck, step, rc, why);
    rc = ckpt_save_now(ck, step, data, len, false, 0, NULL, why, sizeof why);
    if (rc)
        ckpt_fail(ck, rc, "save of %.490s", why);
    return rc;
}
