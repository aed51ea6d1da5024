/* The thread that polls the metadata service until the first spot notice
 * (worker/notice_watch.h): its requests (IMDSv2 tokens, the GETs) and its
 * hand-over of the notice to the worker's event loop.
 *
 * The thread owns the curl handle, the IMDSv2 token and the warning
 * history; the lock guards only what the worker reads (the notice, the
 * eventfd) and the stop request, so a slow request never blocks the
 * worker's event loop. */
#include "worker/notice_watch.h"

#include "common/clock.h"
#include "common/log.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX (64 * 1024)
#define REQUEST_MAX_MS 2000
#define TOKEN_TTL_S 21600
/* Ask for a new token ten minutes before the old one runs out. */
#define TOKEN_RENEW_MS ((int64_t)(TOKEN_TTL_S - 600) * 1000)
#define TOKEN_MAX 1024
#define WARN_SLOTS 8
#define WARN_EVERY_MS 60000

enum token_state { TOKEN_NEED, TOKEN_HAVE, TOKEN_NONE /* IMDSv1 */ };

typedef struct answer {
    char data[BODY_MAX + 1];
    size_t len;
    bool over;
} answer;

struct notice_watch {
    char *url;
    char *token_url;                 /* AWS: scheme://host[:port]/latest/api/token */
    enum notice_style style;
    uint32_t poll_ms;
    long timeout_ms;
    int fd;                          /* eventfd */

    /* The thread's alone. */
    CURL *curl;
    answer ans;
    enum token_state token_state;
    char token[TOKEN_MAX];
    int64_t token_at;                /* monotonic ms */
    struct {
        char msg[512];
        int64_t at;                  /* monotonic ms; 0 for an empty slot */
    } warned[WARN_SLOTS];

    pthread_t thread;
    atomic_bool stopping;            /* read by curl's progress callback, unlocked */
    pthread_mutex_t lock;
    pthread_cond_t wake;             /* on CLOCK_MONOTONIC */
    bool found, taken;
    notice n;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Logs 'why' unless the same message was logged within the last minute
 * (or the watch is stopping: an aborted request is no failure). */
static void warn_limited(notice_watch *w, const char *why)
{
    if (atomic_load(&w->stopping))
        return;
    char msg[sizeof w->warned[0].msg];
    snprintf(msg, sizeof msg, "%s", why);
    int64_t now = clock_mono_ms();
    size_t slot = 0;
    for (size_t i = 0; i < WARN_SLOTS; i++) {
        if (w->warned[i].at && strcmp(w->warned[i].msg, msg) == 0) {
            if (now - w->warned[i].at < WARN_EVERY_MS)
                return;
            slot = i;
            break;
        }
        if (w->warned[i].at < w->warned[slot].at)
            slot = i;
    }
    memcpy(w->warned[slot].msg, msg, sizeof msg);
    w->warned[slot].at = now ? now : 1;
    log_warn("notice: %s", msg);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t len = size * n;
    if (len > BODY_MAX - a->len) {
        a->over = true;
        return 0;
    }
    memcpy(a->data + a->len, data, len);
    a->len += len;
    return len;
}

static size_t no_body(char *data, size_t size, size_t n, void *arg)
{
    (void)data, (void)size, (void)n, (void)arg;
    return 0;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return atomic_load(&((notice_watch *)arg)->stopping) ? 1 : 0;
}

/* One request (a GET, or an empty PUT); the answer lands in w->ans.
 * Returns the HTTP status, or -1 with the reason in 'err'. */
static long request(notice_watch *w, bool put, const char *url, struct curl_slist *headers,
                    char *err, size_t errlen)
{
    CURL *c = w->curl;
    curl_easy_reset(c);            /* keeps the open connection */
    w->ans.len = 0;
    w->ans.over = false;
    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    /* The metadata service is link-local: an http_proxy from the
     * environment would only be in the way. */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &w->ans);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
    if (put) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, no_body);
    }
    CURLcode rc = curl_easy_perform(c);
    w->ans.data[w->ans.len] = '\0';
    if (rc != CURLE_OK) {
        if (w->ans.over)
            snprintf(err, errlen, "%.160s: answer over %d KiB", url, BODY_MAX / 1024);
        else
            snprintf(err, errlen, "%.160s: %s", url, curl_easy_strerror(rc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* PUT /latest/api/token. Without a token (refused, malformed, or no
 * answer at all: a container behind one hop too many never sees the
 * answer) the GETs go without one, IMDSv1, until one answers 401. A token
 * that still has time left is kept when its renewal fails. */
static void fetch_token(notice_watch *w)
{
    char err[256];
    bool renewing = w->token_state == TOKEN_HAVE &&
                    clock_mono_ms() - w->token_at < (int64_t)(TOKEN_TTL_S - 60) * 1000;
    w->token_state = renewing ? TOKEN_HAVE : TOKEN_NONE;
    struct curl_slist *h =
        curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
    if (!h2) {
        curl_slist_free_all(h);
        warn_limited(w, "token: out of memory");
        return;
    }
    long status = request(w, true, w->token_url, h2, err, sizeof err);
    curl_slist_free_all(h2);
    if (status < 0) {
        warn_limited(w, err);
        return;
    }
    if (status != 200) {
        log_debug("notice: %s answered HTTP %ld; polling without a token (IMDSv1)",
                  w->token_url, status);
        return;
    }
    size_t len = w->ans.len;
    while (len > 0 && isspace((unsigned char)w->ans.data[len - 1]))
        len--;
    bool ok = len > 0 && len < sizeof w->token;
    for (size_t i = 0; ok && i < len; i++)
        ok = isgraph((unsigned char)w->ans.data[i]);
    if (!ok) {
        snprintf(err, sizeof err, "%.160s: malformed token (%zu bytes); polling without one",
                 w->token_url, w->ans.len);
        warn_limited(w, err);
        return;
    }
    memcpy(w->token, w->ans.data, len);
    w->token[len] = '\0';
    w->token_state = TOKEN_HAVE;
    w->token_at = clock_mono_ms();
}

/* One GET of the notice URL, with a fresh token if it needs one. */
static long get_notice(notice_watch *w, char *err, size_t errlen)
{
    if (w->style == NOTICE_GCP) {
        struct curl_slist *h = curl_slist_append(NULL, "Metadata-Flavor: Google");
        if (!h) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        long status = request(w, false, w->url, h, err, errlen);
        curl_slist_free_all(h);
        return status;
    }
    for (int attempt = 0;; attempt++) {
        if (w->token_state == TOKEN_NEED ||
            (w->token_state == TOKEN_HAVE && clock_mono_ms() - w->token_at >= TOKEN_RENEW_MS))
            fetch_token(w);
        if (atomic_load(&w->stopping)) {
            snprintf(err, errlen, "stopping");
            return -1;
        }
        struct curl_slist *h = NULL;
        if (w->token_state == TOKEN_HAVE) {
            char line[TOKEN_MAX + 32];
            snprintf(line, sizeof line, "X-aws-ec2-metadata-token: %s", w->token);
            if (!(h = curl_slist_append(NULL, line))) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        long status = request(w, false, w->url, h, err, errlen);
        curl_slist_free_all(h);
        if (status != 401 || attempt > 0)
            return status;
        w->token_state = TOKEN_NEED;     /* expired, or IMDSv2 is now required */
    }
}

/* Returns 1 with the notice in *n, 0 for none, -1 with the reason. */
static int poll_once(notice_watch *w, notice *n, char *err, size_t errlen)
{
    char why[256];
    long status = get_notice(w, err, errlen);
    if (status < 0)
        return -1;
    int rc = notice_parse(w->style, status, w->ans.data, clock_wall_ms(), w->url, n, why,
                          sizeof why);
    if (rc < 0)
        snprintf(err, errlen, "%.160s: %s", w->url, why);
    return rc;
}

/* Waits until the monotonic 'until_ms' or a stop request. */
static void nap(notice_watch *w, int64_t until_ms)
{
    struct timespec ts = { .tv_sec = until_ms / 1000, .tv_nsec = (until_ms % 1000) * 1000000 };
    pthread_mutex_lock(&w->lock);
    while (!atomic_load(&w->stopping) && clock_mono_ms() < until_ms)
        pthread_cond_timedwait(&w->wake, &w->lock, &ts);
    pthread_mutex_unlock(&w->lock);
}

static void *watch_main(void *arg)
{
    notice_watch *w = arg;
    int64_t next = clock_mono_ms();
    while (!atomic_load(&w->stopping)) {
        next += w->poll_ms;
        notice n;
        char err[512];
        int rc = poll_once(w, &n, err, sizeof err);
        if (atomic_load(&w->stopping))
            break;
        if (rc < 0) {
            warn_limited(w, err);
        } else if (rc == 1) {
            /* Under the lock, so that a take never drains before the write. */
            pthread_mutex_lock(&w->lock);
            w->n = n;
            w->found = true;
            uint64_t one = 1;
            if (write(w->fd, &one, sizeof one) < 0)
                log_err("notice: cannot signal the notice: eventfd write failed");
            pthread_mutex_unlock(&w->lock);
            break;
        }
        int64_t now = clock_mono_ms();
        if (next < now)
            next = now;                  /* a slow poll is not caught up on */
        nap(w, next);
    }
    return NULL;
}

/* "scheme://host[:port]" of an http(s) URL, followed by 'path'; NULL when
 * the URL is not http:// or https:// with a host. */
static char *same_host(const char *url, const char *path)
{
    size_t skip = strncasecmp(url, "http://", 7) == 0    ? 7
                  : strncasecmp(url, "https://", 8) == 0 ? 8
                                                         : 0;
    if (!skip)
        return NULL;
    size_t end = skip + strcspn(url + skip, "/?#");
    if (end == skip)
        return NULL;
    char *out = NULL;
    if (asprintf(&out, "%.*s%s", (int)end, url, path) < 0)
        return NULL;
    return out;
}

/* Frees a watch whose thread is not running (fd -1 and curl NULL when
 * not made yet). */
static void watch_free(notice_watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->curl)
        curl_easy_cleanup(w->curl);
    free(w->token_url);
    free(w->url);
    free(w);
}

/* A watch of 'url', its thread not started. Returns it, or NULL with the
 * reason in 'err'. */
static notice_watch *watch_new(const char *url, uint32_t poll_ms, char *err, size_t errlen)
{
    notice_watch *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->fd = -1;
    w->style = notice_style_of(url);
    w->poll_ms = poll_ms ? poll_ms : 1;
    w->timeout_ms = w->poll_ms < REQUEST_MAX_MS ? (long)w->poll_ms : REQUEST_MAX_MS;
    w->token_state = TOKEN_NEED;
    atomic_init(&w->stopping, false);
    w->url = strdup(url);
    w->token_url = same_host(url, "/latest/api/token");
    if (!w->url || !w->token_url) {
        snprintf(err, errlen, "out of memory");
        goto error;
    }
    if (!(w->curl = curl_easy_init())) {
        snprintf(err, errlen, "cannot create a libcurl handle");
        goto error;
    }
    if ((w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto error;
    }
    return w;
error:
    watch_free(w);
    return NULL;
}

notice_watch *notice_watch_start(const char *url, uint32_t poll_ms, char *err, size_t errlen)
{
    char *probe = same_host(url, "");
    if (!probe) {
        snprintf(err, errlen, "notice URL \"%.160s\" is not http:// or https:// with a host",
                 url);
        return NULL;
    }
    free(probe);
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "cannot initialize libcurl: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    notice_watch *w = watch_new(url, poll_ms, err, errlen);
    if (!w)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->lock, NULL);
    int rc = pthread_create(&w->thread, NULL, watch_main, w);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the notice thread: %s", strerror(rc));
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        watch_free(w);
        return NULL;
    }
    return w;
}

int notice_watch_fd(const notice_watch *w)
{
    return w->fd;
}

bool notice_watch_take(notice_watch *w, notice *out)
{
    pthread_mutex_lock(&w->lock);
    bool got = w->found && !w->taken;
    if (got) {
        *out = w->n;
        w->taken = true;
        uint64_t v;
        ssize_t r = read(w->fd, &v, sizeof v);
        (void)r;                         /* EAGAIN: already drained */
    }
    pthread_mutex_unlock(&w->lock);
    return got;
}

void notice_watch_stop(notice_watch **wp)
{
    notice_watch *w = wp ? *wp : NULL;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stopping, true);
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    watch_free(w);
    *wp = NULL;
}

