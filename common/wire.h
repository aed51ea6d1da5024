/* Message framing over ZeroMQ: one tern Envelope per message, with the
 * protocol version checked before anything else is trusted.
 *
 * On ROUTER sockets a message is [routing id][payload] (DEALER peers) or
 * [routing id][empty][payload] (REQ peers); 'wire_peer' remembers which so
 * the reply goes back the same way.  On DEALER sockets it is [payload]. */
#ifndef TERN_WIRE_H
#define TERN_WIRE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/tern.pb-c.h"

#define TERN_PROTO_VERSION 1u
/* Largest message any tern socket accepts (ZMQ_MAXMSGSIZE); larger ones
 * make ZeroMQ drop the sending connection, the receiver carries on. */
#define WIRE_MAX_MSG (8 * 1024 * 1024)

typedef struct wire_peer {
    unsigned char id[256];
    size_t id_len;
    bool delim;
    char user[96];                 /* the ZAP handler's User-Id: the sender's public key; "": none */
} wire_peer;

/* Initializes an envelope of our version with sequence number 'seq'. */
void wire_init(Tern__Envelope *env, uint64_t seq);

/* Packs 'env' and sends it; to 'peer' on a ROUTER socket, peer NULL on a
 * DEALER socket. 'flags' are zmq_send flags (ZMQ_DONTWAIT).
 * Returns 0, or -1 with errno set (EHOSTUNREACH: peer gone, EMSGSIZE: too big). */
int wire_send(void *sock, const wire_peer *peer, Tern__Envelope *env, int flags);

/* Receives one message. Returns 0 with *out set to an envelope the caller
 * frees with wire_free(). Returns -1 with errno EAGAIN (nothing waiting with
 * ZMQ_DONTWAIT) or EINTR/ETERM; returns -2 when a message arrived but is not
 * usable (malformed, wrong version, bad framing): 'err' says why and 'peer'
 * is filled when the framing allowed, so the caller can answer with an Error. */
int wire_recv(void *sock, bool router, int flags, wire_peer *peer,
              Tern__Envelope **out, char *err, size_t errlen);

/* Decodes one message payload of 'len' bytes, as wire_recv does: an
 * envelope of our version with a body (an Error of any version passes, so
 * that a peer of another version can say why it refused). Returns it, freed
 * with wire_free(), or NULL with why in 'err'. */
Tern__Envelope *wire_decode(const void *buf, size_t len, char *err, size_t errlen);

void wire_free(Tern__Envelope *env);

/* Makes 'env' an Error envelope with 'seq' carrying 'text' (borrowed;
 * 'e' is the storage for the body). */
void wire_error(Tern__Envelope *env, Tern__Error *e, uint64_t seq, const char *text);

/* An Error envelope with the storage of its body and message. */
typedef struct wire_errmsg {
    Tern__Envelope env;
    Tern__Error e;
    char text[1024];
} wire_errmsg;

/* Makes m->env an Error envelope with 'seq' carrying 'fmt' formatted with
 * 'ap' (cut at sizeof m->text). Returns &m->env, valid while 'm' is. */
Tern__Envelope *wire_error_vfmt(wire_errmsg *m, uint64_t seq, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Sends an Error envelope with 'seq' and a printf-style message; failures
 * to send are ignored (the peer may be gone). */
void wire_send_error(void *sock, const wire_peer *peer, uint64_t seq,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sets the options every tern socket has: linger, max message size. */
int wire_socket_defaults(void *sock);

#endif
