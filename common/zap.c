#include "common/zap.h"

#include "common/curve.h"
#include "common/zframes.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7                 /* version, id, domain, address, identity, mechanism, key */

void *zap_open(void *ctx)
{
    void *sock = zmq_socket(ctx, ZMQ_REP);
    int linger = 0;
    if (!sock)
        return NULL;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(sock, ZAP_ENDPOINT) < 0) {
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

static void frame_str(zmq_msg_t *m, char *out, size_t len)
{
    size_t n = zmq_msg_size(m) < len - 1 ? zmq_msg_size(m) : len - 1;
    memcpy(out, zmq_msg_data(m), n);
    out[n] = '\0';
}

static void reply(void *zap, zmq_msg_t *id, const char *code, const char *text, const char *user)
{
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(zap, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE);
    zmq_send(zap, code, 3, ZMQ_SNDMORE);
    zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(zap, "", 0, 0);
}

int zap_serve(void *zap, zap_decide_fn fn, void *arg)
{
    int answered = 0;
    for (;;) {
        zmq_msg_t f[ZAP_FRAMES];
        int n = zframes_recv(zap, f, ZAP_FRAMES, ZMQ_DONTWAIT);
        if (n == 0)
            return answered;
        char version[8] = "", mech[16] = "", domain[64] = "", user[128] = "", why[128] = "";
        if (n >= 6) {
            frame_str(&f[0], version, sizeof version);
            frame_str(&f[2], domain, sizeof domain);
            frame_str(&f[5], mech, sizeof mech);
        }
        if (n < 2) {
            /* Not a request libzmq would send: the REP socket still owes a reply. */
            zmq_send(zap, "", 0, 0);
        } else if (strcmp(version, "1.0") != 0 || strcmp(mech, "CURVE") != 0 || n != ZAP_FRAMES ||
                   zmq_msg_size(&f[6]) != 32) {
            reply(zap, &f[1], "400", "CURVE authentication required", "");
        } else {
            char key[CURVE_Z85];
            zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
            if (fn(arg, domain, key, user, sizeof user, why, sizeof why))
                reply(zap, &f[1], "200", "OK", user);
            else
                reply(zap, &f[1], "400", why, "");
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
        answered++;
    }
}
