/* Names in a checkpoint directory, and what retention removes.
 *
 *   step-<N>/      committed: its MANIFEST was durable before the rename
 *   step-<N>.tmp/  being written, or left by a save that died
 *   step-<N>.old/  a committed step being replaced by a new save of N
 *   LATEST         "step-<N>", replaced by rename after each commit */
#include "checkpoint/layout.h"

#include "checkpoint/ckpt.h"

#include "common/fsutil.h"
#include "common/grow.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ckpt_name_step(const char *name, int64_t *step, int *kind)
{
    /* Digits as tern writes them: "step-007" would be another name for 7. */
    if (strncmp(name, "step-", 5) != 0 || name[5] < '0' || name[5] > '9' ||
        (name[5] == '0' && name[6] >= '0' && name[6] <= '9'))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(name + 5, &end, 10);
    if (errno || v < 0)
        return -1;
    if (*end == '\0')
        *kind = CKPT_COMMITTED;
    else if (strcmp(end, ".tmp") == 0)
        *kind = CKPT_TMP;
    else if (strcmp(end, ".old") == 0)
        *kind = CKPT_OLD;
    else
        return -1;
    *step = v;
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int ckpt_list_steps(const char *dir, int64_t **steps, size_t *n)
{
    *steps = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t cap = 0;
    struct dirent *e;
    int64_t step;
    int kind;
    while ((e = readdir(d)) != NULL) {
        if (ckpt_name_step(e->d_name, &step, &kind) < 0 || kind != CKPT_COMMITTED)
            continue;
        int64_t *grown = grow(*steps, &cap, *n + 1, sizeof *grown, 16);
        if (!grown) {
            free(*steps);
            *steps = NULL;
            closedir(d);
            errno = ENOMEM;
            return -1;
        }
        *steps = grown;
        (*steps)[(*n)++] = step;
    }
    closedir(d);
    if (*n)
        qsort(*steps, *n, sizeof **steps, newest_first);
    return 0;
}

static int remove_entry(const char *dir, const char *name)
{
    char path[PATH_MAX];
    ckpt_path(path, sizeof path, "%s/%s", dir, name);
    if (fs_rm_rf(path) == 0)
        return 0;
    fprintf(stderr, "tern: checkpoint: cannot remove %s: %s\n", path, strerror(errno));
    return 1;
}

int ckpt_retain(const char *dir, int64_t just, int keep)
{
    int64_t *steps;
    size_t n;
    int failed = 0;
    if (ckpt_list_steps(dir, &steps, &n) < 0) {
        fprintf(stderr, "tern: checkpoint: cannot list %s: %s\n", dir, strerror(errno));
        return 1;
    }
    /* Newer steps than the one just written were skipped by the load this
     * run started from (they did not verify): left alone, for a person to
     * look at. Of the older ones, keep-1 stay beside 'just'. */
    int kept = 1;
    char name[64];
    for (size_t i = 0; i < n; i++) {
        if (steps[i] >= just)
            continue;
        if (kept < keep) {
            kept++;
            continue;
        }
        snprintf(name, sizeof name, "step-%" PRId64, steps[i]);
        failed += remove_entry(dir, name);
    }
    free(steps);
    return failed;
}
