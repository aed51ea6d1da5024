/* A ring link over TCP, for ranks on different machines (or all ranks,
 * with TERN_COLL_TRANSPORT=tcp). Non-blocking sockets driven by the
 * progress loop; received bytes are staged so that only whole elements are
 * handed on. A peer process that dies closes its connections at once;
 * keepalive turns a machine that vanished while the link was idle into an
 * error within the dead-peer timeout. (No TCP_USER_TIMEOUT: Linux applies
 * it to zero-window probing too, and a live peer that is busy elsewhere
 * must not have its job killed.) */
#include "collectives/link.h"

#include "common/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STAGE_BYTES (1u << 20)
#define SOCK_BUF (4 << 20)

typedef struct tcp_link {
    coll_link base;
    int fd;
    uint8_t *stage;                /* inbound only */
    size_t staged;                 /* bytes in stage */
    bool eof;                      /* the sender closed; what is staged is all */
} tcp_link;

static ssize_t tcp_try_send(coll_link *l, const void *data, size_t len)
{
    tcp_link *t = (tcp_link *)l;
    ssize_t n = send(t->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

static ssize_t tcp_try_recv(coll_link *l, const void **data, size_t len, size_t align)
{
    tcp_link *t = (tcp_link *)l;
    if (t->staged < STAGE_BYTES && !t->eof) {
        ssize_t n = recv(t->fd, t->stage + t->staged, STAGE_BYTES - t->staged, MSG_DONTWAIT);
        if (n == 0)
            t->eof = true;         /* a sender that finished may close early */
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        else if (n > 0)
            t->staged += (size_t)n;
    }
    size_t avail = t->staged < len ? t->staged : len;
    avail -= avail % align;
    if (avail == 0 && t->eof)
        return -1;                 /* closed before sending what was due */
    *data = t->stage;
    return (ssize_t)avail;
}

static void tcp_consumed(coll_link *l, size_t n)
{
    tcp_link *t = (tcp_link *)l;
    memmove(t->stage, t->stage + n, t->staged - n);
    t->staged -= n;
}

static void tcp_align(coll_link *l)
{
    (void)l;                       /* a byte stream: nothing to pad */
}

static int tcp_fd(coll_link *l)
{
    return ((tcp_link *)l)->fd;
}

/* Nothing ever flows back on an outbound link, so anything readable there
 * is the end: the peer closed or reset the connection. */
static bool tcp_gone(coll_link *l)
{
    tcp_link *t = (tcp_link *)l;
    if (t->eof)
        return true;
    if (t->stage)
        return false;              /* inbound: try_recv sees the end itself */
    char b;
    ssize_t n = recv(t->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void tcp_destroy(coll_link *l)
{
    tcp_link *t = (tcp_link *)l;
    if (t->fd >= 0) {
        shutdown(t->fd, SHUT_RDWR);   /* the peer sees the break at once */
        close(t->fd);
    }
    free(t->stage);
    free(t);
}

static const struct coll_link_ops tcp_ops = {
    tcp_try_send, tcp_try_recv, tcp_consumed, tcp_align, tcp_fd, tcp_gone, tcp_destroy,
};

static void tune(int fd, double dead_timeout_s)
{
    int one = 1, buf = SOCK_BUF;
    int idle = 1, intvl = 1, cnt = (int)(dead_timeout_s > 3 ? dead_timeout_s - 2 : 1);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

static tcp_link *tcp_new(int fd, int peer, bool inbound)
{
    tcp_link *t = (tcp_link *)coll_link_new(sizeof *t, &tcp_ops, peer, false);
    if (!t)
        return NULL;
    t->fd = fd;
    if (inbound && !(t->stage = malloc(STAGE_BYTES))) {
        free(t);
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return t;
}

int tcp_listen(const char *route_to, char *addr, size_t len, int *fdp)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char ip[64];
    netaddr_route_to(route_to, ip, sizeof ip);
    snprintf(addr, len, "%s:%u", ip, (unsigned)ntohs(sa.sin_port));
    *fdp = fd;
    return 0;
}

/* Blocking I/O of exactly len bytes with a deadline (the handshake). */
static int io_all(int fd, void *buf, size_t len, bool out, double deadline)
{
    size_t done = 0;
    while (done < len) {
        struct pollfd p = { .fd = fd, .events = out ? POLLOUT : POLLIN };
        int ms = (int)((deadline - coll_now()) * 1000);
        if (ms <= 0 || poll(&p, 1, ms) <= 0)
            return -1;
        ssize_t n = out ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL)
                        : recv(fd, (char *)buf + done, len - done, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/* A connection to host:port, made by the deadline rather than the
 * kernel's. Returns the socket (non-blocking), or -1 with errno; -2 when
 * the address does not resolve. */
static int dial(const char *host, const char *port, double deadline)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -2;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = fd < 0 ? -1 : connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int ms = (int)((deadline - coll_now()) * 1000), e = 0;
        socklen_t el = sizeof e;
        rc = ms > 0 && poll(&p, 1, ms) == 1 &&
                     getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0
                 ? 0 : -1;
        if (e)
            errno = e;
        else if (rc < 0)
            errno = ETIMEDOUT;
    }
    if (rc < 0 && fd >= 0) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return rc < 0 ? -1 : fd;
}

/* The outbound link: connected to rank 'next', which it tells the session
 * and this rank. 0, or a TERN_E* code recorded. */
static int connect_next(tern_comm *c, int next, double deadline, coll_link **out)
{
    char host[64];
    const char *addr = c->peers[next].tcp_addr, *colon = strrchr(addr, ':');
    if (!colon)
        return coll_fail(c, TERN_EPEER, "rank %d published no address", next);
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    uint64_t hello[2] = { c->session, (uint64_t)c->rank };
    int fd = dial(host, colon + 1, deadline);
    if (fd == -2)
        return coll_fail(c, TERN_EPEER, "rank %d's address %s does not resolve", next, addr);
    if (fd < 0 || io_all(fd, hello, sizeof hello, true, deadline) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return coll_fail(c, TERN_EPEER, "cannot connect to rank %d at %s: %s", next, addr,
                         strerror(e));
    }
    tune(fd, c->dead_timeout_s);
    tcp_link *t = tcp_new(fd, next, false);
    if (!t) {
        close(fd);
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    }
    *out = &t->base;
    return 0;
}

/* The inbound link: the first connection on listen_fd that says it is rank
 * 'prev' of this session; strangers and stale jobs are turned away. 0, or
 * a TERN_E* code recorded. */
static int accept_prev(tern_comm *c, int listen_fd, int prev, double deadline, coll_link **in)
{
    for (;;) {
        struct pollfd p = { .fd = listen_fd, .events = POLLIN };
        int ms = (int)((deadline - coll_now()) * 1000);
        if (ms <= 0 || poll(&p, 1, ms) <= 0)
            return coll_fail(c, TERN_ETIMEDOUT, "rank %d never connected", prev);
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        uint64_t got[2];
        /* A stranger gets two seconds to say who it is, not the whole wait. */
        double hello_by = coll_now() + 2 < deadline ? coll_now() + 2 : deadline;
        if (io_all(fd, got, sizeof got, false, hello_by) < 0 || got[0] != c->session ||
            got[1] != (uint64_t)prev) {
            close(fd);             /* a stranger, or a stale job: keep waiting */
            continue;
        }
        tune(fd, c->dead_timeout_s);
        tcp_link *t = tcp_new(fd, prev, true);
        if (!t) {
            close(fd);
            return coll_fail(c, TERN_ENOMEM, "out of memory");
        }
        *in = &t->base;
        return 0;
    }
}

int tcp_links(tern_comm *c, int listen_fd, coll_link **out, coll_link **in, bool need_out,
              bool need_in)
{
    double deadline = coll_now() + c->dead_timeout_s + 10;
    int next = (c->rank + 1) % c->size, prev = (c->rank + c->size - 1) % c->size;
    int rc = need_out ? connect_next(c, next, deadline, out) : 0;
    if (rc == 0 && need_in)
        rc = accept_prev(c, listen_fd, prev, deadline, in);
    return rc;
}
