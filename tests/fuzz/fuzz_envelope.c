/* libFuzzer target: one message payload as ternd, tern-worker and tern take
 * it off a socket. wire_decode (the protobuf unpack and the version check
 * wire_recv does), then what common/ does with what arrived: every job
 * specification is validated (jobspec_validate, as ternd on a submit or an
 * srun step and the worker on a launch), its --array and --dependency text
 * parsed as ternd parses them, its output patterns expanded as the worker
 * and 'tern logs' expand them; node lists go through hostlist_expand (srun
 * -w). Every decoded message is also packed again, as ternd stores and
 * forwards what it got, and must decode to the same bytes. */
#include "common/arrayspec.h"
#include "common/depend.h"
#include "common/hostlist.h"
#include "common/jobspec.h"
#include "common/pattern.h"
#include "common/wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void text_fields(const Tern__JobSpec *spec)
{
    char err[512];
    if (spec->array && spec->array[0]) {
        arrayspec arr;
        if (arrayspec_parse(spec->array, &arr, err, sizeof err) == 0)
            arrayspec_free(&arr);
    }
    if (spec->dependency && spec->dependency[0]) {
        depend deps[DEPEND_MAX];
        (void)depend_parse(spec->dependency, deps, err, sizeof err);
    }
}

static void patterns(const Tern__JobSpec *spec)
{
    pattern_vars v = { .job_id = 42, .rank = 3, .node_rank = 1, .node_name = "node001",
                       .job_name = spec->name };
    pattern_array arr = { .job_id = spec->array_job_id, .task_id = spec->array_task_id };
    const char *pats[] = { spec->stdout_pattern, spec->stderr_pattern, spec->checkpoint_dir };
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        char out[4096];
        if (pats[i])
            (void)pattern_expand_array(pats[i], &v, spec->array_job_id ? &arr : NULL, out,
                                       sizeof out);
    }
}

static void hostlist(const char *s)
{
    size_t n;
    char err[256];
    if (!s)
        return;
    char **names = hostlist_expand(s, &n, err, sizeof err);
    hostlist_free(names);
}

/* What ternd, the worker and the CLI do with a job specification they got. */
static void jobspec(const Tern__JobSpec *spec)
{
    char err[512];
    if (!spec || jobspec_validate(spec, err, sizeof err) < 0)
        return;
    (void)jobspec_world_size(spec);
    (void)jobspec_one_process(spec);
    text_fields(spec);
    patterns(spec);
}

/* A decoded message packs to bytes that decode to the same message. */
static void repack(const Tern__Envelope *env)
{
    size_t len = tern__envelope__get_packed_size(env);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return;
    if (tern__envelope__pack(env, buf) != len)
        abort();
    char err[256];
    Tern__Envelope *again = wire_decode(buf, len, err, sizeof err);
    if (!again) {
        fprintf(stderr, "repacked envelope does not decode: %s\n", err);
        abort();
    }
    size_t len2 = tern__envelope__get_packed_size(again);
    uint8_t *buf2 = malloc(len2 ? len2 : 1);
    if (buf2) {
        tern__envelope__pack(again, buf2);
        if (len2 != len || memcmp(buf, buf2, len) != 0) {
            fprintf(stderr, "repacked envelope differs: %zu bytes, then %zu\n", len, len2);
            abort();
        }
    }
    free(buf2);
    wire_free(again);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    Tern__Envelope *env = wire_decode(data, size, err, sizeof err);
    if (!env)
        return 0;
    switch (env->body_case) {
    case TERN__ENVELOPE__BODY_SUBMIT:
        jobspec(env->submit->spec);
        break;
    case TERN__ENVELOPE__BODY_STEP:
        jobspec(env->step->spec);
        for (size_t i = 0; i < env->step->n_nodelist; i++)
            hostlist(env->step->nodelist[i]);
        break;
    case TERN__ENVELOPE__BODY_LAUNCH:
        jobspec(env->launch->spec);
        for (size_t i = 0; i < env->launch->n_node_names; i++)
            hostlist(env->launch->node_names[i]);
        break;
    case TERN__ENVELOPE__BODY_JOBS:
        for (size_t i = 0; i < env->jobs->n_jobs; i++)
            jobspec(env->jobs->jobs[i]->spec);
        break;
    case TERN__ENVELOPE__BODY_NODE_COMMAND:
        hostlist(env->node_command->node);
        break;
    default:
        break;
    }
    repack(env);
    wire_free(env);
    return 0;
}
