/* tern submit: a job (or an array of them) checked, bounded per user,
 * stored and queued; a retried submission finds the job it made. */
#include "scheduler/sched.h"

#include "common/arrayspec.h"
#include "common/clock.h"
#include "common/jobspec.h"
#include "common/log.h"

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
    Tern__Envelope env;
    Tern__SubmitReply r = TERN__SUBMIT_REPLY__INIT;
    wire_init(&env, seq);
    r.job_id = id;
    r.count = count;
    env.body_case = TERN__ENVELOPE__BODY_SUBMITTED;
    env.submitted = &r;
    outbox_add(s, s->clients, peer, &env, true);
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

/* The per-user bounds of a submission of 'count' jobs whose task indexes go
 * up to 'max_index' (arrays). */
static int user_bounds(sched *s, const Tern__JobSpec *filled, uint32_t count, uint32_t max_index,
                       char *err, size_t errlen)
{
    if (filled->array && filled->array[0] && max_index >= s->opt.max_array_size) {
        snprintf(err, errlen, "--array %s: task index %u is above this cluster's limit (ternd "
                 "--max-array-size %u: indexes 0 to %u)", filled->array, max_index,
                 s->opt.max_array_size, s->opt.max_array_size - 1);
        return -1;
    }
    account *a = account_get(s, filled->user);
    uint32_t limit = s->opt.max_pending_per_user;
    /* Admins (and everyone, with authentication off) are not bounded. */
    if (limit && a && !filled->admin && (uint64_t)a->unfinished + count > limit) {
        snprintf(err, errlen, "user %s has %u jobs queued or running and may have at most %u "
                 "(ternd --max-pending-per-user); this submission adds %u", filled->user,
                 a->unfinished, limit, count);
        return -1;
    }
    return 0;
}

void client_submit(sched *s, const wire_peer *peer, const caller *c, uint64_t seq,
                   Tern__SubmitRequest *rq)
{
    char err[512];
    Tern__JobSpec *spec = rq->spec;
    if (c->role == CALLER_USER && strcmp(c->name, "root") == 0) {
        outbox_error(s, peer, seq, "ternd: a user key named 'root' cannot submit: jobs run as "
                                   "root only when an admin key submits them");
        return;
    }
    if (jobspec_validate(spec, err, sizeof err) < 0) {
        outbox_error(s, peer, seq, "invalid job: %s", err);
        return;
    }
    /* Defaults filled in a shallow copy: the request's strings are its own. */
    Tern__JobSpec filled = *spec;
    filled.admin = c->role == CALLER_TRUSTED || c->admin;
    /* With authentication the key says who submits, whatever the spec says;
     * the uid and gid are the node's to resolve (the audit shows what they
     * ran as), never the client's to claim. */
    if (c->role != CALLER_TRUSTED)
        filled.user = (char *)c->name;
    filled.uid = filled.gid = 0;
    char token[JOBSPEC_MAX_NAME + 160];   /* a user name, a 128-byte token */
    scoped_token(&filled, token, sizeof token);
    if (spec->token && spec->token[0]) {
        uint64_t existing;
        int found = sched_db(s, store_job_by_token(s->db, token, &existing));
        if (found == 1) {   /* a retry of a submission we already took */
            const job *e = sched_job(s, existing);
            reply_submitted(s, peer, seq, existing, e ? e->spec->array_task_count : 0);
            return;
        }
    }
    arrayspec arr = { 0 };
    if (spec->array && spec->array[0] && arrayspec_parse(spec->array, &arr, err, sizeof err) < 0) {
        outbox_error(s, peer, seq, "invalid job: %s", err);
        return;
    }
    uint32_t count = arr.count ? arr.count : 1;
    if (user_bounds(s, &filled, count, arr.count ? arr.ids[arr.count - 1] : 0, err,
                    sizeof err) < 0 ||
        submit_check(s, spec, err, sizeof err) < 0) {
        outbox_error(s, peer, seq, "%s", err);
        arrayspec_free(&arr);
        return;
    }

    uint64_t id = s->njobs + 1;
    char outpat[4200];
    if (!filled.stdout_pattern || !filled.stdout_pattern[0]) {
        snprintf(outpat, sizeof outpat, "%s/%%j/rank-%%t.out", s->opt.log_dir);
        filled.stdout_pattern = outpat;
    }
    if (!filled.launcher || !filled.launcher[0])
        filled.launcher = "direct";
    /* Spot nodes vanish at a notice: a job that asks for them is preemptible. */
    if (filled.partition && strcmp(filled.partition, "spot") == 0)
        filled.preemptible = true;
    /* The array fields are ternd's to fill, never the client's. */
    filled.array_job_id = 0;
    filled.array_task_id = filled.array_task_count = filled.array_task_min = 0;
    filled.array_task_max = filled.array_limit = 0;
    /* Every task keeps its own copy of the job description. */
    size_t each = tern__job_spec__get_packed_size(&filled);
    if (arr.count && (uint64_t)each * arr.count > MAX_ARRAY_BYTES) {
        outbox_error(s, peer, seq, "--array %s: %u tasks of a %zu-byte job description exceed "
                     "%u MiB; use fewer tasks or a smaller environment", spec->array, arr.count,
                     each, MAX_ARRAY_BYTES >> 20);
        arrayspec_free(&arr);
        return;
    }
    for (uint32_t k = 0; k < count; k++) {
        if (arr.count) {
            filled.array_job_id = id;
            filled.array_task_id = arr.ids[k];
            filled.array_task_count = arr.count;
            filled.array_task_min = arr.ids[0];
            filled.array_task_max = arr.ids[arr.count - 1];
            filled.array_limit = arr.limit;
        }
        const char *tok = !k && spec->token && spec->token[0] ? token : NULL;
        if (job_create(s, id + k, &filled, tok) < 0) {
            /* The turn rolls back: none of the array is kept. */
            sched_db(s, -1);
            outbox_error(s, peer, seq, "ternd: out of memory");
            arrayspec_free(&arr);
            return;
        }
    }
    uint32_t tasks = arr.count;
    arrayspec_free(&arr);
    s->dirty = true;
    reply_submitted(s, peer, seq, id, tasks);
}
