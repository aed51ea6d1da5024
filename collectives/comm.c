/* tern_comm: forming a communicator from the rank environment, choosing
 * the backend, and the public calls. */
#include "collectives/coll.h"
#include "collectives/node.h"

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_INIT_TIMEOUT 60.0
#define DEFAULT_DEAD_TIMEOUT 5.0
#define DEFAULT_PROGRESS_TIMEOUT 1800.0

double coll_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

size_t tern_dtype_size(tern_dtype dt)
{
    switch (dt) {
    case TERN_F32: return 4;
    case TERN_F64: return 8;
    case TERN_F16:
    case TERN_BF16: return 2;
    default: return 0;
    }
}

/* Lets the neighbours see the break at once: local ranks through the
 * abort word, remote ones through the TCP connections closing. */
static void break_links(tern_comm *c)
{
    node_abort(c);
    coll_link *links[2] = { c->next, c->prev };
    for (int i = 0; i < 2; i++) {
        int fd = links[i] && !links[i]->shm ? links[i]->ops->fd(links[i]) : -1;
        if (fd < 0)
            continue;
        /* A reset, not a polite close: a sender stuck on our full window
         * hears of it at once. */
        struct linger hard = { 1, 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        shutdown(fd, SHUT_RDWR);
    }
    if (c->plugin && c->plugin_state && c->plugin->abort)
        c->plugin->abort(c->plugin_state);
}

int coll_fail(tern_comm *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->code = code;
    if (code != TERN_EINVAL && !c->broken) {
        c->broken = true;
        break_links(c);
    }
    return code;
}

void *coll_scratch(tern_comm *c, int which, size_t len)
{
    if (len <= c->scratch_len[which] && c->scratch[which])
        return c->scratch[which];
    void *p = realloc(c->scratch[which], len ? len : 1);
    if (!p)
        return NULL;
    c->scratch[which] = p;
    c->scratch_len[which] = len;
    return p;
}

static double env_seconds(const char *name, double dflt)
{
    const char *v = getenv(name);
    char *end;
    double d = v ? strtod(v, &end) : 0;
    return v && *v && !*end && d > 0 ? d : dflt;
}

static int env_int(const char *name, int *out)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v)
        return -1;
    long x = strtol(v, &end, 10);
    if (*end || x < 0 || x > 0x7fffffff)
        return -1;
    *out = (int)x;
    return 0;
}

/* "host boot-id": the same on every process of one machine (or container
 * sharing its /dev/shm and boot). */
static void node_key(char *out, size_t len)
{
    char host[64] = "localhost", boot[64] = "";
    gethostname(host, sizeof host - 1);
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(boot, sizeof boot, f))
            boot[0] = '\0';
        fclose(f);
        boot[strcspn(boot, "\n")] = '\0';
    }
    snprintf(out, len, "%s/%s", host, boot);
}

/* This run's name at the rendezvous: tern's job and attempt, else
 * torchrun's run id and restart count. A process of another attempt that
 * reaches a reused port is then a stranger there. */
static void run_id(char *out, size_t len)
{
    const char *job = getenv("TERN_JOB_ID"), *att = getenv("TERN_ATTEMPT");
    const char *trun = getenv("TORCHELASTIC_RUN_ID"), *tre = getenv("TORCHELASTIC_RESTART_COUNT");
    if (job && *job)
        snprintf(out, len, "job%.32s.%.16s", job, att ? att : "0");
    else if (trun && *trun)
        snprintf(out, len, "run%.48s.%.16s", trun, tre ? tre : "0");
    else
        snprintf(out, len, "run");
    for (char *p = out; *p; p++)   /* no '/' inside: it separates the keys */
        if (*p == '/')
            *p = '_';
}

/* dlopens libtern-NAME.so from libtern's own directory, else the search path. */
static void *open_plugin(const char *name, char *err, size_t errlen)
{
    char file[64], path[4200];
    snprintf(file, sizeof file, "libtern-%s.so", name);
    Dl_info info;
    void *h = NULL;
    if (dladdr((void *)open_plugin, &info) && info.dli_fname) {
        char self[4096];
        snprintf(self, sizeof self, "%s", info.dli_fname);
        snprintf(path, sizeof path, "%s/%s", dirname(self), file);
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
    if (!h)
        h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        snprintf(err, errlen, "cannot load %s: %s", file, dlerror());
    return h;
}

static int load_plugin(tern_comm *c, const char *name, char *err, size_t errlen)
{
    c->plugin_lib = open_plugin(name, err, errlen);
    if (!c->plugin_lib)
        return -1;
    c->plugin = dlsym(c->plugin_lib, "tern_coll_plugin");
    if (!c->plugin || c->plugin->abi != COLL_PLUGIN_ABI) {
        snprintf(err, errlen, "libtern-%s.so is not a tern plugin of this version", name);
        c->plugin = NULL;
        return -1;
    }
    return 0;
}

static int parse_peer(coll_peer *p, const char *v)
{
    const char *t1 = strchr(v, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t2 || (size_t)(t1 - v) >= sizeof p->node_key || (size_t)(t2 - t1 - 1) >= sizeof p->tcp_addr)
        return -1;
    memcpy(p->node_key, v, (size_t)(t1 - v));
    p->node_key[t1 - v] = '\0';
    memcpy(p->tcp_addr, t1 + 1, (size_t)(t2 - t1 - 1));
    p->tcp_addr[t2 - t1 - 1] = '\0';
    p->pid = (pid_t)atoi(t2 + 1);
    return 0;
}

/* Gathers "PREFIX0..PREFIX(n-1)"; frees the values when 'keep' is NULL. */
static int gather(tern_comm *c, rdv *r, const char *prefix, int n, char ***keep)
{
    void **vals = calloc((size_t)n, sizeof *vals);
    size_t *lens = calloc((size_t)n, sizeof *lens);
    char why[512];
    int rc = 0;
    if (!vals || !lens)
        rc = coll_fail(c, TERN_ENOMEM, "out of memory");
    else if (rdv_gather(r, prefix, n, vals, lens, why, sizeof why) < 0)
        rc = coll_fail(c, strstr(why, "never arrived") || strstr(why, "did not answer")
                              ? TERN_ETIMEDOUT : TERN_EPEER, "%s", why);
    if (rc == 0 && keep) {
        *keep = (char **)vals;
        vals = NULL;
    }
    for (int i = 0; vals && rc == 0 && i < n; i++)
        free(vals[i]);
    free(vals);
    free(lens);
    return rc;
}

static int set_key(tern_comm *c, rdv *r, const char *key, const char *val, size_t len)
{
    char why[512];
    if (rdv_set(r, key, val, len, why, sizeof why) < 0)
        return coll_fail(c, TERN_EPEER, "%s", why);
    return 0;
}

/* The CPU backend's wiring: who is where, shared memory with the ranks of
 * this machine, TCP to the others. */
static int wire_up(tern_comm *c, rdv *r, const char *addr)
{
    int lfd = -1, rc = -1;
    char key[64], val[512], **vals = NULL;
    if (c->rank == 0) {
        uint64_t s;
        if (getrandom(&s, sizeof s, 0) != sizeof s)
            s = (uint64_t)coll_now() * 1000003u ^ (uint64_t)getpid();
        snprintf(val, sizeof val, "%016llx", (unsigned long long)s);
        if (set_key(c, r, "session0", val, strlen(val)) < 0)
            return -1;
    }
    if (gather(c, r, "session", 1, &vals) < 0)
        return -1;
    c->session = strtoull(vals[0], NULL, 16);
    free(vals[0]);
    free(vals);
    vals = NULL;

    coll_peer *me = &c->peers[c->rank];
    node_key(me->node_key, sizeof me->node_key);
    me->pid = getpid();
    if (tcp_listen(addr, me->tcp_addr, sizeof me->tcp_addr, &lfd) < 0)
        return coll_fail(c, TERN_ESYS, "cannot listen for ring connections: %s", strerror(errno));
    snprintf(key, sizeof key, "peer%d", c->rank);
    int vl = snprintf(val, sizeof val, "%s\t%s\t%d", me->node_key, me->tcp_addr, (int)me->pid);
    if (set_key(c, r, key, val, (size_t)vl) < 0 || gather(c, r, "peer", c->size, &vals) < 0)
        goto out;
    for (int i = 0; i < c->size; i++) {
        if (parse_peer(&c->peers[i], vals[i]) < 0) {
            coll_fail(c, TERN_EPEER, "rank %d published a malformed address", i);
            goto out;
        }
    }
    /* Shared segments exist only between these gathers (milliseconds), so
     * a rank killed during a slow rendezvous leaves none behind. */
    if (node_create(c) < 0)
        goto out;
    snprintf(key, sizeof key, "created%d", c->rank);
    if (set_key(c, r, key, "1", 1) < 0 || gather(c, r, "created", c->size, NULL) < 0 ||
        node_open(c) < 0)
        goto out;
    /* Every local rank has mapped every segment: the names can go. */
    snprintf(key, sizeof key, "mapped%d", c->rank);
    if (set_key(c, r, key, "1", 1) < 0 || gather(c, r, "mapped", c->size, NULL) < 0)
        goto out;
    node_unlink(c);
    if (c->size > 1) {
        int next = (c->rank + 1) % c->size, prev = (c->rank + c->size - 1) % c->size;
        bool shm_out = node_is_local(c, next), shm_in = node_is_local(c, prev);
        if (shm_out && !(c->next = node_link(c, c->rank, next))) {
            coll_fail(c, TERN_ENOMEM, "out of memory");
            goto out;
        }
        if (shm_in && !(c->prev = node_link(c, prev, c->rank))) {
            coll_fail(c, TERN_ENOMEM, "out of memory");
            goto out;
        }
        if (tcp_links(c, lfd, &c->next, &c->prev, !shm_out, !shm_in) < 0)
            goto out;
    }
    rc = 0;
out:
    if (vals) {
        for (int i = 0; i < c->size; i++)
            free(vals[i]);
        free(vals);
    }
    if (lfd >= 0)
        close(lfd);
    return rc;
}

static int init_plugin_comm(tern_comm *c, rdv *r, double timeout)
{
    char id[4096], why[512];
    size_t idlen = sizeof id;
    if (c->plugin->make_id) {
        if (c->rank == 0) {
            if (c->plugin->make_id(id, &idlen, why, sizeof why) < 0)
                return coll_fail(c, TERN_EBACKEND, "%s", why);
            if (set_key(c, r, "pluginid0", id, idlen) < 0)
                return -1;
        }
        void *v[1];
        size_t l[1];
        if (rdv_gather(r, "pluginid", 1, v, l, why, sizeof why) < 0)
            return coll_fail(c, TERN_ETIMEDOUT, "%s", why);
        idlen = l[0] < sizeof id ? l[0] : sizeof id;
        memcpy(id, v[0], idlen);
        free(v[0]);
    } else {
        idlen = 0;
    }
    if (c->plugin->create(&c->plugin_state, c->rank, c->size, id, idlen, timeout, why,
                          sizeof why) < 0)
        return coll_fail(c, TERN_EBACKEND, "%s", why);
    return 0;
}

int coll_init(tern_comm **out, const tern_comm_opts *o, bool cpu_only, char *errbuf,
              size_t errlen)
{
    *out = NULL;
    tern_comm *c = calloc(1, sizeof *c);
    char why[512] = "";
    if (!c) {
        if (errbuf)
            snprintf(errbuf, errlen, "out of memory");
        return TERN_ENOMEM;
    }
    tern_comm_opts dflt = { 0 };
    if (!o)
        o = &dflt;
    int rc = TERN_ENV;
    const char *coll = cpu_only ? "cpu" : getenv("TERN_COLL");
    bool want_mpi = coll ? strcmp(coll, "mpi") == 0
                         : getenv("OMPI_COMM_WORLD_SIZE") != NULL && o->world_size == 0;
    bool want_nccl = coll && strcmp(coll, "nccl") == 0;
    if (coll && !want_mpi && !want_nccl && strcmp(coll, "cpu") != 0) {
        snprintf(c->err, sizeof c->err, "TERN_COLL=%s: expected cpu, nccl or mpi", coll);
        goto fail;
    }
    double init_timeout = o->init_timeout_s > 0 ? o->init_timeout_s
                                                : env_seconds("TERN_INIT_TIMEOUT", DEFAULT_INIT_TIMEOUT);
    c->dead_timeout_s = env_seconds("TERN_COLL_DEAD_TIMEOUT", DEFAULT_DEAD_TIMEOUT);
    c->progress_timeout_s = env_seconds("TERN_COLL_TIMEOUT", DEFAULT_PROGRESS_TIMEOUT);

    if (want_mpi) {   /* mpirun started us: MPI knows the world */
        if (load_plugin(c, "mpi", why, sizeof why) < 0 || !c->plugin->world ||
            c->plugin->world(&c->rank, &c->size) < 0) {
            rc = TERN_EBACKEND;
            snprintf(c->err, sizeof c->err, "MPI backend: %.480s", why[0] ? why : "no world");
            goto fail;
        }
        c->plugin_only = true;
        if (c->plugin->create(&c->plugin_state, c->rank, c->size, NULL, 0, init_timeout, why,
                              sizeof why) < 0) {
            rc = TERN_EBACKEND;
            snprintf(c->err, sizeof c->err, "MPI backend: %.480s", why);
            goto fail;
        }
        *out = c;
        return TERN_OK;
    }

    if (o->world_size > 0) {
        c->rank = o->rank;
        c->size = o->world_size;
    } else if (env_int("RANK", &c->rank) < 0 || env_int("WORLD_SIZE", &c->size) < 0) {
        snprintf(c->err, sizeof c->err, "RANK and WORLD_SIZE are not set (is this program "
                 "running under tern, torchrun or mpirun?)");
        goto fail;
    }
    if (c->size < 1 || c->size > COLL_MAX_WORLD || c->rank < 0 || c->rank >= c->size) {
        snprintf(c->err, sizeof c->err, "RANK %d and WORLD_SIZE %d do not fit together",
                 c->rank, c->size);
        goto fail;
    }
    const char *addr = o->master_addr ? o->master_addr : getenv("MASTER_ADDR");
    int port = o->master_port;
    if (!port && env_int("MASTER_PORT", &port) < 0)
        port = 0;
    if (!addr || !*addr || port < 1 || port > 65535) {
        snprintf(c->err, sizeof c->err, "MASTER_ADDR and MASTER_PORT must name the rank 0 "
                 "host and a port (got %s:%d)", addr ? addr : "(unset)", port);
        goto fail;
    }
    const char *transport = o->transport ? o->transport : getenv("TERN_COLL_TRANSPORT");
    if (transport && strcmp(transport, "tcp") != 0 && strcmp(transport, "auto") != 0) {
        snprintf(c->err, sizeof c->err, "TERN_COLL_TRANSPORT=%s: expected auto or tcp",
                 transport);
        goto fail;
    }
    c->shm_allowed = !transport || strcmp(transport, "tcp") != 0;
    c->peers = calloc((size_t)c->size, sizeof *c->peers);
    if (!c->peers) {
        rc = TERN_ENOMEM;
        snprintf(c->err, sizeof c->err, "out of memory");
        goto fail;
    }
    char run[96];
    run_id(run, sizeof run);
    rdv *r = rdv_open(c->rank, c->size, run, addr, port, init_timeout, why, sizeof why);
    if (!r) {
        rc = TERN_ESYS;
        snprintf(c->err, sizeof c->err, "%s", why);
        goto fail;
    }
    int wired = wire_up(c, r, addr);
    if (wired == 0 && want_nccl) {
        if (load_plugin(c, "nccl", why, sizeof why) < 0)
            wired = coll_fail(c, TERN_EBACKEND, "%s", why);
        else
            wired = init_plugin_comm(c, r, init_timeout);
    }
    if (wired < 0) {
        rc = c->code;
        rdv_close(&r);
        goto fail;
    }
    rdv_close(&r);
    c->broken = false;
    *out = c;
    return TERN_OK;
fail:
    if (errbuf)
        snprintf(errbuf, errlen, "tern_comm_init: %s", c->err);
    tern_comm_destroy(&c);
    return rc;
}

int tern_comm_init_opts(tern_comm **out, const tern_comm_opts *o, char *errbuf, size_t errlen)
{
    return coll_init(out, o, false, errbuf, errlen);
}

int tern_comm_init(tern_comm **out, char *errbuf, size_t errlen)
{
    return tern_comm_init_opts(out, NULL, errbuf, errlen);
}

void tern_comm_destroy(tern_comm **cp)
{
    if (!cp || !*cp)
        return;
    tern_comm *c = *cp;
    if (c->next)
        c->next->ops->destroy(c->next);
    if (c->prev)
        c->prev->ops->destroy(c->prev);
    node_close(c);
    if (c->plugin && c->plugin_state)
        c->plugin->destroy(c->plugin_state);
    if (c->plugin_lib)
        dlclose(c->plugin_lib);
    free(c->peers);
    free(c->scratch[0]);
    free(c->scratch[1]);
    free(c);
    *cp = NULL;
}

int tern_comm_rank(const tern_comm *c)
{
    return c ? c->rank : -1;
}

int tern_comm_size(const tern_comm *c)
{
    return c ? c->size : 0;
}

const char *tern_comm_backend(const tern_comm *c)
{
    return c && c->plugin_only ? c->plugin->name : "cpu";
}

const char *tern_comm_error(const tern_comm *c)
{
    return c ? c->err : "no communicator";
}

/* Checks shared by every call. Returns 0 to go on. */
static int enter(tern_comm *c, const char *what, tern_dtype dt, bool need_dt)
{
    if (!c)
        return TERN_EINVAL;
    if (c->broken)
        return TERN_EBROKEN;   /* c->err keeps the first failure */
    if (need_dt && tern_dtype_size(dt) == 0)
        return coll_fail(c, TERN_EINVAL, "%s: unknown dtype %d", what, (int)dt);
    c->err[0] = '\0';
    return 0;
}

static bool owned(tern_comm *c, const void *buf)
{
    return c->plugin->owns && buf && c->plugin->owns(c->plugin_state, buf);
}

/* 1: the plugin serves these buffers, 0: the CPU backend does, -1: one is
 * a device buffer and the other not (an error recorded). */
static int via_plugin(tern_comm *c, const void *a, const void *b, const char *what)
{
    if (!c->plugin || !c->plugin_state)
        return 0;
    if (c->plugin_only)
        return 1;
    bool da = owned(c, a), db = b ? owned(c, b) : da;
    if (da != db) {
        coll_fail(c, TERN_EINVAL, "%s: one buffer on the device, the other not", what);
        return -1;
    }
    return da;
}

/* A plugin's failure breaks the communicator like any other; when libtern
 * itself saw a peer die (through 'alive'), that error stands. */
static int plugin_result(tern_comm *c, int rc, const char *why)
{
    if (rc >= 0)
        return 0;
    return c->broken ? c->code : coll_fail(c, TERN_EBACKEND, "%s", why);
}

int tern_allreduce(tern_comm *c, const void *send, void *recv, size_t count, tern_dtype dt,
                   tern_op op)
{
    int rc = enter(c, "allreduce", dt, true);
    if (rc)
        return rc;
    if ((unsigned)op >= TERN_OP_COUNT)
        return coll_fail(c, TERN_EINVAL, "allreduce: unknown op %d", (int)op);
    if (count && (!send || !recv))
        return coll_fail(c, TERN_EINVAL, "allreduce: NULL buffer");
    int vp = via_plugin(c, send, recv, "allreduce");
    if (vp < 0)
        return c->code;
    if (vp) {
        char why[512];
        return plugin_result(c, c->plugin->allreduce(c->plugin_state, send, recv, count, dt, op,
                                                     coll_alive, c, why, sizeof why), why);
    }
    return ring_allreduce(c, send, recv, count, dt, op) < 0 ? c->code : 0;
}

int tern_broadcast(tern_comm *c, void *buf, size_t count, tern_dtype dt, int root)
{
    int rc = enter(c, "broadcast", dt, true);
    if (rc)
        return rc;
    if (root < 0 || root >= c->size)
        return coll_fail(c, TERN_EINVAL, "broadcast: root %d outside 0..%d", root, c->size - 1);
    if (count && !buf)
        return coll_fail(c, TERN_EINVAL, "broadcast: NULL buffer");
    int vp = via_plugin(c, buf, NULL, "broadcast");
    if (vp < 0)
        return c->code;
    if (vp) {
        char why[512];
        return plugin_result(c, c->plugin->broadcast(c->plugin_state, buf, count, dt, root,
                                                     coll_alive, c, why, sizeof why), why);
    }
    return ring_broadcast(c, buf, count * tern_dtype_size(dt), root) < 0 ? c->code : 0;
}

int tern_allgather(tern_comm *c, const void *send, void *recv, size_t count, tern_dtype dt)
{
    int rc = enter(c, "allgather", dt, true);
    if (rc)
        return rc;
    if (count && (!send || !recv))
        return coll_fail(c, TERN_EINVAL, "allgather: NULL buffer");
    int vp = via_plugin(c, send, recv, "allgather");
    if (vp < 0)
        return c->code;
    if (vp) {
        char why[512];
        return plugin_result(c, c->plugin->allgather(c->plugin_state, send, recv, count, dt,
                                                     coll_alive, c, why, sizeof why), why);
    }
    return ring_allgather(c, send, recv, count * tern_dtype_size(dt)) < 0 ? c->code : 0;
}

int tern_barrier(tern_comm *c)
{
    int rc = enter(c, "barrier", TERN_F32, false);
    if (rc)
        return rc;
    if (c->plugin_only) {
        char why[512];
        return plugin_result(c, c->plugin->barrier(c->plugin_state, coll_alive, c, why,
                                                   sizeof why), why);
    }
    return ring_barrier(c) < 0 ? c->code : 0;
}
