/* Which local address reaches a given host. */
#ifndef TERN_NETADDR_H
#define TERN_NETADDR_H

#include <stddef.h>

/* Writes into 'out' the local IPv4 address on the route to 'endpoint'
 * ("tcp://HOST:PORT", or a bare "HOST"); "127.0.0.1" when it cannot tell. */
void netaddr_route_to(const char *endpoint, char *out, size_t len);

/* A TCP port on loopback that nothing listens on at this moment (for
 * tests and benchmarks that start ranks by hand); 29500 if it cannot tell. */
int netaddr_free_port(void);

#endif
