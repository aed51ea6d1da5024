#include "common/parse.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(s, min, max, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int parse_i32(const char *s, int32_t min, int32_t max, int32_t *out)
{
    if (!s || !(isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '+') &&
                                                 isdigit((unsigned char)s[1]))))
        return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* Splits "a:b:c" into up to 3 numbers; returns how many, -1 if malformed. */
static int split_colons(const char *s, uint64_t v[3])
{
    int n = 0;
    const char *p = s;
    for (;;) {
        if (n == 3 || !isdigit((unsigned char)*p))
            return -1;
        char *end;
        errno = 0;
        v[n++] = strtoull(p, &end, 10);
        if (errno || v[n - 1] > 1000000000ull)
            return -1;
        if (*end == '\0')
            return n;
        if (*end != ':')
            return -1;
        p = end + 1;
    }
}

int parse_time_limit(const char *s, uint64_t *out_secs)
{
    if (!s || !*s)
        return -1;
    if (strcasecmp(s, "UNLIMITED") == 0 || strcasecmp(s, "INFINITE") == 0) {
        *out_secs = 0;
        return 0;
    }
    uint64_t days = 0, v[3] = { 0, 0, 0 }, secs;
    const char *rest = s;
    const char *dash = strchr(s, '-');
    if (dash) {
        char daybuf[16];
        size_t dl = (size_t)(dash - s);
        if (dl == 0 || dl >= sizeof daybuf)
            return -1;
        memcpy(daybuf, s, dl);
        daybuf[dl] = '\0';
        if (parse_u64(daybuf, 0, 100000, &days) < 0)
            return -1;
        rest = dash + 1;
    }
    int n = split_colons(rest, v);
    if (n < 0)
        return -1;
    if (dash) {          /* D-H, D-H:M, D-H:M:S */
        secs = v[0] * 3600 + (n > 1 ? v[1] * 60 : 0) + (n > 2 ? v[2] : 0);
        secs += days * 86400;
    } else if (n == 1) { /* M */
        secs = v[0] * 60;
    } else if (n == 2) { /* M:S */
        secs = v[0] * 60 + v[1];
    } else {             /* H:M:S */
        secs = v[0] * 3600 + v[1] * 60 + v[2];
    }
    *out_secs = secs;
    return 0;
}

static const struct { const char *name; int signo; } signals[] = {
    { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
    { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT },
    { "STOP", SIGSTOP }, { "ALRM", SIGALRM }, { "URG", SIGURG }, { "XCPU", SIGXCPU },
    { "PWR", SIGPWR }, { "WINCH", SIGWINCH },
};

int parse_signal(const char *s, int *out)
{
    if (!s || !*s)
        return -1;
    if (isdigit((unsigned char)s[0])) {
        uint32_t n;
        if (parse_u32(s, 1, 64, &n) < 0)
            return -1;
        *out = (int)n;
        return 0;
    }
    if (strncasecmp(s, "SIG", 3) == 0) {
        s += 3;
        if (isdigit((unsigned char)s[0]))   /* signal_name's "SIG40" */
            return parse_signal(s, out);
    }
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (strcasecmp(s, signals[i].name) == 0) {
            *out = signals[i].signo;
            return 0;
        }
    }
    return -1;
}

const char *signal_name(int signo)
{
    static const char *const full[] = {
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTERM",
        "SIGCONT", "SIGSTOP", "SIGALRM", "SIGURG", "SIGXCPU", "SIGPWR", "SIGWINCH",
    };
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (signals[i].signo == signo)
            return full[i];
    static _Thread_local char buf[16];
    snprintf(buf, sizeof buf, "SIG%d", signo);
    return buf;
}

void format_duration(uint64_t secs, char *buf, unsigned len)
{
    uint64_t d = secs / 86400, h = secs / 3600 % 24, m = secs / 60 % 60, s = secs % 60;
    if (d)
        snprintf(buf, len, "%llu-%02llu:%02llu:%02llu", (unsigned long long)d,
                 (unsigned long long)h, (unsigned long long)m, (unsigned long long)s);
    else if (h)
        snprintf(buf, len, "%llu:%02llu:%02llu", (unsigned long long)h,
                 (unsigned long long)m, (unsigned long long)s);
    else
        snprintf(buf, len, "%llu:%02llu", (unsigned long long)m, (unsigned long long)s);
}

bool text_printable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}
