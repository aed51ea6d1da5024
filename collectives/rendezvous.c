/* A rank's side of the rendezvous (rendezvous.h): one DEALER socket to
 * rank 0's store (rdv_store.c), which rank 0 starts first. Every key goes
 * out as "RUN/key". */
#include "collectives/rendezvous.h"

#include "collectives/rdv_store.h"
#include "common/curve.h"
#include "common/zframes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct rdv {
    void *ctx, *sock;
    char where[160];
    char run[96];
    double timeout_s;
    rdv_store *store;              /* rank 0's */
    bool silent;                   /* the store never answered: no goodbye */
};

/* The DEALER socket to the store at addr:port, CURVE with 'key'. 0, or -1
 * with errno (zmq's). */
static int connect_store(rdv *r, const char *addr, int port, const curve_key *key)
{
    int linger = 1000, ivl = 50, sndtimeo = (int)(r->timeout_s * 1000);
    char ep[200];
    snprintf(ep, sizeof ep, "tcp://%s:%d", addr, port);
    r->ctx = zmq_ctx_new();
    r->sock = r->ctx ? zmq_socket(r->ctx, ZMQ_DEALER) : NULL;
    if (!r->sock || (key && curve_client(r->sock, key, key->pub) < 0) ||
        zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_setsockopt(r->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) < 0 ||
        zmq_setsockopt(r->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) < 0 ||
        zmq_connect(r->sock, ep) < 0)
        return -1;
    return 0;
}

rdv *rdv_open(int rank, int size, const char *run, const char *addr, int port,
              double timeout_s, char *err, size_t errlen)
{
    rdv *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(r->where, sizeof r->where, "%s:%d", addr, port);
    snprintf(r->run, sizeof r->run, "%s", run);
    r->timeout_s = timeout_s;
    const char *jk = getenv("TERN_JOB_KEY");
    curve_key key;
    bool curve = jk && *jk;
    if (curve && curve_key_from_secret(jk, &key) < 0) {
        snprintf(err, errlen, "TERN_JOB_KEY is not a Z85 secret key");
        goto error;
    }
    if (rank == 0 && !(r->store = rdv_store_start(size, run, port, curve ? &key : NULL,
                                                  timeout_s, err, errlen)))
        goto error;
    if (connect_store(r, addr, port, curve ? &key : NULL) < 0) {
        snprintf(err, errlen, "cannot reach the rendezvous at %s: %s", r->where,
                 zmq_strerror(errno));
        r->silent = true;          /* nobody to say goodbye to */
        goto error;
    }
    return r;
error:
    rdv_close(&r);
    return NULL;
}

/* Sends a request and waits for the reply's frames (up to 'max'). Returns
 * the frame count, or -1 with the reason. */
static int request(rdv *r, const char *const *parts, const size_t *lens, int nparts,
                   double wait_s, zmq_msg_t *reply, int max, char *err, size_t errlen)
{
    for (int i = 0; i < nparts; i++)
        if (zmq_send(r->sock, parts[i], lens[i], i + 1 < nparts ? ZMQ_SNDMORE : 0) < 0) {
            snprintf(err, errlen, "rendezvous at %s: %s", r->where, zmq_strerror(errno));
            return -1;
        }
    zmq_pollitem_t it = { r->sock, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&it, 1, (long)(wait_s * 1000)) <= 0) {
        snprintf(err, errlen, "the rendezvous at %s (rank 0) did not answer within %.0f s",
                 r->where, r->timeout_s);
        r->silent = true;
        return -1;
    }
    return zframes_recv(r->sock, reply, max, 0);
}

int rdv_set(rdv *r, const char *name, const void *val, size_t len, char *err, size_t errlen)
{
    char key[200];
    snprintf(key, sizeof key, "%s/%s", r->run, name);
    const char *parts[] = { "SET", key, val };
    size_t lens[] = { 3, strlen(key), len };
    zmq_msg_t rep[2];
    int n = request(r, parts, lens, 3, r->timeout_s, rep, 2, err, errlen);
    if (n < 0)
        return -1;
    int ok = n >= 1 && zmq_msg_size(&rep[0]) == 2 && memcmp(zmq_msg_data(&rep[0]), "OK", 2) == 0;
    for (int i = 0; i < n; i++)
        zmq_msg_close(&rep[i]);
    if (!ok)
        snprintf(err, errlen, "rendezvous at %s refused key %s", r->where, key);
    return ok ? 0 : -1;
}

int rdv_gather(rdv *r, const char *name, int cnt, void **vals, size_t *lens, char *err,
               size_t errlen)
{
    char num[16], ms[32], prefix[200];
    snprintf(prefix, sizeof prefix, "%s/%s", r->run, name);
    snprintf(num, sizeof num, "%d", cnt);
    snprintf(ms, sizeof ms, "%.0f", r->timeout_s * 1000);
    const char *parts[] = { "GATHER", prefix, num, ms };
    size_t plens[] = { 6, strlen(prefix), strlen(num), strlen(ms) };
    zmq_msg_t *rep = calloc((size_t)cnt + 2, sizeof *rep);
    if (!rep) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* The store answers at our deadline at the latest; allow it a moment. */
    int n = request(r, parts, plens, 4, r->timeout_s + 1, rep, cnt + 2, err, errlen);
    int rc = -1;
    if (n < 0)
        goto out;
    if (n >= 2 && zmq_msg_size(&rep[0]) == 3 && memcmp(zmq_msg_data(&rep[0]), "ERR", 3) == 0) {
        snprintf(err, errlen, "rendezvous at %s: %.*s within %.0f s", r->where,
                 (int)zmq_msg_size(&rep[1]), (const char *)zmq_msg_data(&rep[1]), r->timeout_s);
        goto out;
    }
    if (n != cnt + 1) {
        snprintf(err, errlen, "rendezvous at %s: malformed answer", r->where);
        goto out;
    }
    for (int i = 0; i < cnt; i++) {
        lens[i] = zmq_msg_size(&rep[i + 1]);
        vals[i] = malloc(lens[i] + 1);
        if (!vals[i]) {
            while (i-- > 0)
                free(vals[i]);
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        memcpy(vals[i], zmq_msg_data(&rep[i + 1]), lens[i]);
        ((char *)vals[i])[lens[i]] = '\0';
    }
    rc = 0;
out:
    for (int i = 0; i < (n > 0 ? n : 0); i++)
        zmq_msg_close(&rep[i]);
    free(rep);
    return rc;
}

void rdv_close(rdv **rp)
{
    if (!rp || !*rp)
        return;
    rdv *r = *rp;
    if (r->sock && !r->silent) {
        const char *parts[] = { "BYE", r->run };
        size_t lens[] = { 3, strlen(r->run) };
        zmq_msg_t rep[1];
        char err[64];
        int n = request(r, parts, lens, 2, 2, rep, 1, err, sizeof err);
        for (int i = 0; i < n; i++)
            zmq_msg_close(&rep[i]);
    }
    if (r->sock) {
        int none = 0;   /* requests a silent store never took are dropped */
        if (r->silent)
            zmq_setsockopt(r->sock, ZMQ_LINGER, &none, sizeof none);
        zmq_close(r->sock);
    }
    if (r->ctx)
        zmq_ctx_term(r->ctx);
    rdv_store_join(&r->store);
    free(r);
    *rp = NULL;
}
