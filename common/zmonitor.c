#include "common/zmonitor.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

void *zmonitor_open(void *ctx, void *sock, int events)
{
    /* A fresh name each time: a socket at the same address as a closed
     * one must not meet its monitor's endpoint. */
    static unsigned long made;
    char ep[80];
    snprintf(ep, sizeof ep, "inproc://tern-monitor-%p-%lu", sock,
             __atomic_add_fetch(&made, 1, __ATOMIC_RELAXED));
    if (zmq_socket_monitor(sock, ep, events) < 0)
        return NULL;
    void *mon = zmq_socket(ctx, ZMQ_PAIR);
    if (mon && zmq_connect(mon, ep) < 0) {
        zmq_close(mon);
        return NULL;
    }
    return mon;
}

int zmonitor_event(void *mon, uint32_t *value)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    int id = 0;
    if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&m) >= 6) {
        uint16_t ev;
        uint32_t v;
        memcpy(&ev, zmq_msg_data(&m), sizeof ev);
        memcpy(&v, (char *)zmq_msg_data(&m) + 2, sizeof v);
        id = ev;
        if (value)
            *value = v;
    }
    int more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    if (more) {   /* the endpoint frame */
        zmq_msg_init(&m);
        zmq_msg_recv(&m, mon, ZMQ_DONTWAIT);
        zmq_msg_close(&m);
    }
    return id;
}

const char *zmonitor_handshake_error(int ev, uint32_t value, const char *what, bool curve,
                                     char *buf, size_t len)
{
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        snprintf(buf, len, "%s refused this key (status %u): it is not in its authorized keys "
                 "for this use", what, value);
    else if (!curve)
        snprintf(buf, len, "%s refused the connection: it requires authentication (its "
                 "public key in TERN_SERVER_KEY or tern-worker --server-key, and a key of "
                 "ours: tern keygen)", what);
    else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
             value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        snprintf(buf, len, "%s does not authenticate (it runs without --key): drop the server "
                 "key", what);
    else
        snprintf(buf, len, "%s: the handshake failed (%s %u): is the server key right?", what,
                 ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error" : "error", value);
    return buf;
}
