/* Messages held until the transaction that justifies them is committed
 * (outbox.h). */
#include "scheduler/outbox.h"

#include "common/log.h"
#include "common/grow.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static outmsg *outbox_slot(sched *s)
{
    outmsg *slots = grow(s->out, &s->out_cap, s->nout + 1, sizeof *slots, 256);
    if (!slots)
        return NULL;
    s->out = slots;
    return &s->out[s->nout++];
}

void outbox_add(sched *s, void *sock, const wire_peer *peer, Tern__Envelope *env, bool client)
{
    env->version = TERN_PROTO_VERSION;
    size_t len = tern__envelope__get_packed_size(env);
    if (len > WIRE_MAX_MSG) {
        if (client) {
            log_err("reply of %zu bytes exceeds the message limit; sending an error instead",
                    len);
            outbox_error(s, peer, env->seq, "reply too large (%zu bytes)", len);
        } else {   /* the heartbeat check notices what never arrives */
            log_err("message of %zu bytes to %.*s exceeds the message limit; dropped", len,
                    (int)peer->id_len, (const char *)peer->id);
        }
        return;
    }
    void *data = malloc(len ? len : 1);
    outmsg *m = data ? outbox_slot(s) : NULL;
    if (!m) {
        free(data);
        log_err("out of memory queueing a message");
        return;
    }
    tern__envelope__pack(env, data);
    m->sock = sock;
    m->peer = *peer;
    m->data = data;
    m->len = len;
    m->client = client;
    m->seq = env->seq;
}

void outbox_body(sched *s, void *sock, const wire_peer *peer, uint64_t seq,
                 Tern__Envelope__BodyCase body, const void *msg, bool client)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&tern__envelope__descriptor, (unsigned)body);
    assert(f && f->descriptor == ((const ProtobufCMessage *)msg)->descriptor);
    Tern__Envelope env;
    wire_init(&env, seq);
    env.body_case = body;
    /* The oneof's members share one place: the pointer goes where the
     * field's descriptor says. */
    memcpy((char *)&env + f->offset, &msg, sizeof msg);
    outbox_add(s, sock, peer, &env, client);
}

void outbox_reply(sched *s, const wire_peer *peer, uint64_t seq, Tern__Envelope__BodyCase body,
                  const void *msg)
{
    outbox_body(s, s->clients, peer, seq, body, msg, true);
}

void outbox_worker(sched *s, const wire_peer *peer, uint64_t seq, Tern__Envelope__BodyCase body,
                   const void *msg)
{
    outbox_body(s, s->workers, peer, seq, body, msg, false);
}

void outbox_error(sched *s, const wire_peer *peer, uint64_t seq, const char *fmt, ...)
{
    wire_errmsg m;
    va_list ap;
    va_start(ap, fmt);
    outbox_add(s, s->clients, peer, wire_error_vfmt(&m, seq, fmt, ap), true);
    va_end(ap);
}

static void send_raw(void *sock, const outmsg *m)
{
    if (zmq_send(sock, m->peer.id, m->peer.id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        (m->peer.delim && zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
        zmq_send(sock, m->data, m->len, ZMQ_DONTWAIT) < 0) {
        /* EHOSTUNREACH: the peer left; the heartbeat sweep notices workers. */
        if (errno != EHOSTUNREACH)
            log_warn("send to %.*s failed: %s", (int)m->peer.id_len, (const char *)m->peer.id,
                     zmq_strerror(errno));
    }
}

void outbox_flush(sched *s)
{
    for (size_t i = 0; i < s->nout; i++) {
        send_raw(s->out[i].sock, &s->out[i]);
        free(s->out[i].data);
    }
    s->nout = 0;
}

void outbox_fail(sched *s, const char *why)
{
    size_t n = s->nout;
    outmsg *msgs = s->out;
    s->out = NULL;
    s->nout = s->out_cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].client)
            outbox_error(s, &msgs[i].peer, msgs[i].seq,
                         "ternd could not save its state (%s); nothing was changed", why);
        free(msgs[i].data);
    }
    free(msgs);
}
