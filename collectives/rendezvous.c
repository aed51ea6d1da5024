/* The rendezvous: rank 0 serves a key-value store over ZeroMQ on
 * MASTER_ADDR:MASTER_PORT while the communicator forms. Every rank sets
 * its own keys and gathers everybody's; a gather that is not complete by
 * its deadline is answered with the ranks that never came.
 *
 * Every key starts with the run's id ("RUN/peer3": the job and attempt), so
 * a stale process of an earlier attempt that reaches a reused port can
 * neither overwrite nor end this run's store.
 *
 * With TERN_JOB_KEY (the attempt's CURVE key, from ternd) the store speaks
 * CURVE with it and rank 0's ZAP handler lets in that key alone: a process
 * outside the job cannot read or write the store.
 *
 * Requests (DEALER -> ROUTER, multipart): SET key value | GATHER prefix n
 * deadline_ms | BYE run. Replies: OK [values...] | ERR message. */
#include "collectives/coll.h"

#include "common/curve.h"
#include "common/strmap.h"
#include "common/zap.h"
#include "common/grow.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_KEYS (2 * COLL_MAX_WORLD + 16)

typedef struct kv {
    void *val;
    size_t len;
} kv;

typedef struct pending {
    unsigned char id[256];
    size_t idlen;
    char prefix[200];
    int n;
    double deadline;
} pending;

typedef struct server {
    void *ctx, *sock;
    void *zap;                     /* the ZAP handler with a job key; NULL: none */
    curve_key key;
    int size;
    char run[96];
    double deadline;               /* stop serving then, whatever happens */
    strmap *kvs;                   /* key -> kv */
    strmap *counts;                /* prefix -> how many of its keys are set */
    kv **all;                      /* every kv, to free */
    size_t nkv;
    pending *pend;
    size_t npend, cappend;
    int byes;
    int clients;                   /* distinct ranks that came (by routing id) */
    unsigned char (*ids)[256];
    size_t *idlens;
    bool failed;                   /* a gather was answered with missing ranks */
} server;

struct rdv {
    void *ctx, *sock;
    char where[160];
    char run[96];
    double timeout_s;
    server *srv;
    pthread_t thread;
    bool has_thread;
    bool silent;                   /* the store never answered: no goodbye */
};

static kv *kv_find(server *s, const char *key)
{
    return strmap_get(s->kvs, key);
}

/* "RUN/peer12" -> "RUN/peer": the prefix a gather names. */
static void key_prefix(const char *key, char *out, size_t len)
{
    size_t n = strlen(key);
    while (n > 0 && key[n - 1] >= '0' && key[n - 1] <= '9')
        n--;
    snprintf(out, len, "%.*s", (int)n, key);
}

static size_t prefix_count(server *s, const char *prefix)
{
    return (size_t)(uintptr_t)strmap_get(s->counts, prefix);
}

static void send_frames(void *sock, const unsigned char *id, size_t idlen, const char *head,
                        const kv *const *vals, int n, const char *text)
{
    zmq_send(sock, id, idlen, ZMQ_SNDMORE);
    bool more = n > 0 || text;
    zmq_send(sock, head, strlen(head), more ? ZMQ_SNDMORE : 0);
    if (text)
        zmq_send(sock, text, strlen(text), 0);
    for (int i = 0; i < n; i++)
        zmq_send(sock, vals[i]->val, vals[i]->len, i + 1 < n ? ZMQ_SNDMORE : 0);
}

/* Answers a pending gather if complete, or (at its deadline) with who is
 * missing. Returns true when answered. */
static bool try_answer(server *s, pending *p, double now)
{
    if (prefix_count(s, p->prefix) < (size_t)p->n && now < p->deadline)
        return false;              /* cheap: nothing to look at yet */
    const kv **vals = calloc((size_t)p->n, sizeof *vals);
    if (!vals)
        return false;
    int have = 0;
    for (int i = 0; i < p->n; i++) {
        char key[220];
        snprintf(key, sizeof key, "%s%d", p->prefix, i);
        vals[i] = kv_find(s, key);
        have += vals[i] != NULL;
    }
    bool done = true;
    if (have == p->n) {
        send_frames(s->sock, p->id, p->idlen, "OK", vals, p->n, NULL);
    } else if (now >= p->deadline) {
        char msg[512];
        int o = snprintf(msg, sizeof msg, "rank%s ", p->n - have > 1 ? "s" : "");
        int listed = 0;
        for (int i = 0; i < p->n && o < (int)sizeof msg - 40; i++) {
            if (vals[i])
                continue;
            o += snprintf(msg + o, sizeof msg - (size_t)o, "%s%d", listed++ ? ", " : "", i);
        }
        if (listed < p->n - have)
            o += snprintf(msg + o, sizeof msg - (size_t)o, " and %d more", p->n - have - listed);
        snprintf(msg + o, sizeof msg - (size_t)o, " never arrived");
        send_frames(s->sock, p->id, p->idlen, "ERR", NULL, 0, msg);
        s->failed = true;
    } else {
        done = false;
    }
    free(vals);
    return done;
}

/* Counts the distinct clients, so that a failed rendezvous can end once
 * every rank that came has left. */
static void remember(server *s, const unsigned char *id, size_t len)
{
    for (int i = 0; i < s->clients; i++)
        if (s->idlens[i] == len && memcmp(s->ids[i], id, len) == 0)
            return;
    if (s->clients >= s->size)
        return;
    memcpy(s->ids[s->clients], id, len);
    s->idlens[s->clients++] = len;
}

static void serve_one(server *s, double now)
{
    zmq_msg_t f[5];
    int n = 0, more = 1;
    while (more && n < 5) {
        zmq_msg_init(&f[n]);
        if (zmq_msg_recv(&f[n], s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f[n]);
            break;
        }
        more = zmq_msg_more(&f[n]);
        n++;
    }
    while (more) {   /* more frames than any request has: drop them */
        zmq_msg_t x;
        zmq_msg_init(&x);
        if (zmq_msg_recv(&x, s->sock, ZMQ_DONTWAIT) < 0)
            more = 0;
        else
            more = zmq_msg_more(&x);
        zmq_msg_close(&x);
    }
    if (n < 2 || zmq_msg_size(&f[0]) > 255)
        goto done;
    const unsigned char *id = zmq_msg_data(&f[0]);
    size_t idlen = zmq_msg_size(&f[0]);
    remember(s, id, idlen);
    size_t cl = zmq_msg_size(&f[1]);
    const char *cmd = zmq_msg_data(&f[1]);
    char arg[200] = "";
    if (n >= 3 && zmq_msg_size(&f[2]) < sizeof arg)
        memcpy(arg, zmq_msg_data(&f[2]), zmq_msg_size(&f[2]));
    size_t runlen = strlen(s->run);
    bool ours = strncmp(arg, s->run, runlen) == 0 && arg[runlen] == '/';
    if (cl == 3 && memcmp(cmd, "SET", 3) == 0 && n == 4 && ours) {
        kv *k = kv_find(s, arg);
        void *val = malloc(zmq_msg_size(&f[3]) + 1);
        if (!val || (!k && s->nkv == MAX_KEYS)) {
            free(val);
            goto done;
        }
        memcpy(val, zmq_msg_data(&f[3]), zmq_msg_size(&f[3]));
        if (!k) {
            kv **grown = realloc(s->all, (s->nkv + 1) * sizeof *grown);
            k = calloc(1, sizeof *k);
            if (grown)
                s->all = grown;
            if (!grown || !k || strmap_put(s->kvs, arg, k) < 0) {
                free(k);
                free(val);
                goto done;
            }
            s->all[s->nkv++] = k;
            char prefix[200];
            key_prefix(arg, prefix, sizeof prefix);
            strmap_put(s->counts, prefix, (void *)(uintptr_t)(prefix_count(s, prefix) + 1));
        }
        free(k->val);
        k->val = val;
        k->len = zmq_msg_size(&f[3]);
        send_frames(s->sock, id, idlen, "OK", NULL, 0, NULL);
        /* Only gathers of this prefix can have become complete. */
        char prefix[200];
        key_prefix(arg, prefix, sizeof prefix);
        for (size_t i = 0; i < s->npend;) {
            if (strcmp(s->pend[i].prefix, prefix) == 0 && try_answer(s, &s->pend[i], now))
                s->pend[i] = s->pend[--s->npend];
            else
                i++;
        }
    } else if (cl == 6 && memcmp(cmd, "GATHER", 6) == 0 && n == 5 && ours) {
        char num[32] = "", ms[32] = "";
        if (zmq_msg_size(&f[3]) < sizeof num)
            memcpy(num, zmq_msg_data(&f[3]), zmq_msg_size(&f[3]));
        if (zmq_msg_size(&f[4]) < sizeof ms)
            memcpy(ms, zmq_msg_data(&f[4]), zmq_msg_size(&f[4]));
        int cnt = atoi(num);
        if (cnt < 1 || cnt > COLL_MAX_WORLD || s->npend >= 4 * (size_t)COLL_MAX_WORLD)
            goto done;
        pending *np = grow(s->pend, &s->cappend, s->npend + 1, sizeof *np, 16);
        if (!np)
            goto done;
        s->pend = np;
        pending *p = &s->pend[s->npend];
        memcpy(p->id, id, idlen);
        p->idlen = idlen;
        snprintf(p->prefix, sizeof p->prefix, "%s", arg);
        p->n = cnt;
        p->deadline = now + atof(ms) / 1000.0;
        if (!try_answer(s, p, now))
            s->npend++;
    } else if (cl == 3 && memcmp(cmd, "BYE", 3) == 0 && n == 3 && strcmp(arg, s->run) == 0) {
        s->byes++;
        send_frames(s->sock, id, idlen, "OK", NULL, 0, NULL);
    } else {   /* another run's, or malformed */
        send_frames(s->sock, id, idlen, "ERR", NULL, 0, "not this run's rendezvous");
    }
done:
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

/* Only the attempt's own key gets in. */
static bool same_job(void *arg, const char *domain, const char *key, char *user, size_t ulen,
                     char *why, size_t wlen)
{
    const server *s = arg;
    (void)domain;
    if (strcmp(key, s->key.pub) == 0) {
        snprintf(user, ulen, "rank");
        return true;
    }
    snprintf(why, wlen, "not this job's key");
    return false;
}

static void *serve(void *arg)
{
    server *s = arg;
    while (s->byes < s->size && !(s->failed && s->byes >= s->clients)) {
        double now = coll_now();
        if (now > s->deadline)
            break;
        zmq_pollitem_t it[2] = { { s->sock, 0, ZMQ_POLLIN, 0 }, { s->zap, 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll(it, s->zap ? 2 : 1, 50) > 0) {
            if (s->zap && (it[1].revents & ZMQ_POLLIN))
                zap_serve(s->zap, same_job, s);
            if (it[0].revents & ZMQ_POLLIN)
                serve_one(s, now);
        }
        now = coll_now();
        for (size_t i = 0; i < s->npend;) {   /* answers only at their deadline */
            if (now >= s->pend[i].deadline && try_answer(s, &s->pend[i], now))
                s->pend[i] = s->pend[--s->npend];
            else
                i++;
        }
    }
    return NULL;
}

static void server_free(server *s)
{
    if (!s)
        return;
    if (s->sock)
        zmq_close(s->sock);
    if (s->zap)
        zmq_close(s->zap);
    if (s->ctx)
        zmq_ctx_term(s->ctx);
    for (size_t i = 0; i < s->nkv; i++) {
        free(s->all[i]->val);
        free(s->all[i]);
    }
    free(s->all);
    strmap_destroy(&s->kvs);
    strmap_destroy(&s->counts);
    free(s->pend);
    free(s->ids);
    free(s->idlens);
    free(s);
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
    int linger = 1000;
    const char *jk = getenv("TERN_JOB_KEY");
    curve_key key;
    bool curve = jk && *jk;
    if (curve && curve_key_from_secret(jk, &key) < 0) {
        snprintf(err, errlen, "TERN_JOB_KEY is not a Z85 secret key");
        rdv_close(&r);
        return NULL;
    }
    if (rank == 0) {
        server *s = calloc(1, sizeof *s);
        if (!s)
            goto oom;
        r->srv = s;
        s->size = size;
        snprintf(s->run, sizeof s->run, "%s", run);
        s->kvs = strmap_new();
        s->counts = strmap_new();
        if (!s->kvs || !s->counts)
            goto oom;
        s->ids = calloc((size_t)size, sizeof *s->ids);
        s->idlens = calloc((size_t)size, sizeof *s->idlens);
        if (!s->ids || !s->idlens)
            goto oom;
        /* Rank 0 may leave init before the last rank has said goodbye. */
        s->deadline = coll_now() + timeout_s + 10;
        s->ctx = zmq_ctx_new();
        s->sock = s->ctx ? zmq_socket(s->ctx, ZMQ_ROUTER) : NULL;
        char ep[64];
        snprintf(ep, sizeof ep, "tcp://*:%d", port);
        if (curve) {
            s->key = key;
            if (!s->sock || !(s->zap = zap_open(s->ctx)) ||
                curve_server(s->sock, &key, "rendezvous") < 0) {
                snprintf(err, errlen, "rank 0 cannot set up CURVE for the rendezvous: %s",
                         zmq_strerror(errno));
                goto error;
            }
        }
        if (!s->sock || zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
            zmq_bind(s->sock, ep) < 0) {
            snprintf(err, errlen, "rank 0 cannot serve the rendezvous on port %d: %s", port,
                     zmq_strerror(errno));
            goto error;
        }
        if (pthread_create(&r->thread, NULL, serve, s) != 0) {
            snprintf(err, errlen, "cannot start the rendezvous thread");
            goto error;
        }
        r->has_thread = true;
    }
    r->ctx = zmq_ctx_new();
    r->sock = r->ctx ? zmq_socket(r->ctx, ZMQ_DEALER) : NULL;
    int ivl = 50, sndtimeo = (int)(timeout_s * 1000);
    char ep[200];
    snprintf(ep, sizeof ep, "tcp://%s:%d", addr, port);
    if (!r->sock || (curve && curve_client(r->sock, &key, key.pub) < 0) ||
        zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_setsockopt(r->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) < 0 ||
        zmq_setsockopt(r->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) < 0 ||
        zmq_connect(r->sock, ep) < 0) {
        snprintf(err, errlen, "cannot reach the rendezvous at %s: %s", r->where,
                 zmq_strerror(errno));
        r->silent = true;          /* nobody to say goodbye to */
        goto error;
    }
    return r;
oom:
    snprintf(err, errlen, "out of memory");
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
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, r->sock, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < max)
            reply[n++] = m;
        else
            zmq_msg_close(&m);
    }
    return n;
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
    if (r->has_thread)
        pthread_join(r->thread, NULL);
    server_free(r->srv);
    free(r);
    *rp = NULL;
}
