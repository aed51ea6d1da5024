/* common/wire over real ZeroMQ sockets (inproc, and ipc where the transport's
 * message size limit matters), and common/jobspec validation. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/jobspec.h"
#include "common/wire.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

typedef struct pair {
    void *ctx;
    void *router;
    void *peer;          /* DEALER or REQ, routing id "w1" */
    char *dir;           /* for ipc */
} pair;

static void set_timeouts(void *sock)
{
    int ms = 3000;
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &ms, sizeof ms);
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &ms, sizeof ms);
}

/* A ROUTER bound and a 'type' socket connected to it. With 'ipc', over a
 * socket file in a temporary directory, else inproc. */
static int pair_open(pair *p, int type, int ipc)
{
    char ep[1100];
    memset(p, 0, sizeof *p);
    p->ctx = zmq_ctx_new();
    if (!p->ctx)
        return -1;
    p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
    p->peer = zmq_socket(p->ctx, type);
    if (!p->router || !p->peer)
        return -1;
    if (wire_socket_defaults(p->router) < 0 || wire_socket_defaults(p->peer) < 0)
        return -1;
    set_timeouts(p->router);
    set_timeouts(p->peer);
    if (zmq_setsockopt(p->peer, ZMQ_ROUTING_ID, "w1", 2) < 0)
        return -1;
    if (ipc) {
        p->dir = unit_tmpdir();
        if (!p->dir)
            return -1;
        snprintf(ep, sizeof ep, "ipc://%s/sock", p->dir);
    } else {
        snprintf(ep, sizeof ep, "inproc://wire-test");
    }
    if (zmq_bind(p->router, ep) < 0 || zmq_connect(p->peer, ep) < 0)
        return -1;
    return 0;
}

static void pair_close(pair *p)
{
    if (p->router)
        zmq_close(p->router);
    if (p->peer)
        zmq_close(p->peer);
    if (p->ctx)
        zmq_ctx_term(p->ctx);
    if (p->dir) {
        unit_rmrf(p->dir);
        free(p->dir);
    }
    memset(p, 0, sizeof *p);
}

/* Packs 'env' as is (any version) and sends the bytes from 'sock'. */
static int send_raw_envelope(void *sock, const Tern__Envelope *env)
{
    size_t len = tern__envelope__get_packed_size(env);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return -1;
    tern__envelope__pack(env, buf);
    int rc = zmq_send(sock, buf, len, 0);
    free(buf);
    return rc < 0 ? -1 : 0;
}

/* 'env' numbered 'seq' with 'ok' as its body, the Ok left empty. */
static void ok_envelope(Tern__Envelope *env, Tern__Ok *ok, uint64_t seq)
{
    tern__ok__init(ok);
    wire_init(env, seq);
    env->body_case = TERN__ENVELOPE__BODY_OK;
    env->ok = ok;
}

/* 'env' numbered 'seq' asking for the job list 'q', sent from 'sock'. */
static int send_jobs_query(void *sock, Tern__Envelope *env, Tern__JobsRequest *q, uint64_t seq)
{
    tern__jobs_request__init(q);
    wire_init(env, seq);
    env->body_case = TERN__ENVELOPE__BODY_JOBS_QUERY;
    env->jobs_query = q;
    return wire_send(sock, NULL, env, 0);
}

static void peer_is_w1(const wire_peer *peer, bool delim)
{
    CU_ASSERT_EQUAL(peer->id_len, 2);
    CU_ASSERT_EQUAL(memcmp(peer->id, "w1", 2), 0);
    CU_ASSERT_EQUAL(peer->delim, delim);
}

/* ---- round trips ------------------------------------------------------------- */

static void test_round_trip(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_open(&p, ZMQ_DEALER, 0), 0);

    char *argv[] = { "python", "train.py", "--lr=0.1" };
    char *envv[] = { "PATH=/usr/bin", "FOO=bar" };
    static const uint8_t script[] = "#!/bin/sh\n\0binary\xff";
    Tern__JobSpec spec = TERN__JOB_SPEC__INIT;
    spec.name = "train";
    spec.user = "alice";
    spec.uid = 1000;
    spec.argv = argv;
    spec.n_argv = N_ELEMS(argv);
    spec.env = envv;
    spec.n_env = N_ELEMS(envv);
    spec.cwd = "/home/alice";
    spec.nodes = 2;
    spec.tasks_per_node = 4;
    spec.gpus_per_node = 8;
    spec.cpus_per_task = 2;
    spec.time_limit_s = 3600;
    spec.priority = -5;
    spec.preempt_signal = SIGUSR2;
    spec.script.data = (uint8_t *)script;
    spec.script.len = sizeof script;
    spec.token = "tok-123";
    Tern__SubmitRequest sub = TERN__SUBMIT_REQUEST__INIT;
    sub.spec = &spec;
    Tern__Envelope env;
    wire_init(&env, 7);
    env.body_case = TERN__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    env.version = 9;    /* wire_send always stamps our own version */
    CU_ASSERT_EQUAL_FATAL(wire_send(p.peer, NULL, &env, 0), 0);

    wire_peer peer;
    memset(&peer, 0xaa, sizeof peer);
    Tern__Envelope *in = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    peer_is_w1(&peer, false);
    CU_ASSERT_EQUAL(in->version, TERN_PROTO_VERSION);
    CU_ASSERT_EQUAL(in->seq, 7);
    CU_ASSERT_EQUAL_FATAL(in->body_case, TERN__ENVELOPE__BODY_SUBMIT);
    const Tern__JobSpec *s = in->submit->spec;
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->name, "train");
    CU_ASSERT_STRING_EQUAL(s->user, "alice");
    CU_ASSERT_EQUAL(s->uid, 1000);
    CU_ASSERT_EQUAL_FATAL(s->n_argv, 3);
    CU_ASSERT_STRING_EQUAL(s->argv[0], "python");
    CU_ASSERT_STRING_EQUAL(s->argv[2], "--lr=0.1");
    CU_ASSERT_EQUAL_FATAL(s->n_env, 2);
    CU_ASSERT_STRING_EQUAL(s->env[1], "FOO=bar");
    CU_ASSERT_STRING_EQUAL(s->cwd, "/home/alice");
    CU_ASSERT_EQUAL(s->nodes, 2);
    CU_ASSERT_EQUAL(s->tasks_per_node, 4);
    CU_ASSERT_EQUAL(s->gpus_per_node, 8);
    CU_ASSERT_EQUAL(s->cpus_per_task, 2);
    CU_ASSERT_EQUAL(s->time_limit_s, 3600);
    CU_ASSERT_EQUAL(s->priority, -5);
    CU_ASSERT_EQUAL(s->preempt_signal, SIGUSR2);
    CU_ASSERT_EQUAL_FATAL(s->script.len, sizeof script);
    CU_ASSERT_EQUAL(memcmp(s->script.data, script, sizeof script), 0);
    CU_ASSERT_STRING_EQUAL(s->token, "tok-123");
    wire_free(in);

    /* and the reply goes back to that peer */
    Tern__SubmitReply rep = TERN__SUBMIT_REPLY__INIT;
    rep.job_id = 42;
    wire_init(&env, 7);
    env.body_case = TERN__ENVELOPE__BODY_SUBMITTED;
    env.submitted = &rep;
    CU_ASSERT_EQUAL(wire_send(p.router, &peer, &env, 0), 0);
    in = NULL;
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.peer, false, 0, NULL, &in, err, sizeof err), 0);
    CU_ASSERT_EQUAL(in->seq, 7);
    CU_ASSERT_EQUAL_FATAL(in->body_case, TERN__ENVELOPE__BODY_SUBMITTED);
    CU_ASSERT_EQUAL(in->submitted->job_id, 42);
    wire_free(in);

    /* nothing else is waiting */
    in = (Tern__Envelope *)&env;
    errno = 0;
    CU_ASSERT_EQUAL(wire_recv(p.router, true, ZMQ_DONTWAIT, &peer, &in, err, sizeof err), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT_PTR_NULL(in);
    wire_free(NULL);
    pair_close(&p);
}

static void test_req_peer(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_open(&p, ZMQ_REQ, 0), 0);
    Tern__Envelope env;
    Tern__JobsRequest q;
    CU_ASSERT_EQUAL_FATAL(send_jobs_query(p.peer, &env, &q, 11), 0);

    wire_peer peer;
    Tern__Envelope *in = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), 0);
    peer_is_w1(&peer, true);     /* REQ framing remembered */
    CU_ASSERT_EQUAL(in->body_case, TERN__ENVELOPE__BODY_JOBS_QUERY);
    CU_ASSERT_EQUAL(in->seq, 11);
    wire_free(in);

    Tern__Ok ok;
    ok_envelope(&env, &ok, 11);
    ok.message = "fine";
    CU_ASSERT_EQUAL(wire_send(p.router, &peer, &env, 0), 0);
    in = NULL;
    /* REQ only takes the reply when the delimiter came back with it */
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.peer, false, 0, NULL, &in, err, sizeof err), 0);
    CU_ASSERT_EQUAL(in->seq, 11);
    CU_ASSERT_EQUAL_FATAL(in->body_case, TERN__ENVELOPE__BODY_OK);
    CU_ASSERT_STRING_EQUAL(in->ok->message, "fine");
    wire_free(in);

    /* a second request/reply on the same REQ socket works too */
    CU_ASSERT_EQUAL_FATAL(send_jobs_query(p.peer, &env, &q, 12), 0);
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), 0);
    CU_ASSERT_TRUE(peer.delim);
    wire_free(in);
    wire_send_error(p.router, &peer, 12, "no such job %d", 99);
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.peer, false, 0, NULL, &in, err, sizeof err), 0);
    CU_ASSERT_EQUAL(in->seq, 12);
    CU_ASSERT_EQUAL_FATAL(in->body_case, TERN__ENVELOPE__BODY_ERROR);
    CU_ASSERT_STRING_EQUAL(in->error->message, "no such job 99");
    wire_free(in);
    pair_close(&p);
}

/* ---- what a receiver refuses ----------------------------------------------- */

static void test_version_mismatch(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_open(&p, ZMQ_DEALER, 0), 0);
    static const uint32_t versions[] = { 2, 0, 1000 };
    for (size_t i = 0; i < N_ELEMS(versions); i++) {
        Tern__Envelope env = TERN__ENVELOPE__INIT;
        Tern__Heartbeat hb = TERN__HEARTBEAT__INIT;
        hb.incarnation = 77;
        env.version = versions[i];
        env.seq = 5;
        env.body_case = TERN__ENVELOPE__BODY_HEARTBEAT;
        env.heartbeat = &hb;
        CU_ASSERT_EQUAL_FATAL(send_raw_envelope(p.peer, &env), 0);

        wire_peer peer;
        Tern__Envelope *in = NULL;
        char err[256] = "", want[64];
        CU_ASSERT_EQUAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), -2);
        CU_ASSERT_PTR_NULL(in);
        snprintf(want, sizeof want, "version %u", versions[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "speaks 1"));
        peer_is_w1(&peer, false);

        /* the filled peer is enough to answer */
        wire_send_error(p.router, &peer, 5, "%s", err);
        CU_ASSERT_EQUAL_FATAL(wire_recv(p.peer, false, 0, NULL, &in, err, sizeof err), 0);
        CU_ASSERT_EQUAL(in->version, TERN_PROTO_VERSION);
        CU_ASSERT_EQUAL(in->seq, 5);
        CU_ASSERT_EQUAL_FATAL(in->body_case, TERN__ENVELOPE__BODY_ERROR);
        CU_ASSERT_PTR_NOT_NULL(strstr(in->error->message, want));
        wire_free(in);
    }
    pair_close(&p);
}

/* An Error from a peer of another version still gets through: that is how a
 * newer ternd tells an old CLI that it is too old. */
static void test_error_other_version(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_open(&p, ZMQ_DEALER, 0), 0);
    Tern__Envelope env = TERN__ENVELOPE__INIT;
    Tern__Error e = TERN__ERROR__INIT;
    e.message = "peer speaks protocol version 1, this program speaks 2";
    env.version = 2;
    env.seq = 3;
    env.body_case = TERN__ENVELOPE__BODY_ERROR;
    env.error = &e;
    wire_peer peer;
    CU_ASSERT_EQUAL_FATAL(send_raw_envelope(p.peer, &env), 0);
    Tern__Envelope *in = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), 0);
    CU_ASSERT_EQUAL(in->version, 2);
    CU_ASSERT_EQUAL(in->seq, 3);
    CU_ASSERT_EQUAL_FATAL(in->body_case, TERN__ENVELOPE__BODY_ERROR);
    CU_ASSERT_STRING_EQUAL(in->error->message, e.message);
    wire_free(in);

    /* and on the DEALER side too */
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.router, "w1", 2, ZMQ_SNDMORE), 2);
    CU_ASSERT_EQUAL_FATAL(send_raw_envelope(p.router, &env), 0);
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.peer, false, 0, NULL, &in, err, sizeof err), 0);
    CU_ASSERT_EQUAL(in->version, 2);
    CU_ASSERT_EQUAL(in->body_case, TERN__ENVELOPE__BODY_ERROR);
    wire_free(in);

    /* our version with no body at all is refused */
    Tern__Envelope empty = TERN__ENVELOPE__INIT;
    empty.version = TERN_PROTO_VERSION;
    empty.seq = 4;
    CU_ASSERT_EQUAL_FATAL(send_raw_envelope(p.peer, &empty), 0);
    CU_ASSERT_EQUAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), -2);
    CU_ASSERT_PTR_NULL(in);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no body"));
    peer_is_w1(&peer, false);
    pair_close(&p);
}

static void test_malformed(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_open(&p, ZMQ_DEALER, 0), 0);
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        { "\xff\xff\xff\xff\xff\xff\xff\xff", 8 },        /* wire type 7 */
        { "\x1a\x10\x0a\x02", 4 },                          /* field 3 cut short */
        { "\x08\x01\x10", 3 },                              /* varint missing */
        { "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12 }, /* varint too long */
        { "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27 },         /* someone's browser */
        /* a field numbered 0, its tag in two bytes: protobuf-c takes it, then
         * refuses the copy it packs (fuzz_envelope found it), at the top and
         * inside a submit's spec */
        { "\x08\x01\x22\x00\x80\x00\x01", 7 },
        { "\x08\x01\x52\x05\x0a\x03\x80\x00\x01", 9 },
    };
    char err[256];
    wire_peer peer;
    Tern__Envelope *in;
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        CU_ASSERT_EQUAL_FATAL(zmq_send(p.peer, bad[i].bytes, bad[i].len, 0), (int)bad[i].len);
        in = (Tern__Envelope *)&peer;
        err[0] = '\0';
        int rc = wire_recv(p.router, true, 0, &peer, &in, err, sizeof err);
        if (rc != -2)
            fprintf(stderr, "malformed case %zu: rc %d\n", i, rc);
        CU_ASSERT_EQUAL(rc, -2);
        CU_ASSERT_PTR_NULL(in);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "malformed"));
        peer_is_w1(&peer, false);
    }

    /* random bytes: refused or accepted, never a crash or a socket error */
    uint32_t x = 12345;
    for (int round = 0; round < 300; round++) {
        uint8_t buf[64];
        size_t len = 1 + (size_t)(round % 63);
        for (size_t k = 0; k < len; k++) {
            x = x * 1664525u + 1013904223u;
            buf[k] = (uint8_t)(x >> 24);
        }
        CU_ASSERT_EQUAL_FATAL(zmq_send(p.peer, buf, len, 0), (int)len);
        in = NULL;
        int rc = wire_recv(p.router, true, 0, &peer, &in, err, sizeof err);
        CU_ASSERT_TRUE(rc == 0 || rc == -2);
        CU_ASSERT_TRUE(rc == 0 ? in != NULL : in == NULL);
        wire_free(in);
    }

    /* after all that, a good message still gets through */
    Tern__Envelope env;
    Tern__JobsRequest q;
    CU_ASSERT_EQUAL_FATAL(send_jobs_query(p.peer, &env, &q, 99), 0);
    CU_ASSERT_EQUAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), 0);
    CU_ASSERT_EQUAL(in ? in->seq : 0, 99);
    wire_free(in);
    pair_close(&p);
}

static void test_extra_frames(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_open(&p, ZMQ_DEALER, 0), 0);
    Tern__Envelope env;
    Tern__Ok ok;
    ok_envelope(&env, &ok, 1);
    uint8_t buf[64];
    size_t len = tern__envelope__pack(&env, buf);
    char err[256];
    wire_peer peer;
    Tern__Envelope *in;

    /* [payload][payload] from a DEALER */
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.peer, buf, len, ZMQ_SNDMORE), (int)len);
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.peer, buf, len, 0), (int)len);
    err[0] = '\0';
    CU_ASSERT_EQUAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), -2);
    CU_ASSERT_PTR_NULL(in);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "extra frames"));
    peer_is_w1(&peer, false);

    /* [empty][payload][junk][junk] */
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.peer, "", 0, ZMQ_SNDMORE), 0);
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.peer, buf, len, ZMQ_SNDMORE), (int)len);
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.peer, "x", 1, ZMQ_SNDMORE), 1);
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.peer, "y", 1, 0), 1);
    err[0] = '\0';
    CU_ASSERT_EQUAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), -2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "extra frames"));

    /* the rest of each bad message was drained: the next one is whole */
    env.seq = 2;
    CU_ASSERT_EQUAL_FATAL(wire_send(p.peer, NULL, &env, 0), 0);
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), 0);
    CU_ASSERT_EQUAL(in->seq, 2);
    CU_ASSERT_FALSE(peer.delim);
    wire_free(in);

    /* a DEALER receiving two frames */
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.router, "w1", 2, ZMQ_SNDMORE), 2);
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.router, buf, len, ZMQ_SNDMORE), (int)len);
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.router, buf, len, 0), (int)len);
    err[0] = '\0';
    CU_ASSERT_EQUAL(wire_recv(p.peer, false, 0, NULL, &in, err, sizeof err), -2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "extra frames"));
    env.seq = 3;
    CU_ASSERT_EQUAL_FATAL(wire_send(p.router, &peer, &env, 0), 0);
    CU_ASSERT_EQUAL_FATAL(wire_recv(p.peer, false, 0, NULL, &in, err, sizeof err), 0);
    CU_ASSERT_EQUAL(in->seq, 3);
    wire_free(in);

    /* a zero-byte message is no envelope of ours */
    CU_ASSERT_EQUAL_FATAL(zmq_send(p.peer, "", 0, 0), 0);
    CU_ASSERT_EQUAL(wire_recv(p.router, true, 0, &peer, &in, err, sizeof err), -2);
    CU_ASSERT_PTR_NULL(in);
    pair_close(&p);
}

/* An envelope whose packed size is 'target' or just over it, with the bulk
 * in the job script. Returns the packed size. */
static size_t sized_envelope(Tern__Envelope *env, Tern__SubmitRequest *sub, Tern__JobSpec *spec,
                             uint8_t *bulk, size_t target)
{
    tern__job_spec__init(spec);
    tern__submit_request__init(sub);
    sub->spec = spec;
    wire_init(env, 1);
    env->body_case = TERN__ENVELOPE__BODY_SUBMIT;
    env->submit = sub;
    spec->script.data = bulk;
    spec->script.len = target - 64;
    for (int i = 0; i < 8; i++) {
        size_t now = tern__envelope__get_packed_size(env);
        if (now == target)
            break;
        spec->script.len = spec->script.len + target - now;
    }
    return tern__envelope__get_packed_size(env);
}

static void test_size_limit(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_open(&p, ZMQ_DEALER, 1), 0);
    uint8_t *bulk = calloc(1, WIRE_MAX_MSG + 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bulk);
    Tern__Envelope env;
    Tern__SubmitRequest sub;
    Tern__JobSpec spec;
    char err[256];
    wire_peer peer;
    Tern__Envelope *in = NULL;

    /* one byte over: refused before anything is sent */
    CU_ASSERT_EQUAL_FATAL(sized_envelope(&env, &sub, &spec, bulk, WIRE_MAX_MSG + 1),
                          WIRE_MAX_MSG + 1);
    errno = 0;
    CU_ASSERT_EQUAL(wire_send(p.peer, NULL, &env, 0), -1);
    CU_ASSERT_EQUAL(errno, EMSGSIZE);
    errno = 0;
    CU_ASSERT_EQUAL(wire_send(p.router, &(wire_peer){ .id = "w1", .id_len = 2 }, &env, 0), -1);
    CU_ASSERT_EQUAL(errno, EMSGSIZE);

    /* exactly the limit: sent, and the receiving socket accepts it */
    CU_ASSERT_EQUAL_FATAL(sized_envelope(&env, &sub, &spec, bulk, WIRE_MAX_MSG), WIRE_MAX_MSG);
    bulk[0] = 'A';
    bulk[spec.script.len - 1] = 'Z';
    CU_ASSERT_EQUAL_FATAL(wire_send(p.peer, NULL, &env, 0), 0);
    err[0] = '\0';
    int rc = wire_recv(p.router, true, 0, &peer, &in, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "size limit: rc %d errno %d err '%s'\n", rc, errno, err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0) {
        /* the over-limit sends above left nothing behind: this is the first */
        CU_ASSERT_EQUAL_FATAL(in->body_case, TERN__ENVELOPE__BODY_SUBMIT);
        CU_ASSERT_EQUAL(in->submit->spec->script.len, spec.script.len);
        CU_ASSERT_EQUAL(in->submit->spec->script.data[0], 'A');
        CU_ASSERT_EQUAL(in->submit->spec->script.data[spec.script.len - 1], 'Z');
        wire_free(in);
    }
    in = NULL;
    CU_ASSERT_EQUAL(wire_recv(p.router, true, ZMQ_DONTWAIT, &peer, &in, err, sizeof err), -1);
    free(bulk);
    pair_close(&p);
}

/* Empty repeated entries: a few MiB on the wire, far more once decoded. */
static void test_decode_budget(void)
{
    size_t n = 2000000;
    Tern__AttemptStatus one = TERN__ATTEMPT_STATUS__INIT;
    Tern__AttemptStatus **all = malloc(n * sizeof *all);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    for (size_t i = 0; i < n; i++)
        all[i] = &one;
    Tern__Heartbeat hb = TERN__HEARTBEAT__INIT;
    hb.n_attempts = n;
    hb.attempts = all;
    Tern__Envelope env;
    wire_init(&env, 1);
    env.body_case = TERN__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    size_t len = tern__envelope__get_packed_size(&env);
    CU_ASSERT(len < WIRE_MAX_MSG);
    uint8_t *buf = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    tern__envelope__pack(&env, buf);
    char err[256];
    CU_ASSERT_PTR_NULL(wire_decode(buf, len, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "expands past 64 MiB"));
    /* The same with a thousand entries decodes. */
    hb.n_attempts = 1000;
    len = tern__envelope__get_packed_size(&env);
    tern__envelope__pack(&env, buf);
    Tern__Envelope *ok = wire_decode(buf, len, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(ok);
    if (ok)
        CU_ASSERT_EQUAL(ok->heartbeat->n_attempts, 1000);
    wire_free(ok);
    free(buf);
    free(all);
}

static void test_unreachable(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_open(&p, ZMQ_DEALER, 0), 0);
    int on = 1;
    CU_ASSERT_EQUAL_FATAL(zmq_setsockopt(p.router, ZMQ_ROUTER_MANDATORY, &on, sizeof on), 0);
    Tern__Envelope env;
    Tern__Ok ok;
    ok_envelope(&env, &ok, 1);
    wire_peer ghost = { .id = "ghost", .id_len = 5 };
    errno = 0;
    CU_ASSERT_EQUAL(wire_send(p.router, &ghost, &env, ZMQ_DONTWAIT), -1);
    CU_ASSERT_EQUAL(errno, EHOSTUNREACH);
    /* a send error to a ghost is swallowed */
    wire_send_error(p.router, &ghost, 1, "gone");
    pair_close(&p);
}

/* ---- job specifications ------------------------------------------------------ */

static char *good_argv[] = { "python", "train.py" };
static char *good_env[] = { "PATH=/usr/bin", "FOO=bar" };

static void good_spec(Tern__JobSpec *s)
{
    tern__job_spec__init(s);
    s->name = "train";
    s->user = "alice";
    s->argv = good_argv;
    s->n_argv = N_ELEMS(good_argv);
    s->env = good_env;
    s->n_env = N_ELEMS(good_env);
    s->cwd = "/home/alice";
    s->nodes = 2;
    s->tasks_per_node = 4;
    s->cpus_per_task = 1;
    s->gpus_per_node = 8;
    s->stdout_pattern = "/home/alice/out-%j.log";
    s->launcher = "direct";
}

enum mutation {
    M_NODES0, M_TASKS0, M_CPUS0, M_GPUS65, M_NOARGV, M_EMPTY_ARGV0, M_ENV_NOEQ, M_ENV_NOKEY,
    M_CWD_REL, M_CWD_NULL, M_STDOUT_REL, M_STDERR_REL, M_CKPT_REL, M_LAUNCHER_MPI, M_LAUNCHER_BOGUS, M_NAME_SLASH,
    M_SIGNAL, M_TOO_MANY_RANKS, M_NODES_MAX, M_LONG_TOKEN, M_TIME_HUGE, M_PRIORITY_HUGE,
    M_NAME_ESC, M_USER_CTRL,
};

static void test_jobspec(void)
{
    Tern__JobSpec s;
    char err[256] = "";
    good_spec(&s);
    CU_ASSERT_EQUAL(jobspec_validate(&s, err, sizeof err), 0);
    CU_ASSERT_EQUAL(jobspec_world_size(&s), 8);

    /* edges that are fine */
    good_spec(&s);
    s.gpus_per_node = JOBSPEC_MAX_GPUS_PER_NODE;
    s.stdout_pattern = "";
    s.launcher = "";
    s.name = NULL;
    s.token = NULL;
    CU_ASSERT_EQUAL(jobspec_validate(&s, err, sizeof err), 0);
    s.launcher = "mpi";
    CU_ASSERT_EQUAL(jobspec_validate(&s, err, sizeof err), 0);
    good_spec(&s);
    s.gpus_per_node = 0;
    s.n_env = 0;
    s.env = NULL;
    CU_ASSERT_EQUAL(jobspec_validate(&s, err, sizeof err), 0);

    char *env_noeq[] = { "PATH=/usr/bin", "NOEQUALS" };
    char *env_nokey[] = { "=value" };
    char *empty_argv[] = { "", "x" };
    char token[200];
    memset(token, 't', sizeof token - 1);
    token[sizeof token - 1] = '\0';
    static const struct {
        enum mutation m;
        const char *names;    /* the message must name the field */
    } bad[] = {
        { M_NODES0, "-N 0" },
        { M_TASKS0, "--ntasks-per-node 0" },
        { M_CPUS0, "-c 0" },
        { M_GPUS65, "--gpus-per-node 65" },
        { M_NOARGV, "no command" },
        { M_EMPTY_ARGV0, "empty command" },
        { M_ENV_NOEQ, "environment entry 1" },
        { M_ENV_NOKEY, "environment entry 0" },
        { M_CWD_REL, "working directory" },
        { M_CWD_NULL, "working directory" },
        { M_STDOUT_REL, "-o" },
        { M_STDERR_REL, "-e" },
        { M_CKPT_REL, "checkpoint" },
        { M_LAUNCHER_MPI, "--launcher mpi" },
        { M_LAUNCHER_BOGUS, "--launcher ssh" },
        { M_NAME_SLASH, "-J" },
        { M_SIGNAL, "--signal" },
        { M_TOO_MANY_RANKS, "1000000 ranks" },
        { M_NODES_MAX, "-N 100001" },
        { M_LONG_TOKEN, "token" },
        { M_TIME_HUGE, "-t: at most 100 years" },
        { M_PRIORITY_HUGE, "--priority 2000000" },
        { M_NAME_ESC, "-J" },
        { M_USER_CTRL, "control characters" },
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        good_spec(&s);
        switch (bad[i].m) {
        case M_NODES0: s.nodes = 0; break;
        case M_TASKS0: s.tasks_per_node = 0; break;
        case M_CPUS0: s.cpus_per_task = 0; break;
        case M_GPUS65: s.gpus_per_node = 65; break;
        case M_NOARGV: s.n_argv = 0; s.argv = NULL; break;
        case M_EMPTY_ARGV0: s.argv = empty_argv; break;
        case M_ENV_NOEQ: s.env = env_noeq; s.n_env = 2; break;
        case M_ENV_NOKEY: s.env = env_nokey; s.n_env = 1; break;
        case M_CWD_REL: s.cwd = "home/alice"; break;
        case M_CWD_NULL: s.cwd = NULL; break;
        case M_STDOUT_REL: s.stdout_pattern = "out-%j.log"; break;
        case M_STDERR_REL: s.stderr_pattern = "err.log"; break;
        case M_CKPT_REL: s.checkpoint_dir = "ckpt"; break;
        case M_LAUNCHER_MPI: s.launcher = "mpi"; s.batch = true; break;   /* not a script */
        case M_LAUNCHER_BOGUS: s.launcher = "ssh"; break;
        case M_NAME_SLASH: s.name = "a/b"; break;
        case M_SIGNAL: s.preempt_signal = 65; break;
        case M_TOO_MANY_RANKS: s.nodes = 100000; s.tasks_per_node = 11; break;
        case M_NODES_MAX: s.nodes = JOBSPEC_MAX_NODES + 1; break;
        case M_LONG_TOKEN: s.token = token; break;
        case M_TIME_HUGE: s.time_limit_s = UINT64_MAX / 1000; break;
        case M_PRIORITY_HUGE: s.priority = 2000000; break;
        case M_NAME_ESC: s.name = "a\033[2Jb"; break;
        case M_USER_CTRL: s.user = "bob\bx"; break;
        }
        err[0] = '\0';
        int rc = jobspec_validate(&s, err, sizeof err);
        if (rc != -1 || !strstr(err, bad[i].names))
            fprintf(stderr, "jobspec case %zu: rc %d err '%s', want '%s'\n", i, rc, err,
                    bad[i].names);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].names));
        CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    }

    err[0] = '\0';
    CU_ASSERT_EQUAL(jobspec_validate(NULL, err, sizeof err), -1);
    CU_ASSERT_NOT_EQUAL(err[0], '\0');
}

int suite_wire(void)
{
    static const unit_test tests[] = {
        { "decode budget", test_decode_budget },
        { "round trip", test_round_trip },
        { "req peer", test_req_peer },
        { "version mismatch", test_version_mismatch },
        { "error of other version", test_error_other_version },
        { "malformed", test_malformed },
        { "extra frames", test_extra_frames },
        { "size limit", test_size_limit },
        { "unreachable", test_unreachable },
        { "jobspec", test_jobspec },
        { NULL, NULL },
    };
    return unit_add("wire", tests);
}
