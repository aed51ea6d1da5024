#include "common/arrayspec.h"
#include "common/grow.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a decimal number at *p (advancing it) into *out. */
static bool number(const char **p, uint32_t *out)
{
    if (!isdigit((unsigned char)**p))
        return false;
    uint64_t v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (uint64_t)(**p - '0');
        if (v > ARRAYSPEC_MAX_ID)
            return false;
        (*p)++;
    }
    *out = (uint32_t)v;
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int arrayspec_parse(const char *s, arrayspec *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    const char *pct = strchr(s, '%');
    size_t body = pct ? (size_t)(pct - s) : strlen(s);
    if (pct) {
        const char *p = pct + 1;
        if (!number(&p, &a->limit) || *p || a->limit == 0) {
            snprintf(err, errlen, "--array %s: expected %%N with N >= 1 after the ids", s);
            return -1;
        }
    }
    if (body == 0) {
        snprintf(err, errlen, "--array %s: no task ids", s);
        return -1;
    }
    size_t cap = 0;
    const char *p = s;
    while (p < s + body) {
        uint32_t lo, hi, step = 1;
        if (!number(&p, &lo)) {
            snprintf(err, errlen, "--array %s: expected a task id (0..%u) at '%.*s'", s,
                     ARRAYSPEC_MAX_ID, (int)(s + body - p), p);
            goto fail;
        }
        hi = lo;
        if (*p == '-') {
            p++;
            if (!number(&p, &hi) || hi < lo) {
                snprintf(err, errlen, "--array %s: a range must go up, as in 0-99", s);
                goto fail;
            }
            if (*p == ':') {
                p++;
                if (!number(&p, &step) || step == 0) {
                    snprintf(err, errlen, "--array %s: expected a step >= 1 after ':'", s);
                    goto fail;
                }
            }
        }
        if (p < s + body && *p != ',') {
            snprintf(err, errlen, "--array %s: unexpected '%c'", s, *p);
            goto fail;
        }
        if (*p == ',')
            p++;
        for (uint64_t id = lo; id <= hi; id += step) {
            if (a->count == ARRAYSPEC_MAX_TASKS) {
                snprintf(err, errlen, "--array %s: more than %u tasks", s, ARRAYSPEC_MAX_TASKS);
                goto fail;
            }
            uint32_t *n = grow(a->ids, &cap, a->count + 1, sizeof *n, 64);
            if (!n) {
                snprintf(err, errlen, "--array %s: out of memory", s);
                goto fail;
            }
            a->ids = n;
            a->ids[a->count++] = (uint32_t)id;
        }
    }
    qsort(a->ids, a->count, sizeof *a->ids, cmp_u32);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < a->count; i++)
        if (!kept || a->ids[kept - 1] != a->ids[i])
            a->ids[kept++] = a->ids[i];
    a->count = kept;
    return 0;
fail:
    arrayspec_free(a);
    return -1;
}

void arrayspec_free(arrayspec *a)
{
    free(a->ids);
    a->ids = NULL;
    a->count = 0;
}
