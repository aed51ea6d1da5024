/* The Prometheus text exposition format (version 0.0.4): what a /metrics
 * endpoint serves. A daemon builds the whole text in its own thread and
 * hands it to promhttp.h, which serves it.
 *
 *   promtext t;
 *   promtext_init(&t);
 *   promtext_family(&t, "tern_jobs", "gauge", "Jobs by state.");
 *   promtext_sample(&t, "tern_jobs", "state=\"running\"", 3);
 *   char *text = promtext_finish(&t, &len);   // the caller frees it
 *
 * The builder remembers running out of memory rather than failing each
 * call: promtext_finish then returns NULL. */
#ifndef TERN_PROMTEXT_H
#define TERN_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct promtext {
    char *buf;
    size_t len, cap;
    bool failed;                   /* memory ran out: finish returns NULL */
} promtext;

void promtext_init(promtext *t);
/* "# HELP name help" and "# TYPE name type" ('type': counter, gauge,
 * histogram). 'help' is escaped as the format requires. */
void promtext_family(promtext *t, const char *name, const char *type, const char *help);
/* "name{labels} value", or "name value" when 'labels' is NULL or "".
 * 'labels' is a list such as promtext_label builds. */
void promtext_sample(promtext *t, const char *name, const char *labels, double value);
/* The text so far, NUL-terminated, which the caller frees; *len (if not
 * NULL) gets its length. NULL when memory ran out. 't' is empty after. */
char *promtext_finish(promtext *t, size_t *len);
/* Drops what was built. */
void promtext_discard(promtext *t);

/* Appends key="value" to the label list 'labels' (a NUL-terminated string
 * of 'size' bytes), with a comma when it is not empty, escaping backslash,
 * double quote and newline in 'value'. Returns 0, or -1 when it does not
 * fit ('labels' unchanged). */
int promtext_label(char *labels, size_t size, const char *key, const char *value);

/* Writes 'v' as the format reads it: the shortest text that reads back as
 * the same double; +Inf, -Inf, NaN. */
void promtext_number(double v, char *buf, size_t size);

/* A histogram with fixed upper bounds, for observations made in one
 * thread. */
#define PROMHIST_MAX_BOUNDS 24

typedef struct promhist {
    double le[PROMHIST_MAX_BOUNDS];        /* upper bounds, increasing */
    size_t nle;
    uint64_t bucket[PROMHIST_MAX_BOUNDS + 1];   /* per bound (not cumulative), then +Inf */
    uint64_t count;
    double sum;
} promhist;

/* Sets the bounds (at most PROMHIST_MAX_BOUNDS, increasing; the rest are
 * dropped) and zeroes the counts. */
void promhist_init(promhist *h, const double *le, size_t nle);
void promhist_observe(promhist *h, double v);
/* The family lines, then name_bucket{le="..."} (cumulative, ending with
 * le="+Inf"), name_sum and name_count. */
void promtext_histogram(promtext *t, const char *name, const char *help, const promhist *h);

#endif
