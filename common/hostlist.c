#include "common/hostlist.h"
#include "common/grow.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest number in a range. */
#define MAX_DIGITS 18

typedef struct names {
    char **v;
    size_t n, cap;
    bool oom;
} names;

static void add(names *l, const char *prefix, size_t plen, const char *mid, const char *suffix)
{
    if (l->oom)
        return;
    char **v = grow(l->v, &l->cap, l->n + 2, sizeof *v, 16);
    if (!v) {
        l->oom = true;
        return;
    }
    l->v = v;
    size_t len = plen + strlen(mid) + strlen(suffix) + 1;
    char *s = malloc(len);
    if (!s) {
        l->oom = true;
        return;
    }
    snprintf(s, len, "%.*s%s%s", (int)plen, prefix, mid, suffix);
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
}

/* Expands one comma-free-at-top-level item, "pre[ranges]post" or "name". */
static int item(names *l, const char *s, size_t len, char *err, size_t errlen)
{
    const char *open = memchr(s, '[', len);
    if (!open) {
        char name[256];
        if (len == 0 || len >= sizeof name || memchr(s, ']', len)) {
            snprintf(err, errlen, "bad host name '%.*s'", (int)len, s);
            return -1;
        }
        memcpy(name, s, len);
        name[len] = '\0';
        add(l, "", 0, name, "");
        return 0;
    }
    const char *close = memchr(open, ']', len - (size_t)(open - s));
    if (!close || memchr(open + 1, '[', (size_t)(close - open - 1))) {
        snprintf(err, errlen, "unbalanced '[' in '%.*s'", (int)len, s);
        return -1;
    }
    char suffix[256];
    size_t slen = len - (size_t)(close + 1 - s);
    if (slen >= sizeof suffix || memchr(close + 1, '[', slen)) {
        snprintf(err, errlen, "one [range] per name: '%.*s'", (int)len, s);
        return -1;
    }
    memcpy(suffix, close + 1, slen);
    suffix[slen] = '\0';
    const char *p = open + 1;
    while (p < close) {
        /* Numbers of at most 18 digits: strtoul saturates none (a range
         * up to ULONG_MAX would expand forever, v <= hi always holding)
         * and every name fits 'mid'. */
        const char *start = p;
        unsigned long lo = strtoul(p, (char **)&p, 10), hi = lo;
        int width = (int)(p - start);
        if (width == 0 || width > MAX_DIGITS || !isdigit((unsigned char)*start))
            goto bad;
        if (*p == '-') {
            const char *q = ++p;
            hi = strtoul(p, (char **)&p, 10);
            if (p == q || p - q > MAX_DIGITS || !isdigit((unsigned char)*q) || hi < lo)
                goto bad;
        }
        if (*p == ',')
            p++;
        else if (p != close)
            goto bad;
        if (hi - lo >= HOSTLIST_MAX || l->n + (hi - lo) >= HOSTLIST_MAX) {
            snprintf(err, errlen, "more than %d names", HOSTLIST_MAX);
            return -1;
        }
        for (unsigned long v = lo; v <= hi; v++) {
            char mid[32];
            snprintf(mid, sizeof mid, "%0*lu", width, v);
            add(l, s, (size_t)(open - s), mid, suffix);
        }
    }
    return 0;
bad:
    snprintf(err, errlen, "bad range in '%.*s' (as in node[1-4,07])", (int)len, s);
    return -1;
}

char **hostlist_expand(const char *s, size_t *n, char *err, size_t errlen)
{
    names l = { 0 };
    const char *p = s;
    while (*p) {
        /* An item ends at a comma outside brackets. */
        const char *e = p;
        int depth = 0;
        while (*e && (depth || *e != ',')) {
            depth += *e == '[' ? 1 : *e == ']' ? -1 : 0;
            e++;
        }
        if (item(&l, p, (size_t)(e - p), err, errlen) < 0) {
            hostlist_free(l.v);
            return NULL;
        }
        p = *e ? e + 1 : e;
    }
    if (l.oom || (!l.v && !(l.v = calloc(1, sizeof *l.v)))) {
        snprintf(err, errlen, "out of memory");
        hostlist_free(l.v);
        return NULL;
    }
    *n = l.n;
    return l.v;
}

void hostlist_free(char **names)
{
    for (char **p = names; p && *p; p++)
        free(*p);
    free(names);
}
