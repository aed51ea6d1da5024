/* The ZAP handler (ZeroMQ RFC 27): libzmq asks it, over an inproc REP
 * socket in the same context, whether a CURVE client may connect; the
 * user id it answers travels with every message from that client
 * (zmq_msg_gets "User-Id").
 *
 * A process serving CURVE opens the handler before it binds, polls the
 * handler's socket with its others and answers each request at once:
 * libzmq holds the client's handshake until then. */
#ifndef TERN_ZAP_H
#define TERN_ZAP_H

#include <stdbool.h>
#include <stddef.h>

/* Decides for one client: 'domain' is the socket's ZAP domain, 'key' the
 * client's public key in Z85. Returns true and fills 'user' (the user id)
 * to let it in, or false with a short reason in 'why'. (The request names
 * no routing id of the client's: libzmq asks before the client says it.) */
typedef bool (*zap_decide_fn)(void *arg, const char *domain, const char *key, char *user,
                              size_t ulen, char *why, size_t wlen);

/* Binds the handler's socket in 'ctx'. Returns it, or NULL with errno. */
void *zap_open(void *ctx);

/* Answers every request waiting on 'zap' (without blocking) with 'fn'.
 * Returns how many were answered. */
int zap_serve(void *zap, zap_decide_fn fn, void *arg);

#endif
