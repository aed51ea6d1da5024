/* Rank 0's key-value store for the rendezvous (rdv_store.h): a thread
 * answers SET, GATHER and BYE until every rank has left. Gathers wait in
 * 'pend' until the keys they name are all set or their deadline comes. */
#include "collectives/rdv_store.h"

#include "collectives/coll.h"
#include "common/grow.h"
#include "common/strmap.h"
#include "common/zframes.h"
#include "common/zap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS (2 * COLL_MAX_WORLD + 16)
#define MAX_FRAMES 5               /* routing id, command and at most three arguments */

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

struct rdv_store {
    void *ctx, *sock;
    void *zap;                     /* the ZAP handler with a job key; NULL: none */
    curve_key key;
    int size;
    char run[96];
    double deadline;               /* stop serving then, whatever happens */
    pthread_t thread;
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
};

/* One request as it came: its frames, the client's routing id, and the
 * argument (a key, a prefix or the run; "" when absent or too long). */
typedef struct request {
    zmq_msg_t f[MAX_FRAMES];
    int n;
    const unsigned char *id;
    size_t idlen;
    char arg[200];
} request;

static kv *kv_find(rdv_store *s, const char *key)
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

static size_t prefix_count(rdv_store *s, const char *prefix)
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

/* "ranks 3, 5 and 2 more never arrived": the keys of 'p' that have no value. */
static void say_missing(const pending *p, const kv *const *vals, int have, char *msg,
                        size_t len)
{
    int o = snprintf(msg, len, "rank%s ", p->n - have > 1 ? "s" : "");
    int listed = 0;
    for (int i = 0; i < p->n && o < (int)len - 40; i++) {
        if (vals[i])
            continue;
        o += snprintf(msg + o, len - (size_t)o, "%s%d", listed++ ? ", " : "", i);
    }
    if (listed < p->n - have)
        o += snprintf(msg + o, len - (size_t)o, " and %d more", p->n - have - listed);
    snprintf(msg + o, len - (size_t)o, " never arrived");
}

/* Answers a pending gather if complete, or (at its deadline) with who is
 * missing. Returns true when answered. */
static bool try_answer(rdv_store *s, pending *p, double now)
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
        say_missing(p, vals, have, msg, sizeof msg);
        send_frames(s->sock, p->id, p->idlen, "ERR", NULL, 0, msg);
        s->failed = true;
    } else {
        done = false;
    }
    free(vals);
    return done;
}

/* Answers the pending gathers that can be: those of 'prefix' (one of its
 * keys was just set), or with NULL those whose deadline has come. */
static void answer_pending(rdv_store *s, const char *prefix, double now)
{
    for (size_t i = 0; i < s->npend;) {
        pending *p = &s->pend[i];
        bool due = prefix ? strcmp(p->prefix, prefix) == 0 : now >= p->deadline;
        if (due && try_answer(s, p, now))
            *p = s->pend[--s->npend];
        else
            i++;
    }
}

/* Counts the distinct clients, so that a failed rendezvous can end once
 * every rank that came has left. */
static void remember(rdv_store *s, const unsigned char *id, size_t len)
{
    for (int i = 0; i < s->clients; i++)
        if (s->idlens[i] == len && memcmp(s->ids[i], id, len) == 0)
            return;
    if (s->clients >= s->size)
        return;
    memcpy(s->ids[s->clients], id, len);
    s->idlens[s->clients++] = len;
}

/* Frame 'm' as a string in out, or "" when it does not fit. */
static void frame_str(zmq_msg_t *m, char *out, size_t len)
{
    size_t n = zmq_msg_size(m);
    if (n >= len)
        n = 0;
    memcpy(out, zmq_msg_data(m), n);
    out[n] = '\0';
}

/* True when request q is command 'cmd' with 'nframes' frames. */
static bool is_cmd(request *q, const char *cmd, int nframes)
{
    size_t cl = strlen(cmd);
    return q->n == nframes && zmq_msg_size(&q->f[1]) == cl &&
           memcmp(zmq_msg_data(&q->f[1]), cmd, cl) == 0;
}

/* A new key's kv, counted under its prefix. NULL when out of memory. */
static kv *kv_add(rdv_store *s, const char *key)
{
    kv **grown = realloc(s->all, (s->nkv + 1) * sizeof *grown);
    kv *k = calloc(1, sizeof *k);
    if (grown)
        s->all = grown;
    if (!grown || !k || strmap_put(s->kvs, key, k) < 0) {
        free(k);
        return NULL;
    }
    s->all[s->nkv++] = k;
    char prefix[200];
    key_prefix(key, prefix, sizeof prefix);
    strmap_put(s->counts, prefix, (void *)(uintptr_t)(prefix_count(s, prefix) + 1));
    return k;
}

/* SET key value: stores the value (a key may be set again) and answers
 * the gathers it completes. */
static void serve_set(rdv_store *s, request *q, double now)
{
    kv *k = kv_find(s, q->arg);
    size_t len = zmq_msg_size(&q->f[3]);
    void *val = malloc(len + 1);
    if (val && !k && s->nkv < MAX_KEYS)
        k = kv_add(s, q->arg);
    if (!val || !k) {
        free(val);
        return;
    }
    memcpy(val, zmq_msg_data(&q->f[3]), len);
    free(k->val);
    k->val = val;
    k->len = len;
    send_frames(s->sock, q->id, q->idlen, "OK", NULL, 0, NULL);
    /* Only gathers of this prefix can have become complete. */
    char prefix[200];
    key_prefix(q->arg, prefix, sizeof prefix);
    answer_pending(s, prefix, now);
}

/* GATHER prefix n deadline_ms: answered now when complete, else once it
 * is or at its deadline. */
static void serve_gather(rdv_store *s, request *q, double now)
{
    char num[32], ms[32];
    frame_str(&q->f[3], num, sizeof num);
    frame_str(&q->f[4], ms, sizeof ms);
    int cnt = atoi(num);
    if (cnt < 1 || cnt > COLL_MAX_WORLD || s->npend >= 4 * (size_t)COLL_MAX_WORLD)
        return;
    pending *np = grow(s->pend, &s->cappend, s->npend + 1, sizeof *np, 16);
    if (!np)
        return;
    s->pend = np;
    pending *p = &s->pend[s->npend];
    memcpy(p->id, q->id, q->idlen);
    p->idlen = q->idlen;
    snprintf(p->prefix, sizeof p->prefix, "%s", q->arg);
    p->n = cnt;
    p->deadline = now + atof(ms) / 1000.0;
    if (!try_answer(s, p, now))
        s->npend++;
}

/* One request that has its routing id and command. */
static void serve_request(rdv_store *s, request *q, double now)
{
    q->id = zmq_msg_data(&q->f[0]);
    q->idlen = zmq_msg_size(&q->f[0]);
    remember(s, q->id, q->idlen);
    q->arg[0] = '\0';
    if (q->n >= 3)
        frame_str(&q->f[2], q->arg, sizeof q->arg);
    size_t runlen = strlen(s->run);
    bool ours = strncmp(q->arg, s->run, runlen) == 0 && q->arg[runlen] == '/';
    if (is_cmd(q, "SET", 4) && ours) {
        serve_set(s, q, now);
    } else if (is_cmd(q, "GATHER", 5) && ours) {
        serve_gather(s, q, now);
    } else if (is_cmd(q, "BYE", 3) && strcmp(q->arg, s->run) == 0) {
        s->byes++;
        send_frames(s->sock, q->id, q->idlen, "OK", NULL, 0, NULL);
    } else {   /* another run's, or malformed */
        send_frames(s->sock, q->id, q->idlen, "ERR", NULL, 0, "not this run's rendezvous");
    }
}

static void serve_one(rdv_store *s, double now)
{
    request q;
    q.n = zframes_recv(s->sock, q.f, MAX_FRAMES, ZMQ_DONTWAIT);
    if (q.n >= 2 && zmq_msg_size(&q.f[0]) <= 255)   /* a routing id fits pending.id */
        serve_request(s, &q, now);
    for (int i = 0; i < q.n; i++)
        zmq_msg_close(&q.f[i]);
}

/* Only the attempt's own key gets in. */
static bool same_job(void *arg, const char *domain, const char *key, char *user, size_t ulen,
                     char *why, size_t wlen)
{
    const rdv_store *s = arg;
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
    rdv_store *s = arg;
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
        answer_pending(s, NULL, coll_now());   /* those at their deadline */
    }
    return NULL;
}

static void store_free(rdv_store *s)
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

static rdv_store *store_new(int size, const char *run)
{
    rdv_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->size = size;
    snprintf(s->run, sizeof s->run, "%s", run);
    s->kvs = strmap_new();
    s->counts = strmap_new();
    s->ids = calloc((size_t)size, sizeof *s->ids);
    s->idlens = calloc((size_t)size, sizeof *s->idlens);
    if (!s->kvs || !s->counts || !s->ids || !s->idlens) {
        store_free(s);
        return NULL;
    }
    return s;
}

/* The ROUTER socket on 'port', CURVE with 'key'. 0, or -1 with the reason. */
static int store_bind(rdv_store *s, int port, const curve_key *key, char *err, size_t errlen)
{
    int linger = 1000;
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://*:%d", port);
    s->ctx = zmq_ctx_new();
    s->sock = s->ctx ? zmq_socket(s->ctx, ZMQ_ROUTER) : NULL;
    if (key) {
        s->key = *key;
        if (!s->sock || !(s->zap = zap_open(s->ctx)) ||
            curve_server(s->sock, key, "rendezvous") < 0) {
            snprintf(err, errlen, "rank 0 cannot set up CURVE for the rendezvous: %s",
                     zmq_strerror(errno));
            return -1;
        }
    }
    if (!s->sock || zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_bind(s->sock, ep) < 0) {
        snprintf(err, errlen, "rank 0 cannot serve the rendezvous on port %d: %s", port,
                 zmq_strerror(errno));
        return -1;
    }
    return 0;
}

rdv_store *rdv_store_start(int size, const char *run, int port, const curve_key *key,
                           double timeout_s, char *err, size_t errlen)
{
    rdv_store *s = store_new(size, run);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* Rank 0 may leave init before the last rank has said goodbye. */
    s->deadline = coll_now() + timeout_s + 10;
    if (store_bind(s, port, key, err, errlen) < 0) {
        store_free(s);
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        snprintf(err, errlen, "cannot start the rendezvous thread");
        store_free(s);
        return NULL;
    }
    return s;
}

void rdv_store_join(rdv_store **sp)
{
    if (!sp || !*sp)
        return;
    pthread_join((*sp)->thread, NULL);
    store_free(*sp);
    *sp = NULL;
}
