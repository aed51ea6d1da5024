/* The spot-preemption notice: a cloud's instance metadata service says, a
 * little ahead of time, that this machine is about to be taken away. The
 * worker polls it (worker/notice_watch.h) so that jobs can checkpoint
 * before the node disappears.
 *
 * AWS (IMDSv2, falling back to IMDSv1) and GCP are spoken; which one follows
 * from the URL. notice_parse reads one answer and has no state. */
#ifndef TERN_WORKER_NOTICE_H
#define TERN_WORKER_NOTICE_H

#include <stddef.h>
#include <stdint.h>

typedef struct notice {
    int64_t deadline_ms;      /* unix time in ms when the machine goes away */
    char source[160];         /* one line for logs: what said so, and where */
} notice;

/* Which metadata dialect a URL speaks: paths containing "/computeMetadata/"
 * are GCP, anything else AWS. */
enum notice_style { NOTICE_AWS, NOTICE_GCP };
enum notice_style notice_style_of(const char *url);

/* Reads one answer of the metadata service at 'url' (named in out->source).
 * AWS (/latest/meta-data/spot/instance-action): 404 is no notice; 200 carries
 * {"action": "terminate"|"stop"|"hibernate", "time": "2017-09-18T08:22:00Z"},
 * a UTC RFC 3339 time (fractional seconds allowed) that is the deadline.
 * GCP (/computeMetadata/v1/instance/preempted): 200 with "TRUE" or "FALSE",
 * maybe followed by a newline; TRUE means 30 s from now_ms.
 * Returns 1 with *out filled when there is a notice, 0 when there is none,
 * -1 with a one-line reason in 'err' when the answer is malformed or has
 * another HTTP status (*out untouched then). */
int notice_parse(enum notice_style style, long http_status, const char *body, int64_t now_ms,
                 const char *url, notice *out, char *err, size_t errlen);

#endif
