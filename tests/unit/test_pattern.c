/* common/pattern: output file names as sbatch expands them (%j, %t, %A_%a,
 * widths), and what does not fit or is not a %-sequence. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/pattern.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* pattern_expand or pattern_expand_array, so that one check serves both. */
typedef int expand_fn(const char *pat, const pattern_vars *v, const pattern_array *array,
                      char *out, size_t len);

static int expand_plain(const char *pat, const pattern_vars *v, const pattern_array *array,
                        char *out, size_t len)
{
    (void)array;
    return pattern_expand(pat, v, out, len);
}

/* The job a case expands for. */
typedef struct pattern_job {
    const pattern_vars *v;
    const pattern_array *array;
} pattern_job;

typedef struct pattern_case {
    const char *pat;
    int job;            /* index into the jobs given with the cases */
    const char *want;
} pattern_case;

/* Each case must expand, for jobs[job], to 'want'. */
static void check_expands(expand_fn *expand, const pattern_job *jobs, const pattern_case *cases,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pattern_job *j = &jobs[cases[i].job];
        char out[128];
        int rc = expand(cases[i].pat, j->v, j->array, out, sizeof out);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0 && strcmp(out, cases[i].want) != 0)
            fprintf(stderr, "'%s' gives '%s', want '%s'\n", cases[i].pat, out, cases[i].want);
        if (rc == 0)
            CU_ASSERT_STRING_EQUAL(out, cases[i].want);
    }
}

/* Each pattern must be refused with EINVAL. */
static void check_refused(expand_fn *expand, const pattern_job *job, const char *const *bad,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char out[64];
        errno = 0;
        CU_ASSERT_EQUAL(expand(bad[i], job->v, job->array, out, sizeof out), -1);
        CU_ASSERT_EQUAL(errno, EINVAL);
    }
}

typedef struct fit_case {
    const char *pat;
    size_t len;
    int rc;
} fit_case;

/* Each pattern expanded into exactly 'len' bytes must give rc (-1 with
 * ENAMETOOLONG) and never write past 'len'. */
static void check_fits(expand_fn *expand, const pattern_job *job, const fit_case *fit, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char buf[16];
        memset(buf, 'Z', sizeof buf);
        errno = 0;
        int rc = expand(fit[i].pat, job->v, job->array, buf, fit[i].len);
        CU_ASSERT_EQUAL(rc, fit[i].rc);
        if (rc < 0)
            CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
        for (size_t k = fit[i].len; k < sizeof buf; k++)
            CU_ASSERT_EQUAL(buf[k], 'Z');
    }
}

static void test_pattern_expand(void)
{
    static const pattern_vars all = { 42, 3, 1, "node7", "train" };
    static const pattern_vars none = { 42, -1, -1, NULL, NULL };
    static const pattern_vars empty_name = { 9, 0, 0, "n", "" };
    static const pattern_job jobs[] = { { &all, NULL }, { &none, NULL }, { &empty_name, NULL } };
    static const pattern_case cases[] = {
        { "/out/%j-%t.log", 0, "/out/42-3.log" },
        { "%n %N %x %%", 0, "1 node7 train %" },
        { "%x-%j.%t.out", 0, "train-42.3.out" },
        { "plain", 0, "plain" },
        { "", 0, "" },
        { "%%j", 0, "%j" },
        { "%%%j", 0, "%42" },
        { "/o/%j-%t.log", 1, "/o/42-%t.log" },
        { "%n/%N", 1, "%n/%N" },
        { "%x", 1, "job" },
        { "%x/%t/%n", 2, "job/0/0" },
    };
    check_expands(expand_plain, jobs, cases, N_ELEMS(cases));
}

static void test_pattern_errors(void)
{
    static const pattern_vars v = { 42, 3, 1, "node7", "train" };
    static const pattern_job job = { &v, NULL };
    static const char *const bad[] = { "%q", "/out/%j-%q.log", "trailing%", "%J", "%" };
    check_refused(expand_plain, &job, bad, N_ELEMS(bad));

    /* exactly fitting vs one byte short */
    static const fit_case fit[] = {
        { "abc", 4, 0 },  { "abc", 3, -1 }, { "%j", 3, 0 },   { "%j", 2, -1 },
        { "%x", 6, 0 },   { "%x", 5, -1 },  { "", 1, 0 },     { "", 0, -1 },
        { "a%%", 3, 0 },  { "a%%", 2, -1 }, { "%N", 6, 0 },   { "%N", 5, -1 },
    };
    check_fits(expand_plain, &job, fit, N_ELEMS(fit));

    /* a long expansion of a long name */
    char name[300], out[64];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    const pattern_vars big = { 1, 0, 0, name, name };
    errno = 0;
    CU_ASSERT_EQUAL(pattern_expand("/logs/%x/%N.out", &big, out, sizeof out), -1);
    CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
    char large[1024];
    CU_ASSERT_EQUAL(pattern_expand("/logs/%x/%N.out", &big, large, sizeof large), 0);
    CU_ASSERT_EQUAL(strlen(large), strlen("/logs//.out") + 2 * strlen(name));
}

/* %A and %a: an array task's ids; for a job not in an array, as sbatch
 * gives them, the job id and 4294967294. */
static void test_pattern_array(void)
{
    static const pattern_vars v = { 107, 3, 1, "node7", "train" };
    static const pattern_vars unknown = { 107, -1, -1, NULL, NULL };
    static const pattern_array task7 = { 100, 7 };
    static const pattern_array task0 = { 100, 0 };
    static const pattern_job jobs[] = { { &v, &task7 }, { &v, &task0 }, { &v, NULL } };
    static const pattern_case cases[] = {
        { "%A_%a.out", 0, "100_7.out" },
        { "%A_%a.out", 1, "100_0.out" },
        { "%A_%a.out", 2, "107_4294967294.out" },
        { "%x-%A.%a/%j-%t", 0, "train-100.7/107-3" },
        { "%%a %%A", 0, "%a %A" },
    };
    check_expands(pattern_expand_array, jobs, cases, N_ELEMS(cases));
    /* pattern_expand is the same for a job not in an array */
    char out[64];
    CU_ASSERT_EQUAL(pattern_expand("%A.%a", &v, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "107.4294967294");
    /* unknown %t, %n and %N stay as written, width included */
    CU_ASSERT_EQUAL(pattern_expand_array("%3t/%2n/%4N/%3a", &unknown, &task7, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "%3t/%2n/%4N/007");
}

/* A width zero-pads numbers ("%3a" gives 007, as sbatch), is at most 10,
 * never truncates, and means nothing to %N, %x and %%. */
static void test_pattern_width(void)
{
    static const pattern_vars v = { 42, 3, 1, "node7", "train" };
    static const pattern_array task = { 40, 7 };
    static const pattern_job job = { &v, &task };
    static const pattern_case cases[] = {
        { "%3a", 0, "007" },
        { "%4j", 0, "0042" },
        { "%1j", 0, "42" },
        { "%0j", 0, "42" },
        { "%02t-%03n", 0, "03-001" },
        { "%5A_%3a", 0, "00040_007" },
        { "%10j", 0, "0000000042" },
        { "%12j", 0, "0000000042" },            /* clamped to 10 */
        { "%99999999999999999999j", 0, "0000000042" },
        { "%3N.%3x.%3%", 0, "node7.train.%" },
        { "%007a", 0, "0000007" },
    };
    check_expands(pattern_expand_array, &job, cases, N_ELEMS(cases));
    /* wider than the value: no truncation */
    const pattern_array big = { 40, 123456 };
    char out[64];
    CU_ASSERT_EQUAL(pattern_expand_array("%3a", &v, &big, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "123456");

    /* a width with no letter, or an unknown one, is refused */
    static const char *const bad[] = { "%3", "out.%12", "%3q", "%3J" };
    check_refused(pattern_expand_array, &job, bad, N_ELEMS(bad));
    /* the padding counts toward the length */
    static const fit_case fit[] = {
        { "%3a", 4, 0 }, { "%3a", 3, -1 }, { "%10j", 11, 0 }, { "%10j", 10, -1 },
        { "%3t", 4, 0 }, { "%3t", 3, -1 },
    };
    check_fits(pattern_expand_array, &job, fit, N_ELEMS(fit));
}

int suite_pattern(void)
{
    static const unit_test tests[] = {
        { "pattern expand", test_pattern_expand },
        { "pattern errors", test_pattern_errors },
        { "pattern array", test_pattern_array },
        { "pattern width", test_pattern_width },
        { NULL, NULL },
    };
    return unit_add("pattern", tests);
}
