/* Who may connect to ternd, and what a caller may do.
 *
 * Both endpoints are CURVE servers with ternd's key. libzmq asks the ZAP
 * handler (zap.c, polled by the loop) about each connecting key: on the
 * worker endpoint only worker keys get in; on the client endpoint user,
 * admin and worker keys from the authorized-keys file (a worker key is
 * refused per request, with a message), and the keys of running attempts
 * (srun and tern-rsh inside a job). The User-Id every message of that
 * connection carries is the public key itself: what the key may do is
 * looked up again for each request (auth_caller), in the authorized keys
 * as now loaded and the attempts now running, so a removed key or an ended
 * attempt is refused on a connection opened before.
 *
 * An attempt's key is derived from ternd's secret key, the job id and the
 * attempt (BLAKE2b), so a restarted ternd knows the keys of the attempts
 * still running without storing them. */
#include "scheduler/auth.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/logfold.h"
#include "common/zap.h"
#include "scheduler/attempt.h"
#include "scheduler/jobs.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define RELOAD_CHECK_MS 1000       /* the authorized-keys file is looked at this often */

struct auth {
    curve_key key;
    uint8_t raw_secret[32];
    void *zap;
    authkeys *keys;
    struct stat keys_stat;         /* of the file as loaded */
    int64_t keys_checked;          /* monotonic ms */
    strmap *jobs;                  /* attempt public key -> job id */
};

int auth_start(sched *s)
{
    if (!s->opt.key_path)
        return 0;   /* said once serving (sched_start): a failed start stays one line */
    char err[512];
    struct auth *a = calloc(1, sizeof *a);
    if (!a || !(a->jobs = strmap_new())) {
        free(a);
        log_err("out of memory");
        return -1;
    }
    s->auth = a;
    if (sodium_init() < 0) {
        log_err("cannot initialise libsodium");
        return -1;
    }
    if (!s->opt.authorized_keys) {
        log_err("--key needs --authorized-keys FILE (who may connect)");
        return -1;
    }
    if (curve_key_load(s->opt.key_path, &a->key, err, sizeof err) < 0 ||
        !(a->keys = authkeys_load(s->opt.authorized_keys, err, sizeof err)) ||
        stat(s->opt.authorized_keys, &a->keys_stat) < 0) {
        log_err("%s", err);
        return -1;
    }
    zmq_z85_decode(a->raw_secret, a->key.sec);
    if (!(a->zap = zap_open(s->zctx))) {
        log_err("cannot start the ZAP handler: %s", zmq_strerror(errno));
        return -1;
    }
    a->keys_checked = clock_mono_ms();
    log_info("authentication on: %zu authorized keys in %s, server key %s",
             authkeys_count(a->keys), s->opt.authorized_keys, a->key.pub);
    return 0;
}

void auth_stop(sched *s)
{
    struct auth *a = s->auth;
    if (!a)
        return;
    if (a->zap)
        zmq_close(a->zap);
    authkeys_destroy(&a->keys);
    strmap_destroy(&a->jobs);
    sodium_memzero(a, sizeof *a);
    free(a);
    s->auth = NULL;
}

int auth_socket(sched *s, void *sock, bool workers)
{
    if (!s->auth)
        return 0;
    return curve_server(sock, &s->auth->key, workers ? "workers" : "clients");
}

void *auth_zap(const sched *s)
{
    return s->auth ? s->auth->zap : NULL;
}

const char *auth_public(const sched *s)
{
    return s->auth ? s->auth->key.pub : "";
}

/* Picks up an edited authorized-keys file; a broken one keeps the old keys. */
static void reload_keys(struct auth *a, const char *path)
{
    int64_t now = clock_mono_ms();
    if (now - a->keys_checked < RELOAD_CHECK_MS)
        return;
    a->keys_checked = now;
    struct stat st;
    if (stat(path, &st) < 0) {
        log_warn("%s: %s (keeping the %zu keys loaded)", path, strerror(errno),
                 authkeys_count(a->keys));
        return;
    }
    if (st.st_mtim.tv_sec == a->keys_stat.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == a->keys_stat.st_mtim.tv_nsec && st.st_size == a->keys_stat.st_size &&
        st.st_ino == a->keys_stat.st_ino)
        return;
    char err[512];
    authkeys *fresh = authkeys_load(path, err, sizeof err);
    a->keys_stat = st;
    if (!fresh) {
        log_err("%s (keeping the %zu keys loaded)", err, authkeys_count(a->keys));
        return;
    }
    authkeys_destroy(&a->keys);
    a->keys = fresh;
    log_info("authorized keys reloaded: %zu keys in %s", authkeys_count(fresh), path);
}

static bool decide(void *arg, const char *domain, const char *key, char *user, size_t ulen,
                   char *why, size_t wlen)
{
    sched *s = arg;
    struct auth *a = s->auth;
    const authkey *k = authkeys_find(a->keys, key);
    bool workers = strcmp(domain, "workers") == 0;
    if (k && workers && k->role != AUTHKEY_WORKER)
        snprintf(why, wlen, "%s key may not register a worker",
                 k->role == AUTHKEY_ADMIN ? "an admin" : "a user");
    else if (k || (!workers && strmap_get(a->jobs, key)))
        return snprintf(user, ulen, "%s", key) > 0;
    else
        snprintf(why, wlen, "key not authorized");
    logfold_warn(s->folds, clock_mono_ms(), why, "%s endpoint: refused key %s",
                 workers ? "worker" : "client", key);
    return false;
}

void auth_serve(sched *s)
{
    if (!s->auth)
        return;
    /* Edits show up in the log within a second, connections or not. */
    reload_keys(s->auth, s->opt.authorized_keys);
    zap_serve(s->auth->zap, decide, s);
}

bool auth_job_key(const sched *s, const job *j, curve_key *k)
{
    if (!s->auth)
        return false;
    char msg[64];
    int n = snprintf(msg, sizeof msg, "tern attempt key %" PRIu64 ".%" PRIu32, j->id, j->attempt);
    uint8_t raw[32];
    char sec[CURVE_Z85];
    crypto_generichash(raw, sizeof raw, (const uint8_t *)msg, (size_t)n, s->auth->raw_secret,
                       sizeof s->auth->raw_secret);
    zmq_z85_encode(sec, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    return curve_key_from_secret(sec, k) == 0;
}

void auth_attempt_bound(sched *s, const job *j)
{
    curve_key k;
    if (auth_job_key(s, j, &k) && strmap_put(s->auth->jobs, k.pub, (void *)(uintptr_t)j->id) < 0)
        log_err("job=%" PRIu64 ": out of memory keeping its key", j->id);
}

void auth_attempt_released(sched *s, const job *j)
{
    curve_key k;
    if (auth_job_key(s, j, &k))
        strmap_del(s->auth->jobs, k.pub);
}

void auth_forget_jobs(sched *s)
{
    if (!s->auth)
        return;
    strmap_destroy(&s->auth->jobs);
    s->auth->jobs = strmap_new();
}

void auth_caller(const sched *s, const wire_peer *peer, caller *c)
{
    memset(c, 0, sizeof *c);
    if (!s->auth) {
        c->role = CALLER_TRUSTED;
        return;
    }
    const authkey *k = authkeys_find(s->auth->keys, peer->user);
    if (k) {
        c->role = k->role == AUTHKEY_ADMIN  ? CALLER_ADMIN
                  : k->role == AUTHKEY_USER ? CALLER_USER : CALLER_WORKER;
        c->admin = k->role == AUTHKEY_ADMIN;
        snprintf(c->name, sizeof c->name, "%s", k->name);
        return;
    }
    /* An attempt's key acts as its job's user, for that job alone, while
     * the attempt runs and its user still has a key of the role that
     * submitted it (a removed user's jobs cannot go on submitting). */
    uint64_t id = (uint64_t)(uintptr_t)strmap_get(s->auth->jobs, peer->user);
    const job *j = id ? sched_job(s, id) : NULL;
    if (j && job_live(j) &&
        authkeys_has(s->auth->keys, j->spec->admin ? AUTHKEY_ADMIN : AUTHKEY_USER, j->spec->user)) {
        c->role = CALLER_JOB;
        c->job_id = j->id;
        c->admin = j->spec->admin;
        snprintf(c->name, sizeof c->name, "%s", j->spec->user);
        return;
    }
    c->role = CALLER_REVOKED;
}

bool auth_may_manage(const caller *c, const job *j)
{
    switch (c->role) {
    case CALLER_TRUSTED:
    case CALLER_ADMIN:
        return true;
    case CALLER_USER:
        /* Name and role together: a user key named like an admin's user
         * (root) is not that admin. */
        return !j->spec->admin && c->name[0] && strcmp(c->name, j->spec->user) == 0;
    case CALLER_JOB:
        return c->job_id == j->id;
    default:
        return false;
    }
}

const char *auth_rate_key(const caller *c, const wire_peer *peer, char *buf, size_t len)
{
    if (c->role == CALLER_USER || c->role == CALLER_ADMIN || c->role == CALLER_JOB) {
        snprintf(buf, len, "%s:%s", c->admin ? "admin" : "user", c->name);
    } else if (peer->user[0]) {
        snprintf(buf, len, "key:%s", peer->user);
    } else {
        size_t n = (size_t)snprintf(buf, len, "connection:");
        for (size_t i = 0; i < peer->id_len && n + 3 < len; i++)
            n += (size_t)snprintf(buf + n, len - n, "%02x", peer->id[i]);
    }
    return buf;
}

const char *auth_worker_node(const sched *s, const wire_peer *peer)
{
    if (!s->auth)
        return "*";
    const authkey *k = authkeys_find(s->auth->keys, peer->user);
    return k && k->role == AUTHKEY_WORKER ? k->name : NULL;
}

const char *auth_caller_name(const caller *c, char *buf, size_t len)
{
    static const char *roles[] = { "client", "user", "admin", "worker", "job", "revoked key" };
    if (c->role == CALLER_JOB)
        snprintf(buf, len, "user %s (the key of job %llu)", c->name,
                 (unsigned long long)c->job_id);
    else
        snprintf(buf, len, "%s %s", roles[c->role], c->name);
    return buf;
}
