#include "common/promtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void promtext_init(promtext *t)
{
    memset(t, 0, sizeof *t);
}

static bool reserve(promtext *t, size_t more)
{
    if (t->failed)
        return false;
    if (t->len + more + 1 <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *nb = realloc(t->buf, cap);
    if (!nb) {
        t->failed = true;
        return false;
    }
    t->buf = nb;
    t->cap = cap;
    return true;
}

static void append(promtext *t, const char *s, size_t n)
{
    if (!reserve(t, n))
        return;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void appendf(promtext *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(promtext *t, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        append(t, small, (size_t)n);
        return;
    }
    if (!reserve(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void promtext_family(promtext *t, const char *name, const char *type, const char *help)
{
    appendf(t, "# HELP %s ", name);
    /* HELP text escapes only backslash and newline. */
    for (const char *c = help; *c; c++) {
        if (*c == '\\')
            append(t, "\\\\", 2);
        else if (*c == '\n')
            append(t, "\\n", 2);
        else
            append(t, c, 1);
    }
    appendf(t, "\n# TYPE %s %s\n", name, type);
}

void promtext_number(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Whole numbers as integers (counts, bytes), exact up to 2^53. */
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(buf, size, "%lld", (long long)v);
        return;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void promtext_sample(promtext *t, const char *name, const char *labels, double value)
{
    char num[40];
    promtext_number(value, num, sizeof num);
    if (labels && *labels)
        appendf(t, "%s{%s} %s\n", name, labels, num);
    else
        appendf(t, "%s %s\n", name, num);
}

char *promtext_finish(promtext *t, size_t *len)
{
    char *out = NULL;
    if (!t->failed && reserve(t, 0)) {
        t->buf[t->len] = '\0';
        out = t->buf;
        if (len)
            *len = t->len;
        t->buf = NULL;
    }
    promtext_discard(t);
    return out;
}

void promtext_discard(promtext *t)
{
    free(t->buf);
    promtext_init(t);
}

int promtext_label(char *labels, size_t size, const char *key, const char *value)
{
    size_t len = strlen(labels), start = len;
    int n = snprintf(labels + len, size - len, "%s%s=\"", len ? "," : "", key);
    if (n < 0 || (size_t)n >= size - len)
        goto full;
    len += (size_t)n;
    for (const char *c = value; *c; c++) {
        const char *esc = *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : *c == '\n' ? "\\n" : NULL;
        size_t need = esc ? 2 : 1;
        if (len + need + 2 > size)   /* room for the closing quote and NUL */
            goto full;
        if (esc)
            memcpy(labels + len, esc, 2);
        else
            labels[len] = *c;
        len += need;
    }
    if (len + 2 > size)
        goto full;
    labels[len++] = '"';
    labels[len] = '\0';
    return 0;
full:
    labels[start] = '\0';
    return -1;
}

void promhist_init(promhist *h, const double *le, size_t nle)
{
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < nle && h->nle < PROMHIST_MAX_BOUNDS; i++)
        if (h->nle == 0 || le[i] > h->le[h->nle - 1])
            h->le[h->nle++] = le[i];
}

void promhist_observe(promhist *h, double v)
{
    size_t i = 0;
    while (i < h->nle && v > h->le[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += v;
}

void promtext_histogram(promtext *t, const char *name, const char *help, const promhist *h)
{
    char num[40];
    uint64_t cum = 0;
    promtext_family(t, name, "histogram", help);
    for (size_t i = 0; i < h->nle; i++) {
        cum += h->bucket[i];
        promtext_number(h->le[i], num, sizeof num);
        appendf(t, "%s_bucket{le=\"%s\"} %llu\n", name, num, (unsigned long long)cum);
    }
    appendf(t, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
    promtext_number(h->sum, num, sizeof num);
    appendf(t, "%s_sum %s\n", name, num);
    appendf(t, "%s_count %llu\n", name, (unsigned long long)h->count);
}
