/* zpoke: sends hostile input to a tern endpoint, for the bad-input tests.
 *   zpoke ENDPOINT random N   N messages of random bytes and frame counts
 *   zpoke ENDPOINT big        one message over the size limit
 *   zpoke ENDPOINT version    an envelope of protocol version 99; prints the reply
 *   zpoke ENDPOINT empty      an envelope with no body; prints the reply
 *   zpoke ENDPOINT submit N   N 'true' jobs, 256 in flight; prints the last id
 *   zpoke ENDPOINT hold       one connection kept open: each line read from
 *                             stdin is a request on it: "submit [TOKEN]" (a
 *                             'true' job in /tmp, claiming uid 0), "nodes";
 *                             prints "submitted ID", "nodes N" or the error
 * With TERN_SERVER_KEY and TERN_KEY (a key file) or TERN_JOB_KEY (a secret
 * key, as a job's ranks have it) set it speaks CURVE, as an authenticated but
 * hostile peer; without, as a stranger.
 * Exits 0 when everything was sent (and, for version/empty, a reply came). */
#include "common/curve.h"
#include "common/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>

static int reply(void *sock)
{
    zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&it, 1, 5000) <= 0) {
        fprintf(stderr, "zpoke: no reply\n");
        return 1;
    }
    Tern__Envelope *env;
    char err[256];
    if (wire_recv(sock, false, 0, NULL, &env, err, sizeof err) != 0) {
        fprintf(stderr, "zpoke: bad reply: %s\n", err);
        return 1;
    }
    if (env->body_case == TERN__ENVELOPE__BODY_ERROR)
        printf("%s\n", env->error->message);
    else
        printf("reply type %d\n", (int)env->body_case);
    wire_free(env);
    return 0;
}

static char *true_argv[] = { "true", NULL };

/* A 'true' job in /tmp. */
static void true_job(Tern__JobSpec *spec, Tern__SubmitRequest *rq)
{
    tern__job_spec__init(spec);
    spec->name = "zpoke";
    spec->user = "zpoke";
    spec->argv = true_argv;
    spec->n_argv = 1;
    spec->cwd = "/tmp";
    spec->nodes = spec->tasks_per_node = spec->cpus_per_task = 1;
    tern__submit_request__init(rq);
    rq->spec = spec;
}

/* Requests read from stdin, all on this one connection. */
static int hold(void *sock)
{
    char line[256];
    uint64_t seq = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        Tern__JobSpec spec;
        Tern__SubmitRequest rq;
        Tern__NodesRequest nq = TERN__NODES_REQUEST__INIT;
        Tern__Envelope env;
        wire_init(&env, ++seq);
        if (strncmp(line, "submit", 6) == 0) {
            true_job(&spec, &rq);
            spec.token = line[6] == ' ' ? line + 7 : "";
            env.body_case = TERN__ENVELOPE__BODY_SUBMIT;
            env.submit = &rq;
        } else if (strcmp(line, "nodes") == 0) {
            env.body_case = TERN__ENVELOPE__BODY_NODES_QUERY;
            env.nodes_query = &nq;
        } else {
            fprintf(stderr, "zpoke: hold: unknown request '%s'\n", line);
            return 2;
        }
        if (wire_send(sock, NULL, &env, 0) < 0)
            return 1;
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        Tern__Envelope *rep;
        char err[256];
        if (zmq_poll(&it, 1, 10000) <= 0 || wire_recv(sock, false, 0, NULL, &rep, err,
                                                     sizeof err) != 0) {
            printf("no reply\n");
        } else {
            if (rep->body_case == TERN__ENVELOPE__BODY_SUBMITTED)
                printf("submitted %llu\n", (unsigned long long)rep->submitted->job_id);
            else if (rep->body_case == TERN__ENVELOPE__BODY_NODES)
                printf("nodes %zu\n", rep->nodes->n_nodes);
            else if (rep->body_case == TERN__ENVELOPE__BODY_ERROR)
                printf("%s\n", rep->error->message);
            wire_free(rep);
        }
        fflush(stdout);
    }
    return 0;
}

/* The client key: a job's secret (TERN_JOB_KEY), else curve_client_from_env. */
static int client_key(void *sock, char *err, size_t errlen)
{
    const char *job = getenv("TERN_JOB_KEY"), *server = getenv("TERN_SERVER_KEY");
    curve_key k;
    if (!job || !*job || !server || !*server)
        return curve_client_from_env(sock, err, errlen);
    if (curve_key_from_secret(job, &k) < 0 || curve_client(sock, &k, server) < 0) {
        snprintf(err, errlen, "TERN_JOB_KEY or TERN_SERVER_KEY is not a key");
        return -1;
    }
    return 1;
}

/* Submits n jobs quickly (the CLI costs a process per job). */
static int submit_many(void *sock, int n)
{
    Tern__JobSpec spec;
    Tern__SubmitRequest rq;
    true_job(&spec, &rq);
    int sent = 0, acked = 0;
    uint64_t last = 0;
    while (acked < n) {
        while (sent < n && sent - acked < 256) {
            Tern__Envelope env;
            wire_init(&env, (uint64_t)sent + 1);
            env.body_case = TERN__ENVELOPE__BODY_SUBMIT;
            env.submit = &rq;
            if (wire_send(sock, NULL, &env, 0) < 0)
                return 1;
            sent++;
        }
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 30000) <= 0) {
            fprintf(stderr, "zpoke: no reply\n");
            return 1;
        }
        Tern__Envelope *rep;
        char err[256];
        if (wire_recv(sock, false, 0, NULL, &rep, err, sizeof err) != 0 ||
            rep->body_case != TERN__ENVELOPE__BODY_SUBMITTED) {
            fprintf(stderr, "zpoke: submit refused\n");
            return 1;
        }
        if (rep->submitted->job_id > last)
            last = rep->submitted->job_id;
        wire_free(rep);
        acked++;
    }
    printf("%llu\n", (unsigned long long)last);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: zpoke ENDPOINT random N | big | version | empty | submit N | hold\n");
        return 2;
    }
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 2000, sndtimeo = 3000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    /* A stranger's connection is dropped at the handshake and not tried
     * again: its sends would wait forever. */
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    char err[4400];
    if (client_key(sock, err, sizeof err) < 0) {
        fprintf(stderr, "zpoke: %s\n", err);
        return 2;
    }
    if (zmq_connect(sock, argv[1]) < 0) {
        fprintf(stderr, "zpoke: connect %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 2;
    }
    int rc = 0;
    if (strcmp(argv[2], "random") == 0) {
        int n = argc > 3 ? atoi(argv[3]) : 100;
        static unsigned char buf[65536];
        for (int i = 0; i < n && rc == 0; i++) {
            unsigned short len, frames;
            if (getrandom(&len, sizeof len, 0) < 0 || getrandom(&frames, sizeof frames, 0) < 0 ||
                getrandom(buf, sizeof buf, 0) < 0)
                return 2;
            frames = frames % 3 + 1;
            for (int f = 0; f < frames; f++)
                if (zmq_send(sock, buf, len % sizeof buf, f + 1 < frames ? ZMQ_SNDMORE : 0) < 0 &&
                    zmq_errno() == EAGAIN) {
                    fprintf(stderr, "zpoke: the peer takes nothing (refused at the handshake?)\n");
                    rc = 3;
                    break;
                }
        }
    } else if (strcmp(argv[2], "big") == 0) {
        size_t len = (size_t)WIRE_MAX_MSG * 2;
        char *big = calloc(1, len);
        if (!big || zmq_send(sock, big, len, 0) < 0)
            rc = 1;
        free(big);
    } else if (strcmp(argv[2], "version") == 0 || strcmp(argv[2], "empty") == 0) {
        Tern__Envelope env;
        Tern__NodesRequest rq = TERN__NODES_REQUEST__INIT;
        wire_init(&env, 7);
        if (strcmp(argv[2], "version") == 0) {
            env.body_case = TERN__ENVELOPE__BODY_NODES_QUERY;
            env.nodes_query = &rq;
        }
        /* Packed by hand: wire_send would stamp our own version. */
        env.version = strcmp(argv[2], "version") == 0 ? 99 : TERN_PROTO_VERSION;
        size_t len = tern__envelope__get_packed_size(&env);
        unsigned char *buf = malloc(len + 1);
        tern__envelope__pack(&env, buf);
        zmq_send(sock, buf, len, 0);
        free(buf);
        rc = reply(sock);
    } else if (strcmp(argv[2], "hold") == 0) {
        rc = hold(sock);
    } else if (strcmp(argv[2], "submit") == 0 && argc > 3) {
        rc = submit_many(sock, atoi(argv[3]));
    } else {
        fprintf(stderr, "zpoke: unknown mode %s\n", argv[2]);
        rc = 2;
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}
