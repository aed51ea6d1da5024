#include "common/promhttp.h"

#include "common/parse.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Scrapers are few: a handful of Prometheus servers and someone's curl.
 * A client that stalls is dropped, so none can pin a connection. */
#define MAX_CONNECTIONS 64
#define CONNECTION_TIMEOUT_S 10

struct promhttp {
    struct MHD_Daemon *mhd;
    int fd;                        /* the listening socket; libmicrohttpd closes it */
    pthread_mutex_t lock;          /* guards text and len */
    char *text;
    size_t len;
    char url[320];
};

int promhttp_parse_addr(const char *addr, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon;
    const char *h = addr;
    size_t hl;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        h = addr + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
            return -1;   /* none, or a bare IPv6 address */
        hl = (size_t)(colon - addr);
    }
    uint32_t p;
    if (hl == 0 || hl >= hostlen || parse_u32(colon + 1, 0, 65535, &p) < 0)
        return -1;
    for (size_t i = 0; i < hl; i++)
        if (h[i] <= ' ' || h[i] == '/' || h[i] == '[' || h[i] == ']' || h[i] == 0x7f)
            return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return 0;
}

int promhttp_check_option(void *opts, const char *name, const char *v, char *err,
                          size_t errlen)
{
    (void)opts;
    char host[256];
    uint16_t port;
    if (promhttp_parse_addr(v, host, sizeof host, &port) == 0)
        return 0;
    snprintf(err, errlen, "%s '%s': expected HOST:PORT, e.g. 127.0.0.1:9400 (port 0 to 65535; "
             "0: any free port)", name, v);
    return -1;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *text,
                               size_t len, bool metrics)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            metrics ? CONTENT_TYPE : "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Runs in libmicrohttpd's thread: reads nothing but p->text. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **req)
{
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)req;
    promhttp *p = cls;
    if (strcmp(url, "/metrics") != 0) {
        static const char nf[] = "404 not found: the metrics are at /metrics\n";
        return respond(conn, MHD_HTTP_NOT_FOUND, nf, sizeof nf - 1, false);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char na[] = "405 method not allowed: GET /metrics\n";
        return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, na, sizeof na - 1, false);
    }
    pthread_mutex_lock(&p->lock);
    /* The copy is made under the lock: a few kilobytes. */
    enum MHD_Result rc = respond(conn, MHD_HTTP_OK, p->text ? p->text : "", p->text ? p->len : 0,
                                 true);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* A listening socket on host:port, close-on-exec so that no rank inherits
 * it. Returns the fd, or -1 with 'err' filled. */
static int listen_on(const char *addr, const char *host, uint16_t port, char *bound,
                     size_t boundlen, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char ps[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(ps, sizeof ps, "%u", (unsigned)port);
    int gai = getaddrinfo(host, ps, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "%s: cannot resolve %s: %s", addr, host, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
        snprintf(err, errlen, "%s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    unsigned bport = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        bport = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    snprintf(bound, boundlen, "http://%s%s%s:%u/metrics", res->ai_family == AF_INET6 ? "[" : "",
             host, res->ai_family == AF_INET6 ? "]" : "", bport);
    freeaddrinfo(res);
    return fd;
}

promhttp *promhttp_start(const char *addr, char *err, size_t errlen)
{
    char host[256];
    uint16_t port;
    if (promhttp_parse_addr(addr, host, sizeof host, &port) < 0) {
        snprintf(err, errlen, "'%s': expected HOST:PORT (PORT 0 to 65535; 0: any free port)",
                 addr);
        return NULL;
    }
    promhttp *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "%s: %s", addr, strerror(errno));
        return NULL;
    }
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        snprintf(err, errlen, "%s: cannot create a mutex", addr);
        free(p);
        return NULL;
    }
    p->fd = listen_on(addr, host, port, p->url, sizeof p->url, err, errlen);
    if (p->fd < 0)
        goto error;
    p->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, handle, p,
                              MHD_OPTION_LISTEN_SOCKET, (MHD_socket)p->fd,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                              MHD_OPTION_END);
    if (!p->mhd) {
        /* (p->fd is left open: libmicrohttpd may have closed it already,
         * and the daemon exits on this error.) */
        snprintf(err, errlen, "%s: libmicrohttpd could not start serving", addr);
        goto error;
    }
    return p;
error:
    pthread_mutex_destroy(&p->lock);
    free(p);
    return NULL;
}

const char *promhttp_url(const promhttp *p)
{
    return p->url;
}

void promhttp_publish(promhttp *p, char *text, size_t len)
{
    if (!p) {
        free(text);
        return;
    }
    pthread_mutex_lock(&p->lock);
    char *old = p->text;
    p->text = text;
    p->len = len;
    pthread_mutex_unlock(&p->lock);
    free(old);
}

void promhttp_stop(promhttp **pp)
{
    promhttp *p = pp ? *pp : NULL;
    if (!p)
        return;
    MHD_stop_daemon(p->mhd);   /* closes p->fd too */
    pthread_mutex_destroy(&p->lock);
    free(p->text);
    free(p);
    *pp = NULL;
}
