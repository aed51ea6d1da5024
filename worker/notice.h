/* The spot-preemption notice: a cloud's instance metadata service says, a
 * little ahead of time, that this machine is about to be taken away. The
 * worker polls it so that jobs can checkpoint before the node disappears.
 *
 * AWS (IMDSv2, falling back to IMDSv1) and GCP are spoken; which one follows
 * from the URL. notice_parse reads one answer and has no state; a
 * notice_watch is a thread that polls until the first notice, then makes a
 * file descriptor readable for the worker's event loop. */
#ifndef TERN_WORKER_NOTICE_H
#define TERN_WORKER_NOTICE_H

#include <stdbool.h>
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

typedef struct notice_watch notice_watch;

/* Starts a thread that polls 'url' every poll_ms (each request times out
 * after min(poll_ms, 2000) ms, redirects are not followed, no proxy is used,
 * answers over 64 KiB are refused). AWS style first asks for an IMDSv2
 * token (PUT /latest/api/token on the same host) and sends it with every
 * GET, asking for a new one when a GET answers 401 or the token is near its
 * six-hour end; when the PUT fails or answers anything but 200 it polls
 * without a token (IMDSv1) until a GET answers 401. GCP style sends
 * "Metadata-Flavor: Google".
 * The first notice is kept, makes notice_watch_fd() readable and ends the
 * polling. Failed polls are logged (log_warn, each distinct message at most
 * once a minute) and polling goes on. Returns NULL with the reason in 'err'
 * when the URL is not http:// or https:// or the thread cannot start. */
notice_watch *notice_watch_start(const char *url, uint32_t poll_ms, char *err, size_t errlen);

/* Readable once a notice is there, until notice_watch_take. CLOEXEC and
 * NONBLOCK; owned by the watch. */
int notice_watch_fd(const notice_watch *w);

/* Returns true, once, with the notice in *out (and drains the fd); false
 * when there is none yet or it was already taken. */
bool notice_watch_take(notice_watch *w, notice *out);

/* Stops the thread (within about one request timeout) and frees
 * everything; *w becomes NULL. Accepts NULL and *w NULL. */
void notice_watch_stop(notice_watch **w);

#endif
