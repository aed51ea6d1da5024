#include "common/wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

void wire_init(Tern__Envelope *env, uint64_t seq)
{
    tern__envelope__init(env);
    env->version = TERN_PROTO_VERSION;
    env->seq = seq;
}

int wire_socket_defaults(void *sock)
{
    int linger = 0;
    int64_t maxmsg = WIRE_MAX_MSG;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) < 0)
        return -1;
    return zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
}

int wire_send(void *sock, const wire_peer *peer, Tern__Envelope *env, int flags)
{
    env->version = TERN_PROTO_VERSION;
    size_t len = tern__envelope__get_packed_size(env);
    if (len > WIRE_MAX_MSG) {
        errno = EMSGSIZE;
        return -1;
    }
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, len) < 0)
        return -1;
    tern__envelope__pack(env, zmq_msg_data(&msg));

    if (peer) {
        if (zmq_send(sock, peer->id, peer->id_len, ZMQ_SNDMORE | flags) < 0)
            goto error;
        if (peer->delim && zmq_send(sock, "", 0, ZMQ_SNDMORE | flags) < 0)
            goto error;
    }
    if (zmq_msg_send(&msg, sock, flags) < 0)
        goto error;
    return 0;
error: {
        int saved = errno;
        zmq_msg_close(&msg);
        errno = saved;
        return -1;
    }
}

/* Reads and discards the remaining frames of a multipart message. */
static void drain_frames(void *sock)
{
    int more = 1;
    size_t sz = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            return;
        }
        zmq_msg_close(&m);
    }
}

/* Replaces 'msg' with the next frame of the message. Returns 0, or -1
 * ("truncated message") with 'msg' closed. */
static int next_frame(void *sock, zmq_msg_t *msg, char *err, size_t errlen)
{
    zmq_msg_close(msg);
    zmq_msg_init(msg);
    if (zmq_msg_recv(msg, sock, 0) >= 0)
        return 0;
    zmq_msg_close(msg);
    snprintf(err, errlen, "truncated message");
    return -1;
}

static bool has_more(void *sock)
{
    int more = 0;
    size_t sz = sizeof more;
    return zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more;
}

/* Who the ZAP handler said the sender of 'msg' is (CURVE sockets only):
 * noted from the first frame that carries it, so that a malformed message
 * is still its sender's. */
static void note_user(wire_peer *peer, zmq_msg_t *msg)
{
    const char *user = peer && !peer->user[0] ? zmq_msg_gets(msg, "User-Id") : NULL;
    if (user)
        snprintf(peer->user, sizeof peer->user, "%s", user);
}

int wire_recv(void *sock, bool router, int flags, wire_peer *peer,
              Tern__Envelope **out, char *err, size_t errlen)
{
    zmq_msg_t msg;
    *out = NULL;
    if (peer) {
        peer->id_len = 0;
        peer->delim = false;
        peer->user[0] = '\0';
    }
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, flags) < 0) {
        int saved = errno;
        zmq_msg_close(&msg);
        errno = saved;
        return -1;
    }
    if (router) {
        size_t idlen = zmq_msg_size(&msg);
        if (peer && idlen <= sizeof peer->id) {
            memcpy(peer->id, zmq_msg_data(&msg), idlen);
            peer->id_len = idlen;
        }
        if (!has_more(sock)) {
            zmq_msg_close(&msg);
            snprintf(err, errlen, "message without payload");
            return -2;
        }
        if (next_frame(sock, &msg, err, errlen) < 0)
            return -2;
        note_user(peer, &msg);
        if (zmq_msg_size(&msg) == 0 && has_more(sock)) {
            if (peer)
                peer->delim = true;
            if (next_frame(sock, &msg, err, errlen) < 0)
                return -2;
        }
    }
    if (has_more(sock)) {
        drain_frames(sock);
        zmq_msg_close(&msg);
        snprintf(err, errlen, "unexpected extra frames");
        return -2;
    }
    note_user(peer, &msg);

    Tern__Envelope *env = wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), err, errlen);
    zmq_msg_close(&msg);
    if (!env)
        return -2;
    *out = env;
    return 0;
}

/* Whether 'm' or a message inside it has a field numbered 0. protobuf-c
 * takes one whose tag is written in more than one byte (80 00), keeps it
 * as an unknown field and packs it back in one byte (00), which it refuses:
 * a copy (pack, unpack) of what arrived, such as ternd keeps of a job or a
 * node, or a spec ternd forwards in a Launch, would fail. */
static bool has_field_zero(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return true;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t k = 0; k < n; k++)
                if (has_field_zero(v[k]))
                    return true;
            continue;
        }
        /* A oneof's members share their storage: only the one set counts. */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
        if (sub && has_field_zero(sub))
            return true;
    }
    return false;
}

/* What one message may take once decoded: an 8 MiB message of empty
 * repeated entries unpacks into some 50 times its size. */
#define WIRE_MAX_DECODED (64u << 20)

typedef struct decode_budget {
    size_t used;
    bool over;
} decode_budget;

static void *budget_alloc(void *data, size_t size)
{
    decode_budget *b = data;
    if (size > WIRE_MAX_DECODED - b->used) {
        b->over = true;
        return NULL;
    }
    b->used += size;
    return malloc(size);
}

/* Plain free: what is unpacked here is freed with the default allocator. */
static void budget_free(void *data, void *p)
{
    (void)data;
    free(p);
}

Tern__Envelope *wire_decode(const void *buf, size_t len, char *err, size_t errlen)
{
    decode_budget budget = { 0, false };
    ProtobufCAllocator alloc = { budget_alloc, budget_free, &budget };
    Tern__Envelope *env = tern__envelope__unpack(&alloc, len, buf);
    if (!env && budget.over) {
        snprintf(err, errlen, "message of %zu bytes expands past %u MiB when decoded", len,
                 WIRE_MAX_DECODED >> 20);
        return NULL;
    }
    if (!env || has_field_zero(&env->base)) {
        snprintf(err, errlen, "malformed message (%zu bytes): not a tern envelope", len);
        if (env)
            tern__envelope__free_unpacked(env, NULL);
        return NULL;
    }
    if (env->version != TERN_PROTO_VERSION && env->body_case != TERN__ENVELOPE__BODY_ERROR) {
        snprintf(err, errlen, "peer speaks protocol version %u, this program speaks %u",
                 env->version, TERN_PROTO_VERSION);
        tern__envelope__free_unpacked(env, NULL);
        return NULL;
    }
    if (env->body_case == TERN__ENVELOPE__BODY__NOT_SET) {
        snprintf(err, errlen, "message with no body (version %u)", env->version);
        tern__envelope__free_unpacked(env, NULL);
        return NULL;
    }
    return env;
}

void wire_free(Tern__Envelope *env)
{
    if (env)
        tern__envelope__free_unpacked(env, NULL);
}

void wire_error(Tern__Envelope *env, Tern__Error *e, uint64_t seq, const char *text)
{
    wire_init(env, seq);
    tern__error__init(e);
    e->message = (char *)text;
    env->body_case = TERN__ENVELOPE__BODY_ERROR;
    env->error = e;
}

Tern__Envelope *wire_error_vfmt(wire_errmsg *m, uint64_t seq, const char *fmt, va_list ap)
{
    vsnprintf(m->text, sizeof m->text, fmt, ap);
    wire_error(&m->env, &m->e, seq, m->text);
    return &m->env;
}

void wire_send_error(void *sock, const wire_peer *peer, uint64_t seq, const char *fmt, ...)
{
    wire_errmsg m;
    va_list ap;
    va_start(ap, fmt);
    (void)wire_send(sock, peer, wire_error_vfmt(&m, seq, fmt, ap), ZMQ_DONTWAIT);
    va_end(ap);
}
