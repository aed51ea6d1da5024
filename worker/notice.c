/* The spot-preemption notice: reading the metadata service's answers
 * (AWS's instance-action, GCP's preempted), without state. The thread that
 * polls the service is worker/notice_watch.c. */
#include "worker/notice.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define GCP_NOTICE_MS 30000

enum notice_style notice_style_of(const char *url)
{
    return strstr(url, "/computeMetadata/") ? NOTICE_GCP : NOTICE_AWS;
}

/* Exactly n decimal digits at s. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil): timegm without the TZ environment. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "2017-09-18T08:22:00Z" or "2017-09-18T08:22:00.250Z" to unix ms. */
static int parse_utc(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec;
    if (digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 || s[7] != '-' ||
        digits(s + 8, 2, &d) < 0 || (s[10] != 'T' && s[10] != 't') ||
        digits(s + 11, 2, &h) < 0 || s[13] != ':' || digits(s + 14, 2, &mi) < 0 ||
        s[16] != ':' || digits(s + 17, 2, &sec) < 0)
        return -1;
    const char *p = s + 19;
    int frac = 0;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (int scale = 100; isdigit((unsigned char)*p); p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    if ((*p != 'Z' && *p != 'z') || p[1] != '\0')
        return -1;
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
        h > 23 || mi > 59 || sec > 60)            /* 60: a leap second */
        return -1;
    *out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + frac;
    return 0;
}

/* A printable excerpt of an answer for an error message. */
static const char *excerpt(const char *body, char *buf, size_t len)
{
    size_t n = 0;
    for (; body[n] && n + 4 < len && n < 32; n++)
        buf[n] = isprint((unsigned char)body[n]) ? body[n] : '?';
    if (body[n] && n + 4 <= len) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static int parse_aws(long status, const char *body, const char *url, notice *out, char *err,
                     size_t errlen)
{
    if (status == 404)
        return 0;
    if (status != 200) {
        snprintf(err, errlen, "instance-action answered HTTP %ld", status);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "instance-action is not JSON: %s", jerr.text);
        return -1;
    }
    int rc = -1;
    const char *a = json_string_value(json_object_get(root, "action"));
    const char *t = json_string_value(json_object_get(root, "time"));
    int64_t deadline;
    if (!json_is_object(root))
        snprintf(err, errlen, "instance-action is not a JSON object");
    else if (!a)
        snprintf(err, errlen, "instance-action has no \"action\" string");
    else if (strcmp(a, "terminate") != 0 && strcmp(a, "stop") != 0 &&
             strcmp(a, "hibernate") != 0)
        snprintf(err, errlen, "instance-action has unknown action \"%.40s\"", a);
    else if (!t)
        snprintf(err, errlen, "instance-action has no \"time\" string");
    else if (parse_utc(t, &deadline) < 0)
        snprintf(err, errlen, "instance-action time \"%.40s\" is not a UTC RFC 3339 time", t);
    else {
        out->deadline_ms = deadline;
        snprintf(out->source, sizeof out->source, "AWS spot instance-action %s at %.40s (%s)",
                 a, t, url);
        rc = 1;
    }
    json_decref(root);
    return rc;
}

static int parse_gcp(long status, const char *body, int64_t now_ms, const char *url,
                     notice *out, char *err, size_t errlen)
{
    if (status != 200) {
        snprintf(err, errlen, "preempted answered HTTP %ld", status);
        return -1;
    }
    size_t len = strlen(body);
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
        len--;
    if (len == 5 && memcmp(body, "FALSE", 5) == 0)
        return 0;
    if (len == 4 && memcmp(body, "TRUE", 4) == 0) {
        out->deadline_ms = now_ms + GCP_NOTICE_MS;
        snprintf(out->source, sizeof out->source, "GCP instance preempted, %d s notice (%s)",
                 GCP_NOTICE_MS / 1000, url);
        return 1;
    }
    char ex[40];
    snprintf(err, errlen, "preempted answered \"%s\", not TRUE or FALSE",
             excerpt(body, ex, sizeof ex));
    return -1;
}

int notice_parse(enum notice_style style, long http_status, const char *body, int64_t now_ms,
                 const char *url, notice *out, char *err, size_t errlen)
{
    if (!body)
        body = "";
    return style == NOTICE_GCP ? parse_gcp(http_status, body, now_ms, url, out, err, errlen)
                               : parse_aws(http_status, body, url, out, err, errlen);
}
