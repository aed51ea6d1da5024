/* common/parse, common/pattern, common/jobstate, common/strmap: the small
 * pieces every program uses to read what users type and to keep names. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arrayspec.h"
#include "common/depend.h"
#include "common/hostlist.h"
#include "common/jobstate.h"
#include "common/parse.h"
#include "common/pattern.h"
#include "common/strmap.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- integers ------------------------------------------------------------ */

static void test_parse_u32(void)
{
    static const struct {
        const char *s;
        uint32_t min, max;
        int rc;
        uint32_t want;
    } cases[] = {
        { "0", 0, 10, 0, 0 },
        { "42", 1, 100, 0, 42 },
        { "100", 1, 100, 0, 100 },
        { "1", 1, 100, 0, 1 },
        { "4294967295", 0, UINT32_MAX, 0, UINT32_MAX },
        { "007", 0, 10, 0, 7 },
        { "101", 1, 100, -1, 0 },
        { "0", 1, 100, -1, 0 },
        { "4294967296", 0, UINT32_MAX, -1, 0 },
        { "99999999999999999999999", 0, UINT32_MAX, -1, 0 },
        { "-1", 0, 10, -1, 0 },
        { "+1", 0, 10, -1, 0 },
        { " 1", 0, 10, -1, 0 },
        { "1 ", 0, 10, -1, 0 },
        { "1x", 0, 10, -1, 0 },
        { "0x10", 0, 100, -1, 0 },
        { "1.5", 0, 10, -1, 0 },
        { "", 0, 10, -1, 0 },
        { "abc", 0, 10, -1, 0 },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        uint32_t out = 0xdeadbeef;
        int rc = parse_u32(cases[i].s, cases[i].min, cases[i].max, &out);
        if (rc != cases[i].rc)
            fprintf(stderr, "parse_u32('%s') = %d\n", cases[i].s, rc);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        /* nothing written on failure */
        CU_ASSERT_EQUAL(out, cases[i].rc == 0 ? cases[i].want : 0xdeadbeef);
    }
    uint32_t out = 5;
    CU_ASSERT_EQUAL(parse_u32(NULL, 0, 10, &out), -1);
    CU_ASSERT_EQUAL(out, 5);
}

static void test_parse_i32(void)
{
    static const struct {
        const char *s;
        int32_t min, max;
        int rc;
        int32_t want;
    } cases[] = {
        { "-5", -10, 10, 0, -5 },
        { "+7", -10, 10, 0, 7 },
        { "0", -10, 10, 0, 0 },
        { "-10", -10, 10, 0, -10 },
        { "2147483647", INT32_MIN, INT32_MAX, 0, INT32_MAX },
        { "-2147483648", INT32_MIN, INT32_MAX, 0, INT32_MIN },
        { "2147483648", INT32_MIN, INT32_MAX, -1, 0 },
        { "-2147483649", INT32_MIN, INT32_MAX, -1, 0 },
        { "-11", -10, 10, -1, 0 },
        { "11", -10, 10, -1, 0 },
        { "-", -10, 10, -1, 0 },
        { "+", -10, 10, -1, 0 },
        { "--1", -10, 10, -1, 0 },
        { "- 1", -10, 10, -1, 0 },
        { "1-", -10, 10, -1, 0 },
        { "", -10, 10, -1, 0 },
        { "five", -10, 10, -1, 0 },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        int32_t out = 12345;
        int rc = parse_i32(cases[i].s, cases[i].min, cases[i].max, &out);
        if (rc != cases[i].rc)
            fprintf(stderr, "parse_i32('%s') = %d\n", cases[i].s, rc);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_EQUAL(out, cases[i].rc == 0 ? cases[i].want : 12345);
    }
    int32_t out = 3;
    CU_ASSERT_EQUAL(parse_i32(NULL, -10, 10, &out), -1);
    CU_ASSERT_EQUAL(out, 3);
}

static void test_parse_u64(void)
{
    static const struct {
        const char *s;
        uint64_t min, max;
        int rc;
        uint64_t want;
    } cases[] = {
        { "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
        { "18446744073709551616", 0, UINT64_MAX, -1, 0 },
        { "4294967296", 0, UINT64_MAX, 0, 4294967296ull },
        { "10", 11, 20, -1, 0 },
        { "21", 11, 20, -1, 0 },
        { "15", 11, 20, 0, 15 },
        { "-1", 0, UINT64_MAX, -1, 0 },   /* strtoull would wrap it */
        { "1e3", 0, UINT64_MAX, -1, 0 },
        { "", 0, UINT64_MAX, -1, 0 },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        uint64_t out = 777;
        int rc = parse_u64(cases[i].s, cases[i].min, cases[i].max, &out);
        if (rc != cases[i].rc)
            fprintf(stderr, "parse_u64('%s') = %d\n", cases[i].s, rc);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_EQUAL(out, cases[i].rc == 0 ? cases[i].want : 777);
    }
}

/* ---- time limits ----------------------------------------------------------- */

static void test_time_limit(void)
{
    static const struct {
        const char *s;
        int rc;
        uint64_t secs;
    } cases[] = {
        { "5", 0, 5 * 60 },                                  /* M */
        { "90", 0, 90 * 60 },
        { "5:30", 0, 5 * 60 + 30 },                          /* M:S */
        { "0:45", 0, 45 },
        { "1:02:03", 0, 3600 + 2 * 60 + 3 },                 /* H:M:S */
        { "48:00:00", 0, 48 * 3600 },
        { "2-3", 0, 2 * 86400 + 3 * 3600 },                  /* D-H */
        { "2-3:04", 0, 2 * 86400 + 3 * 3600 + 4 * 60 },      /* D-H:M */
        { "2-3:04:05", 0, 2 * 86400 + 3 * 3600 + 4 * 60 + 5 }, /* D-H:M:S */
        { "0-0:0:1", 0, 1 },
        { "1-0", 0, 86400 },
        { "0", 0, 0 },
        { "UNLIMITED", 0, 0 },
        { "unlimited", 0, 0 },
        { "INFINITE", 0, 0 },
        { "1:2:3:4", -1, 0 },
        { "1-2:3:4:5", -1, 0 },
        { "-5", -1, 0 },
        { "", -1, 0 },
        { "abc", -1, 0 },
        { "1-", -1, 0 },
        { "-", -1, 0 },
        { "1-2-3", -1, 0 },
        { "1:", -1, 0 },
        { ":30", -1, 0 },
        { "1::2", -1, 0 },
        { "5m", -1, 0 },
        { " 5", -1, 0 },
        { "5 ", -1, 0 },
        { "1:-2", -1, 0 },
        { "x-1", -1, 0 },
        { "1-x", -1, 0 },
        { "99999999999-1", -1, 0 },
        { "UNLIMITEDX", -1, 0 },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        uint64_t out = 424242;
        int rc = parse_time_limit(cases[i].s, &out);
        if (rc != cases[i].rc || (rc == 0 && out != cases[i].secs))
            fprintf(stderr, "parse_time_limit('%s') = %d, %llu s\n", cases[i].s, rc,
                    (unsigned long long)out);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_EQUAL(out, cases[i].rc == 0 ? cases[i].secs : 424242);
    }
    uint64_t out = 9;
    CU_ASSERT_EQUAL(parse_time_limit(NULL, &out), -1);
    CU_ASSERT_EQUAL(out, 9);
}

/* ---- signals ------------------------------------------------------------- */

static void test_parse_signal(void)
{
    static const struct {
        const char *s;
        int rc;
        int signo;
    } cases[] = {
        { "USR1", 0, SIGUSR1 },
        { "SIGUSR1", 0, SIGUSR1 },
        { "usr2", 0, SIGUSR2 },
        { "SigUsr2", 0, SIGUSR2 },
        { "TERM", 0, SIGTERM },
        { "SIGTERM", 0, SIGTERM },
        { "sigint", 0, SIGINT },
        { "KILL", 0, SIGKILL },
        { "HUP", 0, SIGHUP },
        { "CONT", 0, SIGCONT },
        { "XCPU", 0, SIGXCPU },
        { "15", 0, 15 },
        { "10", 0, 10 },
        { "1", 0, 1 },
        { "64", 0, 64 },
        { "0", -1, 0 },
        { "65", -1, 0 },
        { "-1", -1, 0 },
        { "15x", -1, 0 },
        { "", -1, 0 },
        { "SIG", -1, 0 },
        { "SIGFOO", -1, 0 },
        { "FOO", -1, 0 },
        { "SIGSIGUSR1", -1, 0 },
        { "USR", -1, 0 },
        { "USR1 ", -1, 0 },
        { "SIG15", 0, 15 },        /* signal_name of an unnamed signal reads back */
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        int out = -77;
        int rc = parse_signal(cases[i].s, &out);
        if (rc != cases[i].rc)
            fprintf(stderr, "parse_signal('%s') = %d\n", cases[i].s, rc);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_EQUAL(out, cases[i].rc == 0 ? cases[i].signo : -77);
    }
    int out = -77;
    CU_ASSERT_EQUAL(parse_signal(NULL, &out), -1);
    CU_ASSERT_EQUAL(out, -77);
}

static void test_signal_name(void)
{
    static const struct {
        int signo;
        const char *name;
    } cases[] = {
        { SIGUSR1, "SIGUSR1" }, { SIGUSR2, "SIGUSR2" }, { SIGTERM, "SIGTERM" },
        { SIGKILL, "SIGKILL" }, { SIGINT, "SIGINT" },   { SIGHUP, "SIGHUP" },
        { SIGCONT, "SIGCONT" }, { SIGSTOP, "SIGSTOP" }, { SIGALRM, "SIGALRM" },
        { SIGURG, "SIGURG" },   { SIGXCPU, "SIGXCPU" }, { SIGPWR, "SIGPWR" },
        { SIGWINCH, "SIGWINCH" }, { SIGQUIT, "SIGQUIT" },
        { 40, "SIG40" },        { 0, "SIG0" },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        CU_ASSERT_STRING_EQUAL(signal_name(cases[i].signo), cases[i].name);
        /* and every named one parses back */
        if (cases[i].signo != 0 && cases[i].signo != 40) {
            int back = -1;
            CU_ASSERT_EQUAL(parse_signal(signal_name(cases[i].signo), &back), 0);
            CU_ASSERT_EQUAL(back, cases[i].signo);
        }
    }
}

static void test_format_duration(void)
{
    static const struct {
        uint64_t secs;
        const char *want;
    } cases[] = {
        { 0, "0:00" },
        { 5, "0:05" },
        { 59, "0:59" },
        { 60, "1:00" },
        { 61, "1:01" },
        { 3599, "59:59" },
        { 3600, "1:00:00" },
        { 3723, "1:02:03" },
        { 86399, "23:59:59" },
        { 86400, "1-00:00:00" },
        { 93784, "1-02:03:04" },
        { 12 * 86400 + 5, "12-00:00:05" },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char buf[32];
        memset(buf, 'X', sizeof buf);
        format_duration(cases[i].secs, buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
    }
    /* a short buffer truncates, never overruns */
    char small[8];
    memset(small, 'X', sizeof small);
    format_duration(93784, small, 4);
    CU_ASSERT_STRING_EQUAL(small, "1-0");
    CU_ASSERT_EQUAL(small[4], 'X');
}

/* ---- output patterns --------------------------------------------------------- */

static void test_pattern_expand(void)
{
    const pattern_vars all = { 42, 3, 1, "node7", "train" };
    const pattern_vars none = { 42, -1, -1, NULL, NULL };
    const pattern_vars empty_name = { 9, 0, 0, "n", "" };
    static const struct {
        const char *pat;
        int which;     /* 0 all, 1 none, 2 empty_name */
        const char *want;
    } cases[] = {
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
    const pattern_vars *vars[] = { &all, &none, &empty_name };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char out[128];
        int rc = pattern_expand(cases[i].pat, vars[cases[i].which], out, sizeof out);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0)
            CU_ASSERT_STRING_EQUAL(out, cases[i].want);
    }
}

static void test_pattern_errors(void)
{
    const pattern_vars v = { 42, 3, 1, "node7", "train" };
    char out[64];
    static const char *const bad[] = { "%q", "/out/%j-%q.log", "trailing%", "%J", "%" };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        errno = 0;
        CU_ASSERT_EQUAL(pattern_expand(bad[i], &v, out, sizeof out), -1);
        CU_ASSERT_EQUAL(errno, EINVAL);
    }

    /* exactly fitting vs one byte short */
    static const struct {
        const char *pat;
        size_t len;
        int rc;
    } fit[] = {
        { "abc", 4, 0 },  { "abc", 3, -1 }, { "%j", 3, 0 },   { "%j", 2, -1 },
        { "%x", 6, 0 },   { "%x", 5, -1 },  { "", 1, 0 },     { "", 0, -1 },
        { "a%%", 3, 0 },  { "a%%", 2, -1 }, { "%N", 6, 0 },   { "%N", 5, -1 },
    };
    for (size_t i = 0; i < N_ELEMS(fit); i++) {
        char buf[16];
        memset(buf, 'Z', sizeof buf);
        errno = 0;
        int rc = pattern_expand(fit[i].pat, &v, buf, fit[i].len);
        CU_ASSERT_EQUAL(rc, fit[i].rc);
        if (rc < 0)
            CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
        /* never writes past 'len' */
        for (size_t k = fit[i].len; k < sizeof buf; k++)
            CU_ASSERT_EQUAL(buf[k], 'Z');
    }

    /* a long expansion of a long name */
    char name[300];
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
    const pattern_vars v = { 107, 3, 1, "node7", "train" };
    const pattern_vars unknown = { 107, -1, -1, NULL, NULL };
    const pattern_array task7 = { 100, 7 };
    const pattern_array task0 = { 100, 0 };
    static const struct {
        const char *pat;
        int which;     /* 0 task7, 1 task0, 2 not an array task */
        const char *want;
    } cases[] = {
        { "%A_%a.out", 0, "100_7.out" },
        { "%A_%a.out", 1, "100_0.out" },
        { "%A_%a.out", 2, "107_4294967294.out" },
        { "%x-%A.%a/%j-%t", 0, "train-100.7/107-3" },
        { "%%a %%A", 0, "%a %A" },
    };
    const pattern_array *arrays[] = { &task7, &task0, NULL };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char out[128];
        int rc = pattern_expand_array(cases[i].pat, &v, arrays[cases[i].which], out, sizeof out);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0 && strcmp(out, cases[i].want) != 0)
            fprintf(stderr, "'%s' gives '%s', want '%s'\n", cases[i].pat, out, cases[i].want);
        if (rc == 0)
            CU_ASSERT_STRING_EQUAL(out, cases[i].want);
    }
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
    const pattern_vars v = { 42, 3, 1, "node7", "train" };
    const pattern_array task = { 40, 7 };
    static const struct {
        const char *pat;
        const char *want;
    } cases[] = {
        { "%3a", "007" },
        { "%4j", "0042" },
        { "%1j", "42" },
        { "%0j", "42" },
        { "%02t-%03n", "03-001" },
        { "%5A_%3a", "00040_007" },
        { "%10j", "0000000042" },
        { "%12j", "0000000042" },            /* clamped to 10 */
        { "%99999999999999999999j", "0000000042" },
        { "%3N.%3x.%3%", "node7.train.%" },
        { "%007a", "0000007" },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char out[64];
        int rc = pattern_expand_array(cases[i].pat, &v, &task, out, sizeof out);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0 && strcmp(out, cases[i].want) != 0)
            fprintf(stderr, "'%s' gives '%s', want '%s'\n", cases[i].pat, out, cases[i].want);
        if (rc == 0)
            CU_ASSERT_STRING_EQUAL(out, cases[i].want);
    }
    /* wider than the value: no truncation */
    const pattern_array big = { 40, 123456 };
    char out[64];
    CU_ASSERT_EQUAL(pattern_expand_array("%3a", &v, &big, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "123456");

    /* a width with no letter, or an unknown one, is refused */
    static const char *const bad[] = { "%3", "out.%12", "%3q", "%3J" };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        errno = 0;
        CU_ASSERT_EQUAL(pattern_expand_array(bad[i], &v, &task, out, sizeof out), -1);
        CU_ASSERT_EQUAL(errno, EINVAL);
    }
    /* the padding counts toward the length */
    static const struct {
        const char *pat;
        size_t len;
        int rc;
    } fit[] = {
        { "%3a", 4, 0 }, { "%3a", 3, -1 }, { "%10j", 11, 0 }, { "%10j", 10, -1 },
        { "%3t", 4, 0 }, { "%3t", 3, -1 },
    };
    for (size_t i = 0; i < N_ELEMS(fit); i++) {
        char buf[16];
        memset(buf, 'Z', sizeof buf);
        errno = 0;
        int rc = pattern_expand_array(fit[i].pat, &v, &task, buf, fit[i].len);
        CU_ASSERT_EQUAL(rc, fit[i].rc);
        if (rc < 0)
            CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
        for (size_t k = fit[i].len; k < sizeof buf; k++)
            CU_ASSERT_EQUAL(buf[k], 'Z');
    }
}

/* ---- job states ------------------------------------------------------------- */

static void test_jobstate(void)
{
    static const struct {
        enum job_state s;
        const char *code, *name;
        bool final;
    } states[] = {
        { JOB_PENDING, "PD", "PENDING", false },
        { JOB_RUNNING, "R", "RUNNING", false },
        { JOB_COMPLETING, "CG", "COMPLETING", false },
        { JOB_COMPLETED, "CD", "COMPLETED", true },
        { JOB_FAILED, "F", "FAILED", true },
        { JOB_CANCELLED, "CA", "CANCELLED", true },
        { JOB_TIMEOUT, "TO", "TIMEOUT", true },
        { JOB_PREEMPTED, "PR", "PREEMPTED", false },
        { JOB_NODE_FAIL, "NF", "NODE_FAIL", true },
    };
    CU_ASSERT_EQUAL(N_ELEMS(states), JOB_STATE_COUNT);
    for (size_t i = 0; i < N_ELEMS(states); i++) {
        CU_ASSERT_STRING_EQUAL(job_state_code(states[i].s), states[i].code);
        CU_ASSERT_STRING_EQUAL(job_state_name(states[i].s), states[i].name);
        CU_ASSERT_EQUAL(job_state_final(states[i].s), states[i].final);
        enum job_state back = JOB_STATE_COUNT;
        CU_ASSERT_EQUAL(job_state_parse(states[i].code, &back), 0);
        CU_ASSERT_EQUAL(back, states[i].s);
        back = JOB_STATE_COUNT;
        CU_ASSERT_EQUAL(job_state_parse(states[i].name, &back), 0);
        CU_ASSERT_EQUAL(back, states[i].s);
    }
    CU_ASSERT_STRING_EQUAL(job_state_code(JOB_STATE_COUNT), "?");
    CU_ASSERT_STRING_EQUAL(job_state_code((enum job_state)-1), "?");
    CU_ASSERT_STRING_EQUAL(job_state_name(JOB_STATE_COUNT), "UNKNOWN");
    CU_ASSERT_FALSE(job_state_final(JOB_STATE_COUNT));

    static const char *const bad[] = { "", "X", "pd", "Running", "PENDINGX", "P", "?" };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        enum job_state out = JOB_TIMEOUT;
        CU_ASSERT_EQUAL(job_state_parse(bad[i], &out), -1);
        CU_ASSERT_EQUAL(out, JOB_TIMEOUT);
    }
}

/* ---- string map ------------------------------------------------------------- */

static void test_strmap_basic(void)
{
    strmap *m = strmap_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int a = 1, b = 2, c = 3;
    CU_ASSERT_EQUAL(strmap_count(m), 0);
    CU_ASSERT_PTR_NULL(strmap_get(m, "a"));

    char key[8] = "alpha";
    CU_ASSERT_EQUAL(strmap_put(m, key, &a), 0);
    strcpy(key, "XXXXX");                /* the map copied the key */
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "alpha"), &a);
    CU_ASSERT_PTR_NULL(strmap_get(m, "XXXXX"));
    CU_ASSERT_EQUAL(strmap_put(m, "beta", &b), 0);
    CU_ASSERT_EQUAL(strmap_put(m, "", &c), 0);       /* the empty key is a key */
    CU_ASSERT_EQUAL(strmap_count(m), 3);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, ""), &c);
    CU_ASSERT_PTR_NULL(strmap_get(m, "alph"));
    CU_ASSERT_PTR_NULL(strmap_get(m, "alphax"));

    /* replace keeps the count */
    CU_ASSERT_EQUAL(strmap_put(m, "alpha", &c), 0);
    CU_ASSERT_EQUAL(strmap_count(m), 3);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "alpha"), &c);

    /* delete */
    strmap_del(m, "alpha");
    CU_ASSERT_EQUAL(strmap_count(m), 2);
    CU_ASSERT_PTR_NULL(strmap_get(m, "alpha"));
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "beta"), &b);
    strmap_del(m, "alpha");              /* twice: nothing */
    strmap_del(m, "never");
    CU_ASSERT_EQUAL(strmap_count(m), 2);

    /* back again after a delete */
    CU_ASSERT_EQUAL(strmap_put(m, "alpha", &a), 0);
    CU_ASSERT_EQUAL(strmap_count(m), 3);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "alpha"), &a);

    /* a NULL value is stored, and reads like a missing key */
    CU_ASSERT_EQUAL(strmap_put(m, "nil", NULL), 0);
    CU_ASSERT_EQUAL(strmap_count(m), 4);
    CU_ASSERT_PTR_NULL(strmap_get(m, "nil"));

    strmap_destroy(&m);
    CU_ASSERT_PTR_NULL(m);
    strmap_destroy(&m);
    strmap_destroy(NULL);
}

#define MANY 12000

static void test_strmap_growth(void)
{
    strmap *m = strmap_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    static int vals[MANY];
    char key[32];
    int failed = 0;
    for (int i = 0; i < MANY; i++) {
        vals[i] = i;
        snprintf(key, sizeof key, "job-%d", i);
        failed += strmap_put(m, key, &vals[i]) < 0;
    }
    CU_ASSERT_EQUAL_FATAL(failed, 0);
    CU_ASSERT_EQUAL(strmap_count(m), MANY);
    int wrong = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(key, sizeof key, "job-%d", i);
        if (strmap_get(m, key) != &vals[i])
            wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_PTR_NULL(strmap_get(m, "job-12000"));
    CU_ASSERT_PTR_NULL(strmap_get(m, "job-"));

    /* Delete the even keys; the odd ones, whose probe chains may now run over
     * tombstones, must still be found and replaced in place, not duplicated. */
    for (int i = 0; i < MANY; i += 2) {
        snprintf(key, sizeof key, "job-%d", i);
        strmap_del(m, key);
    }
    CU_ASSERT_EQUAL(strmap_count(m), MANY / 2);
    for (int i = 1; i < MANY; i += 2) {
        snprintf(key, sizeof key, "job-%d", i);
        failed += strmap_put(m, key, &vals[i - 1]) < 0;
    }
    CU_ASSERT_EQUAL_FATAL(failed, 0);
    CU_ASSERT_EQUAL(strmap_count(m), MANY / 2);
    wrong = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(key, sizeof key, "job-%d", i);
        void *want = i % 2 ? &vals[i - 1] : NULL;
        if (strmap_get(m, key) != want)
            wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    for (int i = 1; i < MANY; i += 2) {
        snprintf(key, sizeof key, "job-%d", i);
        strmap_del(m, key);
    }
    CU_ASSERT_EQUAL(strmap_count(m), 0);
    strmap_destroy(&m);
}

/* Put/delete churn with ever-new keys leaves only tombstones behind. Unless
 * they are reused or swept, the table fills up and a lookup of a missing
 * key never meets an empty slot (it would spin forever). */
static void test_strmap_tombstones(void)
{
    strmap *m = strmap_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int v = 1, keep = 2;
    CU_ASSERT_EQUAL(strmap_put(m, "keeper", &keep), 0);
    char key[32];
    for (int i = 0; i < 200000; i++) {
        snprintf(key, sizeof key, "churn-%d", i);
        if (strmap_put(m, key, &v) < 0) {
            CU_FAIL("strmap_put failed during churn");
            break;
        }
        strmap_del(m, key);
    }
    CU_ASSERT_EQUAL(strmap_count(m), 1);
    CU_ASSERT_PTR_NULL(strmap_get(m, "churn-5"));
    CU_ASSERT_PTR_NULL(strmap_get(m, "not-there"));
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "keeper"), &keep);

    /* the same key over and over reuses its own tombstone */
    int failed = 0;
    for (int i = 0; i < 100000; i++) {
        failed += strmap_put(m, "again", &v) < 0;
        strmap_del(m, "again");
    }
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT_EQUAL(strmap_count(m), 1);
    CU_ASSERT_PTR_NULL(strmap_get(m, "again"));
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "keeper"), &keep);
    strmap_destroy(&m);
}


/* sbatch --array forms: ranges, lists, steps, %N; bad ones say why. */
static void test_arrayspec(void)
{
    static const struct {
        const char *in;
        uint32_t count, first, last, limit;
    } good[] = {
        { "0-99", 100, 0, 99, 0 }, { "0-99%10", 100, 0, 99, 10 }, { "1,3,5", 3, 1, 5, 0 },
        { "0-15:4", 4, 0, 12, 0 }, { "7", 1, 7, 7, 0 }, { "5,1-3,2%1", 4, 1, 5, 1 },
        { "0-99999", 100000, 0, 99999, 0 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        arrayspec a;
        char err[256] = "";
        CU_ASSERT_EQUAL_FATAL(arrayspec_parse(good[i].in, &a, err, sizeof err), 0);
        CU_ASSERT_EQUAL(a.count, good[i].count);
        CU_ASSERT_EQUAL(a.ids[0], good[i].first);
        CU_ASSERT_EQUAL(a.ids[a.count - 1], good[i].last);
        CU_ASSERT_EQUAL(a.limit, good[i].limit);
        for (uint32_t k = 1; k < a.count; k++)
            CU_ASSERT_TRUE(a.ids[k - 1] < a.ids[k]);
        arrayspec_free(&a);
    }
    static const struct {
        const char *in, *want;
    } bad[] = {
        { "5-2", "must go up" }, { "", "no task ids" }, { "%4", "no task ids" },
        { "0-9%0", "N >= 1" }, { "0-9%x", "N >= 1" }, { "a", "expected a task id" },
        { "1-", "must go up" }, { "0-8:0", "step >= 1" }, { "1;2", "unexpected ';'" },
        { "0-100000", "more than 100000 tasks" }, { "99999999", "expected a task id" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arrayspec a;
        char err[256] = "";
        CU_ASSERT_EQUAL(arrayspec_parse(bad[i].in, &a, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fprintf(stderr, "array '%s': '%s' lacks '%s'\n", bad[i].in, err, bad[i].want);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
        CU_ASSERT_PTR_NULL(a.ids);
    }
}

/* sbatch --dependency forms. */
static void test_depend(void)
{
    depend d[DEPEND_MAX];
    char err[256];
    CU_ASSERT_EQUAL(depend_parse("", d, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(depend_parse("afterok:12:13,afterany:14,after:1,afternotok:2", d, err,
                                       sizeof err), 5);
    CU_ASSERT_EQUAL(d[0].type, DEP_AFTEROK);
    CU_ASSERT_EQUAL(d[0].job_id, 12);
    CU_ASSERT_EQUAL(d[1].type, DEP_AFTEROK);
    CU_ASSERT_EQUAL(d[1].job_id, 13);
    CU_ASSERT_EQUAL(d[2].type, DEP_AFTERANY);
    CU_ASSERT_EQUAL(d[3].type, DEP_AFTER);
    CU_ASSERT_EQUAL(d[4].type, DEP_AFTERNOTOK);
    CU_ASSERT_STRING_EQUAL(depend_type_name(d[4].type), "afternotok");
    static const struct {
        const char *in, *want;
    } bad[] = {
        { "before:1", "unknown type 'before'" }, { "afterok", "names no job" },
        { "afterok:x", "'x' is not a job id" }, { "afterok:0", "'0' is not a job id" },
        { "afterok:-1", "not a job id" }, { "singleton", "unknown type" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(depend_parse(bad[i].in, d, err, sizeof err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
    }
    char many[2048] = "afterok";
    for (int i = 1; i <= DEPEND_MAX + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), ":%d", i);
    CU_ASSERT_EQUAL(depend_parse(many, d, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "more than 64 jobs"));
}


/* SLURM hostlist expressions, as scontrol show hostnames expands them. */
static void test_hostlist(void)
{
    static const struct {
        const char *in, *want;
    } good[] = {
        { "node1", "node1" }, { "node1,node2", "node1 node2" },
        { "node[1-3]", "node1 node2 node3" }, { "gpu[07-09],x", "gpu07 gpu08 gpu09 x" },
        { "n[1,3-4]-ib", "n1-ib n3-ib n4-ib" }, { "", "" },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t n;
        char err[256] = "", got[256] = "";
        char **v = hostlist_expand(good[i].in, &n, err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        for (size_t k = 0; k < n; k++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? " " : "", v[k]);
        CU_ASSERT_STRING_EQUAL(got, good[i].want);
        CU_ASSERT_PTR_NULL(v[n]);
        hostlist_free(v);
    }
    static const char *const bad[] = {
        "node[1-", "node[3-1]", "node[a]", "n[1]x[2]", "n[1-99999999]", "a,,b",
        /* numbers strtoul saturates (expanded forever before), or too wide */
        "n[18446744073709551615]", "n[99999999999999999999]", "n[1-99999999999999999999]",
        "n[0000000000000000001]", "n[1-+5]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n;
        char err[256] = "";
        CU_ASSERT_PTR_NULL(hostlist_expand(bad[i], &n, err, sizeof err));
        CU_ASSERT_TRUE(err[0] != '\0');
    }
}

int suite_parse(void)
{
    static const unit_test tests[] = {
        { "parse_u32", test_parse_u32 },
        { "parse_i32", test_parse_i32 },
        { "parse_u64", test_parse_u64 },
        { "time limit", test_time_limit },
        { "parse_signal", test_parse_signal },
        { "signal_name", test_signal_name },
        { "format_duration", test_format_duration },
        { "pattern expand", test_pattern_expand },
        { "pattern errors", test_pattern_errors },
        { "pattern array", test_pattern_array },
        { "pattern width", test_pattern_width },
        { "arrayspec", test_arrayspec },
        { "depend", test_depend },
        { "hostlist", test_hostlist },
        { "jobstate", test_jobstate },
        { "strmap basic", test_strmap_basic },
        { "strmap growth", test_strmap_growth },
        { "strmap tombstones", test_strmap_tombstones },
        { NULL, NULL },
    };
    return unit_add("parse", tests);
}
