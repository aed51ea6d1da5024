/* tern submit (submit.h). */
#include "scheduler/submit.h"

#include "common/arrayspec.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/jobspec.h"
#include "common/log.h"
#include "scheduler/jobs.h"
#include "scheduler/nodes.h"
#include "scheduler/outbox.h"
#include "scheduler/queue.h"
#include "scheduler/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of 'spec' the job can own: packed for the database and unpacked. */
static Tern__JobSpec *spec_own(const Tern__JobSpec *spec, uint8_t **packed, size_t *len)
{
    *len = tern__job_spec__get_packed_size(spec);
    *packed = malloc(*len ? *len : 1);
    if (!*packed)
        return NULL;
    tern__job_spec__pack(spec, *packed);
    return tern__job_spec__unpack(NULL, *len, *packed);
}

static void reply_submitted(sched *s, const wire_peer *peer, uint64_t seq, uint64_t id,
                            uint32_t count)
{
    Tern__SubmitReply r = TERN__SUBMIT_REPLY__INIT;
    r.job_id = id;
    r.count = count;
    outbox_reply(s, peer, seq, TERN__ENVELOPE__BODY_SUBMITTED, &r);
}

/* Adds job 'id' of 'spec' (a copy is kept), stored and queued. Returns 0,
 * or -1 when memory runs out. */
static int job_create(sched *s, uint64_t id, const Tern__JobSpec *spec, const char *token)
{
    uint8_t *packed;
    size_t len;
    Tern__JobSpec *owned = spec_own(spec, &packed, &len);
    job *j = owned ? sched_job_add(s, id, owned) : NULL;
    if (!j) {
        if (owned)
            tern__job_spec__free_unpacked(owned, NULL);
        free(packed);
        return -1;
    }
    j->state = JOB_PENDING;
    j->submit_ms = clock_wall_ms();
    account_count_job(s, j, 1);
    store_job row = {
        .id = id, .token = token, .spec = packed, .spec_len = len,
        .state = JOB_PENDING, .reason = "", .submit_ms = j->submit_ms, .failed_rank = -1,
    };
    int rc = sched_db(s, store_job_insert(s->db, &row));
    free(packed);
    if (rc < 0)
        log_err("job=%llu cannot store: %s", (unsigned long long)id, store_errmsg(s->db));
    sched_db(s, store_event(s->db, id, NULL, "submit", spec->name));
    queue_add(s, j);
    log_debug("job=%llu submitted user=%s nodes=%u tasks=%u", (unsigned long long)id,
              spec->user, spec->nodes, spec->tasks_per_node);
    return 0;
}

/* What a submission asks of the cluster and the queue that ternd checks:
 * partition, dependencies, and that some set of nodes could ever hold it. */
static int submit_check(sched *s, const Tern__JobSpec *spec, char *err, size_t errlen)
{
    if (sched_partition_bit(s, spec->partition) == UINT32_MAX) {
        snprintf(err, errlen, "invalid partition specified: %s (no node has "
                 "partition=%s; spot and ondemand always exist)", spec->partition, spec->partition);
        return -1;
    }
    if (spec->dependency && spec->dependency[0] &&
        queue_deps_valid(s, spec->dependency, err, errlen) < 0)
        return -1;
    place_node *view = calloc(s->nnodes ? s->nnodes : 1, sizeof *view);
    if (!view) {
        snprintf(err, errlen, "ternd: out of memory");
        return -1;
    }
    sched_place_view(s, view);
    place_request req;
    job tmp = { .spec = (Tern__JobSpec *)spec };
    job_place_request(s, &tmp, &req, NULL);
    char why[256];
    enum place_result fit = place_check(&req, view, s->nnodes, why, sizeof why);
    free(view);
    if (fit == PLACE_NEVER) {
        snprintf(err, errlen, "job can never run: %s", why);
        return -1;
    }
    return 0;
}

/* What one array submission may hold in all (each task keeps its spec). */
#define MAX_ARRAY_BYTES (256u << 20)

/* A submission's token as stored: scoped to its user, so that a token
 * someone else saw ('tern show') finds nothing of theirs. */
static void scoped_token(const Tern__JobSpec *filled, char *out, size_t len)
{
    snprintf(out, len, "%s%s/%s", filled->admin ? "admin:" : "", filled->user,
             filled->token ? filled->token : "");
}

/* The bounds of a submission of the tasks 'arr' (none: one job) of
 * 'filled': the array's indexes, and the user's jobs not ended. */
static int submit_bounds(sched *s, const Tern__JobSpec *filled, const arrayspec *arr, char *err,
                         size_t errlen)
{
    uint32_t max_index = arr->count ? arr->ids[arr->count - 1] : 0;
    if (filled->array && filled->array[0] && max_index >= s->opt.max_array_size) {
        snprintf(err, errlen, "--array %s: task index %u is above this cluster's limit (ternd "
                 "--max-array-size %u: indexes 0 to %u)", filled->array, max_index,
                 s->opt.max_array_size, s->opt.max_array_size - 1);
        return -1;
    }
    account *a = account_get(s, filled->user);
    uint32_t limit = s->opt.max_pending_per_user, count = arr->count ? arr->count : 1;
    /* Admins (and everyone, with authentication off) are not bounded. */
    if (limit && a && !filled->admin && (uint64_t)a->unfinished + count > limit) {
        snprintf(err, errlen, "user %s has %u jobs queued or running and may have at most %u "
                 "(ternd --max-pending-per-user); this submission adds %u", filled->user,
                 a->unfinished, limit, count);
        return -1;
    }
    return 0;
}

/* Whether the tasks 'arr' of 'filled' fit what one array may hold in all. */
static int array_fits(const Tern__JobSpec *filled, const arrayspec *arr, char *err, size_t errlen)
{
    /* Every task keeps its own copy of the job description. */
    size_t each = tern__job_spec__get_packed_size(filled);
    if (arr->count && (uint64_t)each * arr->count > MAX_ARRAY_BYTES) {
        snprintf(err, errlen, "--array %s: %u tasks of a %zu-byte job description exceed "
                 "%u MiB; use fewer tasks or a smaller environment", filled->array, arr->count,
                 each, MAX_ARRAY_BYTES >> 20);
        return -1;
    }
    return 0;
}

/* 'spec' as ternd keeps it, into 'filled' (a shallow copy: the request's
 * strings stay its own): who submits it, by the caller 'c', and ternd's
 * defaults; 'outpat' (len bytes) holds the default output pattern. */
static void submit_fill(sched *s, const caller *c, const Tern__JobSpec *spec,
                        Tern__JobSpec *filled, char *outpat, size_t len)
{
    *filled = *spec;
    filled->admin = c->role == CALLER_TRUSTED || c->admin;
    /* With authentication the key says who submits, whatever the spec says;
     * the uid and gid are the node's to resolve (the audit shows what they
     * ran as), never the client's to claim. */
    if (c->role != CALLER_TRUSTED)
        filled->user = (char *)c->name;
    filled->uid = filled->gid = 0;
    if (!filled->stdout_pattern || !filled->stdout_pattern[0]) {
        snprintf(outpat, len, "%s/%%j/rank-%%t.out", s->opt.log_dir);
        filled->stdout_pattern = outpat;
    }
    if (!filled->launcher || !filled->launcher[0])
        filled->launcher = "direct";
    /* Spot nodes vanish at a notice: a job that asks for them is preemptible. */
    if (filled->partition && strcmp(filled->partition, "spot") == 0)
        filled->preemptible = true;
    /* The array fields are ternd's to fill, never the client's. */
    filled->array_job_id = 0;
    filled->array_task_id = filled->array_task_count = filled->array_task_min = 0;
    filled->array_task_max = filled->array_limit = 0;
}

/* Adds the jobs of a submission from id 'id' on: one of 'filled', or a
 * task of it for each of 'arr'; the first keeps 'token' (NULL: none).
 * Returns 0, or -1 when memory runs out (the turn must roll back). */
static int submit_jobs(sched *s, Tern__JobSpec *filled, const arrayspec *arr, uint64_t id,
                       const char *token)
{
    uint32_t count = arr->count ? arr->count : 1;
    for (uint32_t k = 0; k < count; k++) {
        if (arr->count) {
            filled->array_job_id = id;
            filled->array_task_id = arr->ids[k];
            filled->array_task_count = arr->count;
            filled->array_task_min = arr->ids[0];
            filled->array_task_max = arr->ids[arr->count - 1];
            filled->array_limit = arr->limit;
        }
        if (job_create(s, id + k, filled, k ? NULL : token) < 0)
            return -1;
    }
    return 0;
}

/* A retry of a submission ternd already took (its scoped 'token' is
 * stored): answered with the job it made. Returns whether it was one. */
static bool submit_retried(sched *s, const wire_peer *peer, uint64_t seq, const char *token)
{
    uint64_t existing;
    if (sched_db(s, store_job_by_token(s->db, token, &existing)) != 1)
        return false;
    const job *e = sched_job(s, existing);
    reply_submitted(s, peer, seq, existing, e ? e->spec->array_task_count : 0);
    return true;
}

void submit_request(sched *s, const wire_peer *peer, const caller *c, uint64_t seq,
                    const Tern__SubmitRequest *rq)
{
    char err[512];
    const Tern__JobSpec *spec = rq->spec;
    if (c->role == CALLER_USER && strcmp(c->name, "root") == 0) {
        outbox_error(s, peer, seq, "ternd: a user key named 'root' cannot submit: jobs run as "
                                   "root only when an admin key submits them");
        return;
    }
    if (jobspec_validate(spec, err, sizeof err) < 0) {
        outbox_error(s, peer, seq, "invalid job: %s", err);
        return;
    }
    Tern__JobSpec filled;
    char outpat[FS_SUBPATH_LEN];
    submit_fill(s, c, spec, &filled, outpat, sizeof outpat);
    char token[JOBSPEC_MAX_NAME + 160];   /* a user name, a 128-byte token */
    scoped_token(&filled, token, sizeof token);
    bool tokened = spec->token && spec->token[0];
    if (tokened && submit_retried(s, peer, seq, token))
        return;
    arrayspec arr = { 0 };
    if (spec->array && spec->array[0] && arrayspec_parse(spec->array, &arr, err, sizeof err) < 0) {
        outbox_error(s, peer, seq, "invalid job: %s", err);
        return;
    }
    uint64_t id = s->njobs + 1;
    if (submit_bounds(s, &filled, &arr, err, sizeof err) < 0 ||
        submit_check(s, spec, err, sizeof err) < 0 ||
        array_fits(&filled, &arr, err, sizeof err) < 0) {
        outbox_error(s, peer, seq, "%s", err);
    } else if (submit_jobs(s, &filled, &arr, id, tokened ? token : NULL) < 0) {
        /* The turn rolls back: none of the array is kept. */
        sched_db(s, -1);
        outbox_error(s, peer, seq, "ternd: out of memory");
    } else {
        s->dirty = true;
        reply_submitted(s, peer, seq, id, arr.count);
    }
    arrayspec_free(&arr);
}
