/* The spot-preemption notice: every kind of metadata answer read (AWS
 * instance-action, GCP preempted), and the watch polling a metadata service
 * played by a small HTTP server on loopback: IMDSv2 tokens fetched, sent and
 * refreshed, IMDSv1 when tokens are refused, GCP's header, the notice
 * delivered through the fd exactly once, failures logged once, and a stop
 * that does not wait for a hung request. */
#include "tests/unit/unit.h"

#include "common/clock.h"
#include "common/netaddr.h"
#include "worker/notice.h"
#include "worker/notice_watch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- notice_parse ------------------------------------------------------- */

typedef struct parse_case {
    enum notice_style style;
    long status;
    const char *body;
    int want;                 /* notice_parse's return */
    int64_t deadline_ms;      /* AWS, want 1 */
} parse_case;

static void parse_table(void)
{
    static const parse_case cases[] = {
        { NOTICE_AWS, 200, "{\"action\": \"terminate\", \"time\": \"2017-09-18T08:22:00Z\"}", 1,
          1505722920000 },
        { NOTICE_AWS, 200, "{\"action\":\"stop\",\"time\":\"2024-02-29T23:59:59Z\"}\n", 1,
          1709251199000 },
        { NOTICE_AWS, 200, "{\"time\":\"2100-03-01T12:00:00.25Z\",\"action\":\"hibernate\"}", 1,
          4107585600250 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"1970-01-01T00:00:00Z\"}", 1, 0 },
        { NOTICE_AWS, 404, "<html>Not Found</html>", 0, 0 },
        { NOTICE_AWS, 404, "", 0, 0 },
        { NOTICE_AWS, 404, NULL, 0, 0 },
        { NOTICE_AWS, 200, "", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\": \"terminate\", \"time\": ", -1, 0 },
        { NOTICE_AWS, 200, "terminate 2017-09-18T08:22:00Z", -1, 0 },
        { NOTICE_AWS, 200, "[\"terminate\", \"2017-09-18T08:22:00Z\"]", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"time\":\"2017-09-18T08:22:00Z\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":1505722920}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"2017-13-01T00:00:00Z\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"2023-02-29T00:00:00Z\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"2017-09-18T24:00:00Z\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"2017-09-18 08:22:00\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"2017-09-18T08:22:00\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"2017-09-18T08:22:00Zx\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"2017-9-18T08:22:00Z\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"2017-09-18T08:22:00.Z\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"1969-12-31T23:59:59Z\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"terminate\",\"time\":\"\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"reboot\",\"time\":\"2017-09-18T08:22:00Z\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":\"Terminate\",\"time\":\"2017-09-18T08:22:00Z\"}", -1, 0 },
        { NOTICE_AWS, 200, "{\"action\":7,\"time\":\"2017-09-18T08:22:00Z\"}", -1, 0 },
        { NOTICE_AWS, 500, "{\"action\":\"stop\",\"time\":\"2017-09-18T08:22:00Z\"}", -1, 0 },
        { NOTICE_GCP, 200, "TRUE", 1, 0 },
        { NOTICE_GCP, 200, "TRUE\n", 1, 0 },
        { NOTICE_GCP, 200, "TRUE\r\n", 1, 0 },
        { NOTICE_GCP, 200, "FALSE", 0, 0 },
        { NOTICE_GCP, 200, "FALSE\n", 0, 0 },
        { NOTICE_GCP, 200, "true", -1, 0 },
        { NOTICE_GCP, 200, "TRUE\nFALSE", -1, 0 },
        { NOTICE_GCP, 200, " TRUE", -1, 0 },
        { NOTICE_GCP, 200, "", -1, 0 },
        { NOTICE_GCP, 200, NULL, -1, 0 },
        { NOTICE_GCP, 200, "<html>\x01\x02 garbage and a long tail of it, more than fits</html>",
          -1, 0 },
        { NOTICE_GCP, 403, "TRUE", -1, 0 },
    };
    const int64_t now = 1800000000123;
    const char *url = "http://169.254.169.254/latest/meta-data/spot/instance-action";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const parse_case *c = &cases[i];
        notice n = { .deadline_ms = -7, .source = "untouched" };
        char err[256] = "";
        int rc = notice_parse(c->style, c->status, c->body, now, url, &n, err, sizeof err);
        if (rc != c->want)
            fprintf(stderr, "\ncase %zu (%s): got %d, want %d (%s)\n", i, c->body, rc, c->want,
                    err);
        CU_ASSERT_EQUAL(rc, c->want);
        if (c->want == 1) {
            int64_t want = c->style == NOTICE_GCP ? now + 30000 : c->deadline_ms;
            CU_ASSERT_EQUAL(n.deadline_ms, want);
            CU_ASSERT_PTR_NOT_NULL(strstr(n.source, url));
            CU_ASSERT_PTR_NOT_NULL(strstr(n.source, c->style == NOTICE_GCP ? "GCP" : "AWS"));
        } else {
            CU_ASSERT_EQUAL(n.deadline_ms, -7);
            CU_ASSERT_STRING_EQUAL(n.source, "untouched");
        }
        if (c->want == -1) {
            CU_ASSERT(err[0] != '\0' && !strchr(err, '\n'));
        }
    }
    notice n;
    char err[256];
    CU_ASSERT_EQUAL(notice_parse(NOTICE_AWS, 200,
                                 "{\"action\":\"stop\",\"time\":\"2017-09-18T08:22:00Z\"}", now,
                                 url, &n, err, sizeof err), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(n.source, "AWS spot instance-action stop at 2017-09-18T08:22:00Z"));
    CU_ASSERT_EQUAL(notice_parse(NOTICE_AWS, 200, "{\"action\":\"reboot\",\"time\":\"x\"}", now,
                                 url, &n, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "reboot"));
}

static void style_of(void)
{
    CU_ASSERT_EQUAL(notice_style_of("http://169.254.169.254/latest/meta-data/spot/instance-action"),
                    NOTICE_AWS);
    CU_ASSERT_EQUAL(notice_style_of("http://metadata.google.internal/computeMetadata/v1/instance/"
                                    "preempted"), NOTICE_GCP);
    CU_ASSERT_EQUAL(notice_style_of("http://127.0.0.1:8080/x"), NOTICE_AWS);
}

/* ---- a metadata service on loopback ------------------------------------- */

typedef struct fake_imds {
    /* How it answers, set before fake_start. */
    bool gcp;
    int quiet_gets;           /* GETs answered "no notice" before the notice */
    int bad_tokens;           /* AWS: the first tokens issued are refused with 401 */
    bool v1_only;             /* AWS: the token PUT answers 403; else GETs need a token */
    bool hang;                /* read requests, never answer */
    /* What it saw; read after fake_stop. */
    int puts, puts_ttl, gets, gets_token, other;
    int answered;             /* GETs answered with "no notice" or the notice */
    char first_token_seen[64];

    int lsock, port;
    pthread_t thread;
    atomic_bool stop;
} fake_imds;

/* The value of header 'name' in the request head 'req', or NULL. */
static const char *header(const char *req, const char *name, char *buf, size_t len)
{
    char key[96];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *p = strcasestr(req, key);
    if (!p)
        return NULL;
    p += strlen(key);
    p += strspn(p, " \t");
    size_t n = strcspn(p, "\r\n");
    snprintf(buf, len, "%.*s", (int)n, p);
    return buf;
}

static void answer(int c, int status, const char *body)
{
    char out[1024];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, status == 200 ? "OK" : "Not OK", strlen(body), body);
    if (n > 0 && send(c, out, (size_t)n, MSG_NOSIGNAL) < 0)
        perror("fake imds: send");
}

/* One request per connection: reads its head (2 s at most), answers, closes. */
static void serve_one(fake_imds *f, int c)
{
    char req[8192];
    size_t len = 0;
    int64_t until = clock_mono_ms() + 2000;
    req[0] = '\0';
    while (!strstr(req, "\r\n\r\n")) {
        struct pollfd p = { c, POLLIN, 0 };
        if (atomic_load(&f->stop) || clock_mono_ms() > until || len + 1 >= sizeof req ||
            poll(&p, 1, 50) < 0)
            return;
        if (!(p.revents & POLLIN))
            continue;
        ssize_t n = recv(c, req + len, sizeof req - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        req[len] = '\0';
    }
    if (f->hang) {
        while (!atomic_load(&f->stop))
            poll(NULL, 0, 20);
        return;
    }
    char method[16], path[256], val[128];
    if (sscanf(req, "%15s %255s", method, path) != 2) {
        answer(c, 400, "");
        return;
    }
    bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0;
    if (!f->gcp && put && strcmp(path, "/latest/api/token") == 0) {
        f->puts++;
        const char *ttl = header(req, "X-aws-ec2-metadata-token-ttl-seconds", val, sizeof val);
        f->puts_ttl += ttl && strcmp(ttl, "21600") == 0;
        if (f->v1_only) {
            answer(c, 403, "");
            return;
        }
        char tok[32];
        snprintf(tok, sizeof tok, "tok-%d\n", f->puts);
        answer(c, 200, tok);
    } else if (!f->gcp && get && strcmp(path, "/latest/meta-data/spot/instance-action") == 0) {
        f->gets++;
        const char *tok = header(req, "X-aws-ec2-metadata-token", val, sizeof val);
        if (tok) {
            f->gets_token++;
            if (!f->first_token_seen[0])
                snprintf(f->first_token_seen, sizeof f->first_token_seen, "%s", tok);
            if (atoi(tok + (strncmp(tok, "tok-", 4) == 0 ? 4 : 0)) <= f->bad_tokens) {
                answer(c, 401, "");
                return;
            }
        } else if (!f->v1_only) {
            answer(c, 401, "");
            return;
        }
        f->answered++;
        if (f->quiet_gets-- > 0)
            answer(c, 404, "<html>Not Found</html>");
        else
            answer(c, 200, "{\"action\": \"terminate\", \"time\": \"2030-01-02T03:04:05Z\"}");
    } else if (f->gcp && get && strcmp(path, "/computeMetadata/v1/instance/preempted") == 0) {
        f->gets++;
        const char *fl = header(req, "Metadata-Flavor", val, sizeof val);
        if (!fl || strcmp(fl, "Google") != 0) {
            answer(c, 403, "Missing Metadata-Flavor:Google header.");
            return;
        }
        f->answered++;
        answer(c, 200, f->quiet_gets-- > 0 ? "FALSE" : "TRUE\n");
    } else {
        f->other++;
        answer(c, 404, "");
    }
}

static void *fake_main(void *arg)
{
    fake_imds *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = { f->lsock, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept4(f->lsock, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        serve_one(f, c);
        close(c);
    }
    return NULL;
}

static int fake_start(fake_imds *f)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    atomic_init(&f->stop, false);
    f->lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->lsock < 0)
        return -1;
    if (bind(f->lsock, (struct sockaddr *)&a, sizeof a) < 0 || listen(f->lsock, 16) < 0 ||
        getsockname(f->lsock, (struct sockaddr *)&a, &alen) < 0 ||
        pthread_create(&f->thread, NULL, fake_main, f) != 0) {
        close(f->lsock);
        return -1;
    }
    f->port = ntohs(a.sin_port);
    return 0;
}

static void fake_stop(fake_imds *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    close(f->lsock);
}

/* Waits up to 5 s for the watch's fd; true when it became readable. */
static bool wait_notice(notice_watch *w)
{
    struct pollfd p = { notice_watch_fd(w), POLLIN, 0 };
    return poll(&p, 1, 5000) == 1 && (p.revents & POLLIN);
}

static bool readable_now(notice_watch *w)
{
    struct pollfd p = { notice_watch_fd(w), POLLIN, 0 };
    return poll(&p, 1, 0) == 1;
}

/* The AWS notice the fake serves, taken once through the watch. */
static void take_aws_notice(notice_watch *w)
{
    CU_ASSERT_TRUE(wait_notice(w));
    notice n;
    CU_ASSERT_TRUE_FATAL(notice_watch_take(w, &n));
    CU_ASSERT_EQUAL(n.deadline_ms, 1893553445000);          /* 2030-01-02T03:04:05Z */
    CU_ASSERT_PTR_NOT_NULL(strstr(n.source, "terminate"));
    CU_ASSERT_PTR_NOT_NULL(strstr(n.source, "127.0.0.1"));
    CU_ASSERT_FALSE(readable_now(w));
    CU_ASSERT_FALSE(notice_watch_take(w, &n));
}

static notice_watch *watch_fake(const fake_imds *f, const char *path, uint32_t poll_ms)
{
    char url[160], err[256] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
    notice_watch *w = notice_watch_start(url, poll_ms, err, sizeof err);
    if (!w)
        fprintf(stderr, "\nnotice_watch_start: %s\n", err);
    return w;
}

/* Serves 'f', watches its instance-action until the notice, takes it
 * once, and stops the watch and the fake. */
static void run_aws(fake_imds *f)
{
    CU_ASSERT_EQUAL_FATAL(fake_start(f), 0);
    notice_watch *w = watch_fake(f, "/latest/meta-data/spot/instance-action", 200);
    CU_ASSERT_PTR_NOT_NULL(w);
    if (w) {
        take_aws_notice(w);
        notice_watch_stop(&w);
        CU_ASSERT_PTR_NULL(w);
    }
    fake_stop(f);
}

static void aws_imdsv2(void)
{
    fake_imds f = { .quiet_gets = 2 };
    run_aws(&f);
    CU_ASSERT_EQUAL(f.answered, 3);             /* two 404s, the notice, and no more */
    CU_ASSERT_EQUAL(f.gets_token, 3);           /* the fake answers no GET without one */
    CU_ASSERT(f.puts >= 1 && f.puts_ttl == f.puts);
    /* A GET without a token only after a token PUT that went unanswered
     * (a machine too slow for the 200 ms timeout). */
    CU_ASSERT(f.gets - f.gets_token <= f.puts - 1);
    CU_ASSERT_EQUAL(strncmp(f.first_token_seen, "tok-", 4), 0);
    CU_ASSERT_EQUAL(f.other, 0);
}

/* A GET answered 401 (the token expired) gets a new token and is retried. */
static void aws_token_refresh(void)
{
    fake_imds f = { .quiet_gets = 1, .bad_tokens = 1 };
    run_aws(&f);
    CU_ASSERT(f.puts >= 2 && f.puts_ttl == f.puts);
    CU_ASSERT_EQUAL(f.answered, 2);             /* 404, the notice */
    CU_ASSERT(f.gets >= 3);                     /* and the 401 before them */
}

static void aws_imdsv1(void)
{
    fake_imds f = { .quiet_gets = 2, .v1_only = true };
    run_aws(&f);
    CU_ASSERT_EQUAL(f.puts, 1);                 /* refused once, not asked again */
    CU_ASSERT_EQUAL(f.answered, 3);
    CU_ASSERT_EQUAL(f.gets, 3);
    CU_ASSERT_EQUAL(f.gets_token, 0);
}

static void gcp(void)
{
    fake_imds f = { .gcp = true, .quiet_gets = 1 };
    CU_ASSERT_EQUAL_FATAL(fake_start(&f), 0);
    int64_t before = clock_wall_ms();
    notice_watch *w = watch_fake(&f, "/computeMetadata/v1/instance/preempted", 200);
    CU_ASSERT_PTR_NOT_NULL(w);
    if (w) {
        CU_ASSERT_TRUE(wait_notice(w));
        int64_t after = clock_wall_ms();
        notice n;
        CU_ASSERT_TRUE(notice_watch_take(w, &n));
        CU_ASSERT(n.deadline_ms >= before + 30000 && n.deadline_ms <= after + 30000);
        CU_ASSERT_PTR_NOT_NULL(strstr(n.source, "GCP"));
        CU_ASSERT_FALSE(notice_watch_take(w, &n));
        notice_watch_stop(&w);
    }
    fake_stop(&f);
    CU_ASSERT_EQUAL(f.answered, 2);             /* FALSE, TRUE */
    CU_ASSERT_EQUAL(f.gets, 2);
    CU_ASSERT_EQUAL(f.puts, 0);
    CU_ASSERT_EQUAL(f.other, 0);
}

static void bad_urls(void)
{
    static const char *const urls[] = {
        "ftp://169.254.169.254/latest/meta-data/spot/instance-action",
        "169.254.169.254/latest/meta-data/spot/instance-action",
        "http://", "https:///latest", "file:///etc/passwd", "",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char err[256] = "";
        notice_watch *w = notice_watch_start(urls[i], 100, err, sizeof err);
        CU_ASSERT_PTR_NULL(w);
        CU_ASSERT(err[0] != '\0');
        notice_watch_stop(&w);
    }
    notice_watch_stop(NULL);
}

/* Nothing listens: polling goes on, and says so once, not once a poll. */
static void refused_logged_once(void)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/latest/meta-data/spot/instance-action",
             netaddr_free_port());
    FILE *log = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    CU_ASSERT_FATAL(saved >= 0 && dup2(fileno(log), STDERR_FILENO) >= 0);
    char err[256] = "";
    notice_watch *w = notice_watch_start(url, 20, err, sizeof err);
    if (w) {
        struct pollfd p = { notice_watch_fd(w), POLLIN, 0 };
        CU_ASSERT_EQUAL(poll(&p, 1, 400), 0);
        notice_watch_stop(&w);
    }
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    CU_ASSERT_PTR_NULL(w);
    rewind(log);
    char line[1024];
    int warnings = 0, about_url = 0;        /* the token PUT's, and the GET's */
    while (fgets(line, sizeof line, log)) {
        warnings += strstr(line, " warn: notice: ") != NULL;
        about_url += strstr(line, " warn: notice: ") && strstr(line, url);
    }
    fclose(log);
    CU_ASSERT_EQUAL(about_url, 1);
    CU_ASSERT(warnings <= 2);
}

/* A request the service never answers does not hold up the stop. */
static void stop_is_prompt(void)
{
    fake_imds f = { .hang = true };
    CU_ASSERT_EQUAL_FATAL(fake_start(&f), 0);
    notice_watch *w = watch_fake(&f, "/computeMetadata/v1/instance/preempted", 60000);
    CU_ASSERT_PTR_NOT_NULL(w);
    if (w) {
        clock_sleep_ms(300);
        int64_t t0 = clock_mono_ms();
        notice_watch_stop(&w);
        int64_t took = clock_mono_ms() - t0;
        CU_ASSERT(took < 2500);
    }
    fake_stop(&f);
}

int suite_notice(void)
{
    static const unit_test tests[] = {
        { "parse: AWS and GCP answers", parse_table },
        { "style from the URL", style_of },
        { "AWS IMDSv2 on loopback", aws_imdsv2 },
        { "AWS token refreshed on 401", aws_token_refresh },
        { "AWS IMDSv1 when tokens are refused", aws_imdsv1 },
        { "GCP on loopback", gcp },
        { "URLs refused", bad_urls },
        { "refused connection logged once", refused_logged_once },
        { "stop does not wait for a hung request", stop_is_prompt },
        { NULL, NULL },
    };
    return unit_add("notice", tests);
}
