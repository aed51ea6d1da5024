/* A Prometheus /metrics endpoint over HTTP (libmicrohttpd).
 *
 * The daemons are single-threaded and their model belongs to their loop:
 * the loop builds the exposition text (promtext.h) and publishes it here;
 * libmicrohttpd's own thread answers every request with a copy of the last
 * text published and never sees anything else. GET or HEAD of /metrics gets
 * it; any other path 404, any other method 405; libmicrohttpd answers
 * malformed requests itself (400) and the daemon goes on.
 *
 * Linked into ternd and tern-worker only (and the unit tests): the other
 * programs do without libmicrohttpd. */
#ifndef TERN_PROMHTTP_H
#define TERN_PROMHTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct promhttp promhttp;

/* Parses "HOST:PORT" or "[IPV6]:PORT", PORT 0 to 65535 (0: any free port).
 * Returns 0, or -1 when malformed (nothing written then). */
int promhttp_parse_addr(const char *addr, char *host, size_t hostlen, uint16_t *port);

/* Checks a daemon's --metrics value (an option_set_fn of common/options.h,
 * 'opts' unused): 0 when promhttp_parse_addr reads it, or -1 with the
 * message in 'err' ("metrics 'x': expected HOST:PORT ..."). */
int promhttp_check_option(void *opts, const char *name, const char *v, char *err,
                          size_t errlen);

/* Binds 'addr' (as promhttp_parse_addr reads it) and serves from a new
 * thread; until the first promhttp_publish, /metrics is empty. Returns the
 * endpoint, or NULL with a one-line reason in 'err' ("127.0.0.1:9100:
 * Address already in use"). */
promhttp *promhttp_start(const char *addr, char *err, size_t errlen);

/* "http://HOST:PORT/metrics" with the port bound; valid while 'p' lives. */
const char *promhttp_url(const promhttp *p);

/* Serves 'text' (len bytes, malloc'd; ownership passes here, also when
 * 'p' is NULL) from now on; the previous text is freed. */
void promhttp_publish(promhttp *p, char *text, size_t len);

/* Stops serving (waits for the thread) and frees; sets *pp to NULL.
 * Accepts NULL. */
void promhttp_stop(promhttp **pp);

#endif
