/* common/parse: the values users type (counts, time limits, signals) and
 * the durations shown to them. */
#include "tests/unit/unit.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/parse.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Runs every case of 'cases' (fields s, rc, want) through 'call', an
 * expression of cases[i] that parses into 'out' (a T set to 'untouched'
 * first) and returns 0 or -1: it must return rc, and write 'want' on
 * success and nothing on failure. */
#define CHECK_PARSES(cases, T, untouched, name, call)                                           \
    for (size_t i = 0; i < N_ELEMS(cases); i++) {                                               \
        T out = (untouched);                                                                    \
        int rc = (call);                                                                        \
        bool right = out == (rc == 0 ? (T)cases[i].want : (T)(untouched));                      \
        if (rc != cases[i].rc || !right)                                                        \
            fprintf(stderr, "%s('%s') = %d%s\n", name, cases[i].s, rc,                          \
                    right ? "" : ", and a wrong value");                                        \
        CU_ASSERT_EQUAL(rc, cases[i].rc);                                                       \
        CU_ASSERT_EQUAL(out, cases[i].rc == 0 ? (T)cases[i].want : (T)(untouched));             \
    }

/* A string for a parser without a range: what it returns, what it writes. */
typedef struct parse_case {
    const char *s;
    int rc;
    int64_t want;
} parse_case;

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
    CHECK_PARSES(cases, uint32_t, 0xdeadbeef, "parse_u32",
                 parse_u32(cases[i].s, cases[i].min, cases[i].max, &out));
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
    CHECK_PARSES(cases, int32_t, 12345, "parse_i32",
                 parse_i32(cases[i].s, cases[i].min, cases[i].max, &out));
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
    CHECK_PARSES(cases, uint64_t, 777, "parse_u64",
                 parse_u64(cases[i].s, cases[i].min, cases[i].max, &out));
}

/* ---- time limits ----------------------------------------------------------- */

static void test_time_limit(void)
{
    static const parse_case cases[] = {
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
    CHECK_PARSES(cases, uint64_t, 424242, "parse_time_limit",
                 parse_time_limit(cases[i].s, &out));
    uint64_t out = 9;
    CU_ASSERT_EQUAL(parse_time_limit(NULL, &out), -1);
    CU_ASSERT_EQUAL(out, 9);
}

/* ---- signals ------------------------------------------------------------- */

static void test_parse_signal(void)
{
    static const parse_case cases[] = {
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
    CHECK_PARSES(cases, int, -77, "parse_signal", parse_signal(cases[i].s, &out));
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
        { NULL, NULL },
    };
    return unit_add("parse", tests);
}
