/* The collective load: the newest complete step whose checksums verify.
 *
 * Rank 0 walks the committed steps newest first and rules out what it can
 * see from the directory alone (no manifest, a damaged one, a missing or
 * short shard); it broadcasts the first candidate's manifest, every rank
 * reads and verifies what it needs, and one all-gather decides: every rank
 * loaded, or the step is skipped for the reason the first failing rank
 * gave and the walk goes on. */
#include "checkpoint/ckpt.h"

#include "checkpoint/layout.h"
#include "checkpoint/manifest.h"
#include "checkpoint/shard_io.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct pick {
    int64_t step;                  /* -1: none left; -2: an error (why) */
    int64_t mlen;                  /* the manifest's length */
    char why[CKPT_WHY];
} pick;

/* Each rank's word on the candidate: 0 loaded, 1 damaged (skip the step),
 * or a TERN_E* code: it could not tell (an I/O error, no memory), and the
 * load fails rather than fall back past a step that may be good. */
typedef struct verdict {
    int64_t status;
    char why[CKPT_WHY];
} verdict;

_Static_assert(sizeof(pick) % 8 == 0, "pick travels as 8-byte words");
_Static_assert(sizeof(verdict) % 8 == 0, "verdict travels as 8-byte words");
_Static_assert(sizeof(verdict) <= CKPT_REC, "verdict fits the gather buffer");

static void note_skip(tern_ckpt *ck, int64_t step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_skip(tern_ckpt *ck, int64_t step, const char *fmt, ...)
{
    char line[512];
    int n = snprintf(line, sizeof line, "step %" PRId64 " skipped: ", step);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (ck->rank == 0)
        fprintf(stderr, "tern: checkpoint: %s\n", line);
    size_t old = ck->skipped ? strlen(ck->skipped) : 0, add = strlen(line);
    char *grown = realloc(ck->skipped, old + add + 2);
    if (!grown)
        return;
    memcpy(grown + old, line, add);
    memcpy(grown + old + add, "\n", 2);
    ck->skipped = grown;
}

static void step_dir(const tern_ckpt *ck, int64_t step, char *out, size_t len)
{
    ckpt_path(out, len, "%s/step-%" PRId64, ck->dir, step);
}

/* Rank 0: what the directory alone says about 'step'. 0 when it may
 * load, -1 (damaged: skip it) with the reason, -2 when the load must stop
 * there (an I/O error, or a step of another world size). */
static int precheck(tern_ckpt *ck, int64_t step, bool any_world, ckpt_manifest *m, char *why,
                    size_t whylen)
{
    char dir[PATH_MAX], path[PATH_MAX];
    step_dir(ck, step, dir, sizeof dir);
    int rc = ckpt_manifest_load(dir, m, why, whylen);
    if (rc < 0)
        return rc;
    if (m->step != step) {
        snprintf(why, whylen, "MANIFEST is of step %" PRId64, m->step);
        ckpt_manifest_free(m);
        return -1;
    }
    if (!any_world && m->world != ck->size) {
        snprintf(why, whylen, "saved by %d ranks and this run has %d "
                 "(tern_ckpt_load_all reads any number)", m->world, ck->size);
        ckpt_manifest_free(m);
        return -2;
    }
    for (int r = 0; r < m->world; r++) {
        struct stat sb;
        ckpt_path(path, sizeof path, "%s/shard-%d-of-%d", dir, r, m->world);
        if (stat(path, &sb) < 0) {
            rc = errno == ENOENT ? -1 : -2;
            snprintf(why, whylen, "shard-%d-of-%d: %s", r, m->world,
                     errno == ENOENT ? "missing" : strerror(errno));
            ckpt_manifest_free(m);
            return rc;
        } else if ((uint64_t)sb.st_size != m->shards[r].size) {
            snprintf(why, whylen, "shard-%d-of-%d: %lld bytes, the manifest says %" PRIu64 "%s",
                     r, m->world, (long long)sb.st_size, m->shards[r].size,
                     (uint64_t)sb.st_size < m->shards[r].size ? " (truncated)" : "");
        } else {
            continue;
        }
        ckpt_manifest_free(m);
        return -1;
    }
    return 0;
}

/* Reads this rank's shard, or every shard in rank order: 0, or the
 * verdict (1: damaged, < 0: could not tell) with the reason. */
static int read_shards(tern_ckpt *ck, int64_t step, const ckpt_manifest *m, bool all,
                       void **data, size_t *len, char *why, size_t whylen)
{
    char dir[PATH_MAX], path[PATH_MAX];
    step_dir(ck, step, dir, sizeof dir);
    int first = all ? 0 : ck->rank, last = all ? m->world - 1 : ck->rank;
    uint64_t total = 0;
    for (int r = first; r <= last; r++) {
        if (m->shards[r].size > SIZE_MAX - 1 - total) {
            snprintf(why, whylen, "more bytes than this machine can address");
            return TERN_ENOMEM;
        }
        total += m->shards[r].size;
    }
    char *buf = malloc(total ? (size_t)total : 1);
    if (!buf) {
        snprintf(why, whylen, "no memory for %" PRIu64 " bytes", total);
        return TERN_ENOMEM;
    }
    size_t at = 0;
    for (int r = first; r <= last; r++) {
        ckpt_path(path, sizeof path, "%s/shard-%d-of-%d", dir, r, m->world);
        int rc = ckpt_shard_read(path, m->shards[r].size, m->shards[r].hash, buf + at, why,
                                 whylen);
        if (rc < 0) {
            free(buf);
            return rc == -1 ? 1 : TERN_ESYS;
        }
        at += m->shards[r].size;
    }
    *data = buf;
    *len = (size_t)total;
    return 0;
}

/* Rank 0's walk through the committed steps, newest first. */
typedef struct walk {
    int64_t *steps;
    size_t n, next;
    bool unlisted;                 /* listing them failed, with list_errno */
    int list_errno;
} walk;

/* Rank 0: the next step to try (p->step, its manifest in m and the
 * manifest's text in *text, malloc'd), skipping and noting the damaged
 * ones; none left (-1); or where the load must stop (-2, the reason in
 * p->why). */
static void pick_next(tern_ckpt *ck, walk *w, bool all, pick *p, ckpt_manifest *m, char **text)
{
    if (w->unlisted) {
        /* Not "no checkpoint": that would start the run over. */
        p->step = -2;
        snprintf(p->why, sizeof p->why, "cannot list %.160s: %s", ck->dir,
                 strerror(w->list_errno));
        w->unlisted = false;
    }
    while (p->step == -1 && w->next < w->n) {
        int64_t s = w->steps[w->next++];
        int pc = precheck(ck, s, all, m, p->why, sizeof p->why);
        if (pc == 0) {
            size_t tlen = 0;
            *text = ckpt_manifest_format(m, &tlen);
            p->step = *text ? s : -2;
            if (!*text)
                snprintf(p->why, sizeof p->why, "out of memory");
            p->mlen = (int64_t)tlen;
        } else if (pc == -2) {
            char reason[sizeof p->why];
            memcpy(reason, p->why, sizeof reason);
            snprintf(p->why, sizeof p->why, "step %" PRId64 ": %.200s", s, reason);
            p->step = -2;
        } else {
            note_skip(ck, s, "%s", p->why);
        }
    }
}

/* Rank 0's pick to every rank, and with a step the manifest as the text
 * rank 0 verified (*text, allocated here on the other ranks). 0, or the
 * communicator's error. */
static int share_pick(tern_ckpt *ck, pick *p, char **text)
{
    int rc = tern_broadcast(ck->comm, p, sizeof *p / 8, TERN_F64, 0);
    if (rc == 0 && p->step >= 0 && ck->rank != 0) {
        *text = calloc((size_t)p->mlen + 8, 1);
        if (!*text)
            abort();   /* a few kilobytes: the other ranks are already waiting */
    }
    if (rc == 0 && p->step >= 0)
        rc = tern_broadcast(ck->comm, *text, ((size_t)p->mlen + 7) / 8, TERN_F64, 0);
    return rc;
}

/* What every rank's verdict on 'step' says: 0 every rank loaded; 1 skip
 * it (noted, *data freed); or the error of the first rank that could not
 * tell (recorded, *data freed). */
static int decide(tern_ckpt *ck, int64_t step, const verdict *v, void **data, size_t *len)
{
    int bad = -1, fatal = -1;
    for (int r = 0; r < ck->size; r++) {
        if (v[r].status && bad < 0)
            bad = r;
        if (v[r].status < 0 && fatal < 0)
            fatal = r;
    }
    if (bad < 0)
        return 0;
    free(*data);
    *data = NULL;
    *len = 0;
    if (fatal >= 0)
        return ckpt_fail(ck, (int)v[fatal].status, "load of step %" PRId64 ": rank %d: %s",
                         step, fatal, v[fatal].why);
    note_skip(ck, step, "rank %d: %s", bad, v[bad].why);
    return 1;
}

/* Every rank reads candidate p (rank 0's manifest m; the others parse
 * 'text', which this frees, into m, which this frees too) and they agree:
 * 0 loaded into *data and *len, 1 skipped, or a TERN_E* code recorded. */
static int try_step(tern_ckpt *ck, const pick *p, char *text, ckpt_manifest *m, bool all,
                    void **data, size_t *len)
{
    verdict me = { 0 };
    if (ck->rank != 0 && ckpt_manifest_parse(text, (size_t)p->mlen, m, me.why, sizeof me.why) < 0)
        me.status = TERN_EINVAL;
    free(text);
    if (me.status == 0)
        me.status = read_shards(ck, p->step, m, all, data, len, me.why, sizeof me.why);
    ckpt_manifest_free(m);
    verdict *verdicts = ck->gathered;
    int rc = tern_allgather(ck->comm, &me, verdicts, sizeof me / 8, TERN_F64);
    if (rc < 0)
        return ckpt_fail(ck, rc, "load: %s", tern_comm_error(ck->comm));
    return decide(ck, p->step, verdicts, data, len);
}

static int load(tern_ckpt *ck, bool all, int64_t *step, void **data, size_t *len)
{
    *step = -1;
    *data = NULL;
    *len = 0;
    if (!ck)
        return TERN_EINVAL;
    int rc = tern_ckpt_wait(ck);
    if (rc)
        return rc;
    free(ck->skipped);
    ck->skipped = NULL;
    walk w = { 0 };
    if (ck->rank == 0 && ckpt_list_steps(ck->dir, &w.steps, &w.n) < 0) {
        w.unlisted = true;
        w.list_errno = errno;
    }
    do {
        pick p = { .step = -1 };
        ckpt_manifest m = { 0 };
        char *text = NULL;
        if (ck->rank == 0)
            pick_next(ck, &w, all, &p, &m, &text);
        rc = share_pick(ck, &p, &text);
        if (rc < 0 || p.step < 0) {
            free(text);
            ckpt_manifest_free(&m);
            if (rc < 0)
                ckpt_fail(ck, rc, "load: %s", tern_comm_error(ck->comm));
            else if (p.step == -2)
                rc = ckpt_fail(ck, TERN_EINVAL, "load: %s", p.why);
            break;
        }
        rc = try_step(ck, &p, text, &m, all, data, len);
        if (rc == 0)
            *step = p.step;
    } while (rc == 1);
    if (rc < 0) {
        free(*data);
        *data = NULL;
        *len = 0;
        *step = -1;
    }
    free(w.steps);
    return rc;
}

int tern_ckpt_load(tern_ckpt *ck, int64_t *step, void **data, size_t *len)
{
    return load(ck, false, step, data, len);
}

int tern_ckpt_load_all(tern_ckpt *ck, int64_t *step, void **data, size_t *len)
{
    return load(ck, true, step, data, len);
}
