/* A notice_watch: a thread that polls a metadata service for a spot notice
 * (worker/notice.h) until the first one, then makes a file descriptor
 * readable for the worker's event loop. */
#ifndef TERN_WORKER_NOTICE_WATCH_H
#define TERN_WORKER_NOTICE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "worker/notice.h"

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
 * once a minute) and polling goes on. Returns the watch, which the caller
 * stops with notice_watch_stop, or NULL with the reason in 'err' when the
 * URL is not http:// or https:// or the thread cannot start. */
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
