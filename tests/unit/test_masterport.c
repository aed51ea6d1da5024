/* worker/masterport: a MASTER_PORT another process listens on is skipped
 * for the next free one of the range, wrapping at its end; a range all
 * held gives none. Ports are held by listeners of the test's own, on
 * ports the kernel picked free, at 127.0.0.1 (a squatter ternd's range
 * check must see although the ranks bind the wildcard address) and at
 * the wildcard address. */
#include "tests/unit/unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "worker/masterport.h"

/* A socket listening on 'addr' (IPv4, 0: any port); its port in *port.
 * Returns the descriptor, or -1. */
static int hold(const char *addr, uint32_t want, uint32_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)want) };
    inet_pton(AF_INET, addr, &a.sin_addr);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Three consecutive ports, each held by a listener on 'addr' (fds[3]).
 * Returns the first, or 0 when the kernel gave none such after a few
 * tries. */
static uint32_t hold_three(const char *addr, int fds[3])
{
    for (int tries = 0; tries < 50; tries++) {
        uint32_t base;
        fds[0] = hold(addr, 0, &base);
        if (fds[0] < 0)
            return 0;
        uint32_t got;
        fds[1] = base + 2 <= 65535 ? hold(addr, base + 1, &got) : -1;
        fds[2] = fds[1] >= 0 ? hold(addr, base + 2, &got) : -1;
        if (fds[2] >= 0)
            return base;
        for (int i = 0; i < 3; i++)
            if (fds[i] >= 0)
                close(fds[i]);
    }
    return 0;
}

static void release(int fds[3])
{
    for (int i = 0; i < 3; i++)
        close(fds[i]);
}

static void test_held_port_not_free(void)
{
    static const char *addrs[] = { "127.0.0.1", "0.0.0.0" };
    for (size_t i = 0; i < 2; i++) {
        uint32_t port;
        int fd = hold(addrs[i], 0, &port);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_FALSE(masterport_free(port));
        close(fd);
        /* (a listener that never accepted leaves no TIME_WAIT) */
        CU_ASSERT_TRUE(masterport_free(port));
    }
    CU_ASSERT_FALSE(masterport_free(0));
    CU_ASSERT_FALSE(masterport_free(65536));
}

/* Held: base, base+1, base+2. Wanting base in base..base+3 gives base+3;
 * wanting base+1 in base-1..base+2 wraps to base-1. */
static void test_skip_and_wrap(void)
{
    int fds[3];
    uint32_t base = hold_three("127.0.0.1", fds);
    CU_ASSERT_FATAL(base > 1024 && base + 3 <= 65535);
    if (masterport_free(base + 3))
        CU_ASSERT_EQUAL(masterport_pick(base, base, base + 3), base + 3);
    if (masterport_free(base - 1))
        CU_ASSERT_EQUAL(masterport_pick(base + 1, base - 1, base + 2), base - 1);
    /* Free: itself. */
    if (masterport_free(base + 3))
        CU_ASSERT_EQUAL(masterport_pick(base + 3, base, base + 3), base + 3);
    /* Outside the range: the range from its start. */
    if (masterport_free(base + 3))
        CU_ASSERT_EQUAL(masterport_pick(base, base + 1, base + 3), base + 3);
    release(fds);
}

static void test_none_free(void)
{
    int fds[3];
    uint32_t base = hold_three("0.0.0.0", fds);
    CU_ASSERT_FATAL(base > 0);
    errno = 0;
    CU_ASSERT_EQUAL(masterport_pick(base + 1, base, base + 2), 0);
    CU_ASSERT_EQUAL(errno, EADDRINUSE);
    errno = 0;
    CU_ASSERT_EQUAL(masterport_pick(base, base, base), 0);
    CU_ASSERT_EQUAL(errno, EADDRINUSE);
    release(fds);
    errno = 0;
    CU_ASSERT_EQUAL(masterport_pick(base, base + 2, base + 1), 0);
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(masterport_pick(base, 0, base), 0);
    CU_ASSERT_EQUAL(masterport_pick(base, base, 65536), 0);
}

int suite_masterport(void)
{
    static const unit_test tests[] = {
        { "a port a listener holds is not free", test_held_port_not_free },
        { "a held port is skipped, wrapping at the range's end", test_skip_and_wrap },
        { "no free port in the range", test_none_free },
        { NULL, NULL },
    };
    return unit_add("masterport", tests);
}
