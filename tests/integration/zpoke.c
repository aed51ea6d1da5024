/* zpoke: sends hostile input to a tern endpoint, for the bad-input tests.
 *   zpoke ENDPOINT random N   N messages of random bytes and frame counts
 *   zpoke ENDPOINT big        one message over the size limit
 *   zpoke ENDPOINT version    an envelope of protocol version 99; prints the reply
 *   zpoke ENDPOINT empty      an envelope with no body; prints the reply
 *   zpoke ENDPOINT submit N   N 'true' jobs, 256 in flight; prints the last id
 * With TERN_SERVER_KEY and TERN_KEY (a key file) set it speaks CURVE, as an
 * authenticated but hostile peer; without, as a stranger.
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

/* Submits n jobs quickly (the CLI costs a process per job). */
static int submit_many(void *sock, int n)
{
    char *argv[] = { "true", NULL };
    Tern__JobSpec spec = TERN__JOB_SPEC__INIT;
    spec.name = "zpoke";
    spec.user = "zpoke";
    spec.argv = argv;
    spec.n_argv = 1;
    spec.cwd = "/tmp";
    spec.nodes = spec.tasks_per_node = spec.cpus_per_task = 1;
    Tern__SubmitRequest rq = TERN__SUBMIT_REQUEST__INIT;
    rq.spec = &spec;
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
        fprintf(stderr, "usage: zpoke ENDPOINT random N | big | version | empty\n");
        return 2;
    }
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 2000, sndtimeo = 3000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    /* A stranger's connection is dropped at the handshake and not tried
     * again: its sends would wait forever. */
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    char err[4400];
    if (curve_client_from_env(sock, err, sizeof err) < 0) {
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
