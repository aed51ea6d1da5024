#include "common/logfold.h"

#include "common/log.h"
#include "common/strmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_MS 1000

typedef struct fold {
    char *who;
    int64_t since_ms;              /* the window's start: its first line */
    uint64_t more;                 /* lines not logged since */
} fold;

struct logfold {
    fold *f;
    size_t n;
    strmap *index;                 /* who -> position + 1 */
    uint64_t others;               /* lines about peers past LOGFOLD_MAX_PEERS */
    int64_t others_since;
};

logfold *logfold_new(void)
{
    logfold *lf = calloc(1, sizeof *lf);
    if (!lf || !(lf->f = calloc(LOGFOLD_MAX_PEERS, sizeof *lf->f)) ||
        !(lf->index = strmap_new())) {
        if (lf)
            free(lf->f);
        free(lf);
        errno = ENOMEM;
        return NULL;
    }
    return lf;
}

static void report(const char *who, uint64_t more)
{
    if (more)
        log_warn("%s: %llu more like it in the last second", who, (unsigned long long)more);
}

void logfold_destroy(logfold **lfp)
{
    if (!lfp || !*lfp)
        return;
    logfold *lf = *lfp;
    for (size_t i = 0; i < lf->n; i++) {
        report(lf->f[i].who, lf->f[i].more);
        free(lf->f[i].who);
    }
    report("other peers", lf->others);
    free(lf->f);
    strmap_destroy(&lf->index);
    free(lf);
    *lfp = NULL;
}

bool logfold_allow(logfold *lf, const char *who, int64_t now_ms)
{
    if (!lf)
        return true;
    uintptr_t pos = (uintptr_t)strmap_get(lf->index, who);
    if (pos) {
        lf->f[pos - 1].more++;
        return false;
    }
    char *copy = lf->n < LOGFOLD_MAX_PEERS ? strdup(who) : NULL;
    if (!copy || strmap_put(lf->index, copy, (void *)(uintptr_t)(lf->n + 1)) < 0) {
        free(copy);
        if (!lf->others++)
            lf->others_since = now_ms;
        return false;
    }
    lf->f[lf->n++] = (fold){ .who = copy, .since_ms = now_ms };
    return true;
}

void logfold_warn(logfold *lf, int64_t now_ms, const char *detail, const char *fmt, ...)
{
    char subject[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(subject, sizeof subject, fmt, ap);
    va_end(ap);
    if (logfold_allow(lf, subject, now_ms))
        log_warn("%s: %s", subject, detail);
}

void logfold_flush(logfold *lf, int64_t now_ms)
{
    if (!lf)
        return;
    for (size_t i = 0; i < lf->n;) {
        fold *f = &lf->f[i];
        if (now_ms - f->since_ms < WINDOW_MS) {
            i++;
            continue;
        }
        report(f->who, f->more);
        strmap_del(lf->index, f->who);
        free(f->who);
        /* The last one takes the freed place. */
        if (i != --lf->n) {
            *f = lf->f[lf->n];
            strmap_put(lf->index, f->who, (void *)(uintptr_t)(i + 1));
        }
    }
    if (lf->others && now_ms - lf->others_since >= WINDOW_MS) {
        report("other peers", lf->others);
        lf->others = 0;
    }
}
