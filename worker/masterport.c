#include "worker/masterport.h"

#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Binds and listens on the wildcard address of 'family' with SO_REUSEADDR.
 * Returns 0 (the port is free), or -1 with errno (EAFNOSUPPORT: no such
 * family here). */
static int try_listen(int family, uint32_t port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET6) {
        /* Dual-stack, whatever net.ipv6.bindv6only says: IPv4 holders too. */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_any;
        a->sin6_port = htons((uint16_t)port);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_ANY);
        a->sin_port = htons((uint16_t)port);
        len = sizeof *a;
    }
    /* listen too: a socket merely bound with SO_REUSEADDR does not keep
     * another from binding, only one that listens does. */
    int rc = bind(fd, (struct sockaddr *)&ss, len) == 0 && listen(fd, 1) == 0 ? 0 : -1;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

bool masterport_free(uint32_t port)
{
    if (port == 0 || port > 65535)
        return false;
    if (try_listen(AF_INET6, port) == 0)
        return true;
    /* No IPv6 on this machine: IPv4 alone. */
    if (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)
        return try_listen(AF_INET, port) == 0;
    return false;
}

uint32_t masterport_pick(uint32_t want, uint32_t lo, uint32_t hi)
{
    if (lo == 0 || lo > hi || hi > 65535) {
        errno = EINVAL;
        return 0;
    }
    if (masterport_free(want))
        return want;
    uint32_t span = hi - lo + 1;
    uint32_t first = want >= lo && want <= hi ? want - lo + 1 : 0;
    for (uint32_t i = 0; i < span; i++) {
        uint32_t port = lo + (first + i) % span;
        if (port != want && masterport_free(port))
            return port;
    }
    errno = EADDRINUSE;
    return 0;
}

uint32_t masterport_for_launch(const Tern__Launch *l, const char *node, char *err,
                               size_t errlen)
{
    if (l->node_rank != 0 || !l->port_lo)
        return l->master_port;
    uint32_t port = masterport_pick(l->master_port, l->port_lo, l->port_hi);
    char step[32] = "";
    if (l->step)
        snprintf(step, sizeof step, " step=%u", l->step - 1);
    if (port == 0) {
        snprintf(err, errlen, "MASTER_PORT %u and every other port of %u-%u are in use on node %s",
                 l->master_port, l->port_lo, l->port_hi, node);
        log_warn("job=%llu attempt=%u%s: launch refused: %s", (unsigned long long)l->job_id,
                 l->attempt, step, err);
    } else if (port != l->master_port) {
        log_info("job=%llu attempt=%u%s: MASTER_PORT %u is in use on this node; using %u",
                 (unsigned long long)l->job_id, l->attempt, step, l->master_port, port);
    }
    return port;
}
