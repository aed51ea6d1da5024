/* Who may connect to ternd, and what a caller may do (auth.c).
 *
 * Both endpoints are CURVE servers with ternd's key when --key is given;
 * with no key authentication is off, s->auth is NULL, and every function
 * here answers as for a trusted cluster (see each). The authorized-keys
 * file is read again when it changes. An attempt's key is derived from
 * ternd's secret key, so a restarted ternd knows the keys of the attempts
 * still running without storing them. */
#ifndef TERN_SCHED_AUTH_H
#define TERN_SCHED_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/authkeys.h"
#include "common/curve.h"
#include "scheduler/sched.h"

/* What a request's sender is. With authentication off every client is
 * TRUSTED: taken for the user it says it is, and allowed what an admin is. */
enum caller_role {
    CALLER_TRUSTED, CALLER_USER, CALLER_ADMIN, CALLER_WORKER,
    CALLER_JOB,                    /* a running attempt's key: its job's user, for that job */
    CALLER_REVOKED,                /* a key no longer authorized, or its attempt ended */
};
typedef struct caller {
    enum caller_role role;
    char name[AUTHKEY_NAME_MAX + 1]; /* the key's user (a job key: the job's user) */
    bool admin;                    /* an admin key, or the key of an admin's job */
    uint64_t job_id;               /* CALLER_JOB: the job it may act on */
} caller;

/* Reads ternd's key and the authorized keys and starts the ZAP handler on
 * s->zctx; nothing when s->opt.key_path is NULL. Returns 0, or -1 (logged:
 * a key file unreadable, no --authorized-keys); s->auth may then be set
 * all the same, for auth_stop to free. */
int auth_start(sched *s);
/* Frees s->auth (the secret wiped) and closes the ZAP socket; accepts
 * authentication off. */
void auth_stop(sched *s);
/* Makes ROUTER socket 'sock' a CURVE server of domain "workers" or
 * "clients". Returns 0 (also when off), or -1 with errno set. */
int auth_socket(sched *s, void *sock, bool workers);
/* ZAP's socket, to poll with the others (owned by auth); NULL when off. */
void *auth_zap(const sched *s);
/* Answers the ZAP requests waiting, first picking up an edited
 * authorized-keys file (at most once a second; a broken one keeps the
 * keys loaded, logged). Refused keys are logged folded. */
void auth_serve(sched *s);
/* The server's public key, Z85 (owned by auth; "" when off), for the
 * endpoints file. */
const char *auth_public(const sched *s);
/* The CURVE key of j's current attempt into 'k': its ranks' rendezvous and
 * its srun calls. Returns false when authentication is off (k untouched). */
bool auth_job_key(const sched *s, const job *j, curve_key *k);
/* j's attempt starts: its key may connect (out of memory: logged, and the
 * key is refused). */
void auth_attempt_bound(sched *s, const job *j);
/* j's attempt ends: its key may not connect any more, nor act. */
void auth_attempt_released(sched *s, const job *j);
/* Forgets every attempt's key (before a reload binds the running ones
 * again). */
void auth_forget_jobs(sched *s);
/* Fills 'c' with who sent a request that arrived from 'peer' on the client
 * socket, by the authorized keys and attempts of now (not of the
 * handshake): CALLER_REVOKED for a key no longer authorized or an attempt
 * that ended. */
void auth_caller(const sched *s, const wire_peer *peer, caller *c);
/* Whether 'c' may cancel, signal, start steps in or read the environment
 * of 'j': an admin; its user's own key unless an admin submitted it; the
 * key of its running attempt. */
bool auth_may_manage(const caller *c, const job *j);
/* The rate-limit bucket of a request into 'buf' (len bytes, cut to fit):
 * its user in its role ("user:alice", "admin:root": their key and their
 * jobs' keys alike), else its key or its connection. Returns buf. */
const char *auth_rate_key(const caller *c, const wire_peer *peer, char *buf, size_t len);
/* The node a worker connection may speak for: its worker key's name (owned
 * by auth, valid until the keys are next reloaded), "*" with authentication
 * off, NULL when its key is no longer authorized as a worker's. */
const char *auth_worker_node(const sched *s, const wire_peer *peer);
/* "user NAME", "admin NAME", "user NAME (the key of job N)" for messages,
 * into 'buf' (len bytes, cut to fit). Returns buf. */
const char *auth_caller_name(const caller *c, char *buf, size_t len);

#endif
