/* tern_comm: forming a communicator from the rank environment, choosing
 * the backend, wiring the CPU backend's ring; its errors and its end. (The
 * collective calls themselves: dispatch.c.) */
#include "collectives/coll.h"

#include "collectives/link.h"
#include "collectives/plugin.h"
#include "collectives/rendezvous.h"
#include "collectives/shmseg.h"
#include "common/fsutil.h"

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

typedef enum { BACKEND_CPU, BACKEND_NCCL, BACKEND_MPI } backend;

double coll_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lets the neighbours see the break at once: local ranks through the
 * abort word, remote ones through the TCP connections closing. */
static void break_links(tern_comm *c)
{
    shmseg_abort(c);
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
    char file[64], path[FS_SUBPATH_LEN];
    snprintf(file, sizeof file, "libtern-%s.so", name);
    Dl_info info;
    void *h = NULL;
    if (dladdr((void *)open_plugin, &info) && info.dli_fname) {
        char self[FS_PATH_LEN];
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

/* Rank 0's random session id to every rank: it names the shared segments
 * and proves a ring connection. 0, or < 0 with the error recorded. */
static int share_session(tern_comm *c, rdv *r)
{
    char val[32], **vals = NULL;
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
    return 0;
}

/* Who is where: this rank's machine, listener (in *lfd, which the caller
 * closes) and pid to every rank, and every rank's into c->peers. 0, or
 * < 0 with the error recorded. */
static int share_peers(tern_comm *c, rdv *r, const char *addr, int *lfd)
{
    char key[64], val[512], **vals = NULL;
    coll_peer *me = &c->peers[c->rank];
    node_key(me->node_key, sizeof me->node_key);
    me->pid = getpid();
    if (tcp_listen(addr, me->tcp_addr, sizeof me->tcp_addr, lfd) < 0)
        return coll_fail(c, TERN_ESYS, "cannot listen for ring connections: %s", strerror(errno));
    snprintf(key, sizeof key, "peer%d", c->rank);
    int vl = snprintf(val, sizeof val, "%s\t%s\t%d", me->node_key, me->tcp_addr, (int)me->pid);
    if (set_key(c, r, key, val, (size_t)vl) < 0 || gather(c, r, "peer", c->size, &vals) < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < c->size && rc == 0; i++)
        if (parse_peer(&c->peers[i], vals[i]) < 0)
            rc = coll_fail(c, TERN_EPEER, "rank %d published a malformed address", i);
    for (int i = 0; i < c->size; i++)
        free(vals[i]);
    free(vals);
    return rc;
}

/* The shared segments of this machine's ranks: each creates its own, all
 * map all, then the names go. The segments have names only between these
 * gathers (milliseconds), so a rank killed during a slow rendezvous leaves
 * none behind. 0, or < 0 with the error recorded. */
static int share_segments(tern_comm *c, rdv *r)
{
    char key[64];
    if (shmseg_create(c) < 0)
        return -1;
    snprintf(key, sizeof key, "created%d", c->rank);
    if (set_key(c, r, key, "1", 1) < 0 || gather(c, r, "created", c->size, NULL) < 0 ||
        shmseg_map_peers(c) < 0)
        return -1;
    /* Every local rank has mapped every segment: the names can go. */
    snprintf(key, sizeof key, "mapped%d", c->rank);
    if (set_key(c, r, key, "1", 1) < 0 || gather(c, r, "mapped", c->size, NULL) < 0)
        return -1;
    shmseg_unlink(c);
    return 0;
}

/* The links to the next rank and from the previous one: shared memory with
 * a rank of this machine, else TCP (the inbound one accepted on lfd). 0,
 * or < 0 with the error recorded. */
static int link_ring(tern_comm *c, int lfd)
{
    if (c->size == 1)
        return 0;
    int next = (c->rank + 1) % c->size, prev = (c->rank + c->size - 1) % c->size;
    bool shm_out = shmseg_is_local(c, next), shm_in = shmseg_is_local(c, prev);
    if ((shm_out && !(c->next = shm_link_new(c, c->rank, next))) ||
        (shm_in && !(c->prev = shm_link_new(c, prev, c->rank))))
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    return tcp_links(c, lfd, &c->next, &c->prev, !shm_out, !shm_in);
}

/* The CPU backend's wiring through the store: who is where, shared memory
 * with the ranks of this machine, TCP to the others. */
static int wire_up(tern_comm *c, rdv *r, const char *addr)
{
    int lfd = -1;
    int rc = share_session(c, r);
    if (rc == 0)
        rc = share_peers(c, r, addr, &lfd);
    if (rc == 0)
        rc = share_segments(c, r);
    if (rc == 0)
        rc = link_ring(c, lfd);
    if (lfd >= 0)
        close(lfd);
    return rc;
}

/* The plugin's communicator beside the ring (NCCL): rank 0's id through
 * the store, then the plugin's create. 0, or < 0 with the error recorded. */
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

/* The backend TERN_COLL asks for (mpirun's MPI when it is unset and no
 * world was given). TERN_OK, or TERN_ENV with the reason in c->err. */
static int choose_backend(tern_comm *c, const tern_comm_opts *o, bool cpu_only, backend *b)
{
    const char *coll = cpu_only ? "cpu" : getenv("TERN_COLL");
    bool want_mpi = coll ? strcmp(coll, "mpi") == 0
                         : getenv("OMPI_COMM_WORLD_SIZE") != NULL && o->world_size == 0;
    bool want_nccl = coll && strcmp(coll, "nccl") == 0;
    if (coll && !want_mpi && !want_nccl && strcmp(coll, "cpu") != 0) {
        snprintf(c->err, sizeof c->err, "TERN_COLL=%s: expected cpu, nccl or mpi", coll);
        return TERN_ENV;
    }
    *b = want_mpi ? BACKEND_MPI : want_nccl ? BACKEND_NCCL : BACKEND_CPU;
    return TERN_OK;
}

/* mpirun started us: MPI knows the world and serves every operation.
 * TERN_OK, or TERN_EBACKEND with the reason in c->err. */
static int init_mpi(tern_comm *c, double init_timeout)
{
    char why[512] = "";
    if (load_plugin(c, "mpi", why, sizeof why) < 0 || !c->plugin->world ||
        c->plugin->world(&c->rank, &c->size) < 0) {
        snprintf(c->err, sizeof c->err, "MPI backend: %.480s", why[0] ? why : "no world");
        return TERN_EBACKEND;
    }
    c->plugin_only = true;
    if (c->plugin->create(&c->plugin_state, c->rank, c->size, NULL, 0, init_timeout, why,
                          sizeof why) < 0) {
        snprintf(c->err, sizeof c->err, "MPI backend: %.480s", why);
        return TERN_EBACKEND;
    }
    return TERN_OK;
}

/* This rank and the world's size, from the options or RANK and
 * WORLD_SIZE. TERN_OK, or TERN_ENV with the reason in c->err. */
static int read_world(tern_comm *c, const tern_comm_opts *o)
{
    if (o->world_size > 0) {
        c->rank = o->rank;
        c->size = o->world_size;
    } else if (env_int("RANK", &c->rank) < 0 || env_int("WORLD_SIZE", &c->size) < 0) {
        snprintf(c->err, sizeof c->err, "RANK and WORLD_SIZE are not set (is this program "
                 "running under tern, torchrun or mpirun?)");
        return TERN_ENV;
    }
    if (c->size < 1 || c->size > COLL_MAX_WORLD || c->rank < 0 || c->rank >= c->size) {
        snprintf(c->err, sizeof c->err, "RANK %d and WORLD_SIZE %d do not fit together",
                 c->rank, c->size);
        return TERN_ENV;
    }
    return TERN_OK;
}

/* Where rank 0's store is (*addr, *port), from the options or MASTER_ADDR
 * and MASTER_PORT, and whether the ranks may share memory (the transport).
 * TERN_OK, or TERN_ENV with the reason in c->err. */
static int read_master(tern_comm *c, const tern_comm_opts *o, const char **addr, int *port)
{
    *addr = o->master_addr ? o->master_addr : getenv("MASTER_ADDR");
    *port = o->master_port;
    if (!*port && env_int("MASTER_PORT", port) < 0)
        *port = 0;
    if (!*addr || !**addr || *port < 1 || *port > 65535) {
        snprintf(c->err, sizeof c->err, "MASTER_ADDR and MASTER_PORT must name the rank 0 "
                 "host and a port (got %s:%d)", *addr ? *addr : "(unset)", *port);
        return TERN_ENV;
    }
    const char *transport = o->transport ? o->transport : getenv("TERN_COLL_TRANSPORT");
    if (transport && strcmp(transport, "tcp") != 0 && strcmp(transport, "auto") != 0) {
        snprintf(c->err, sizeof c->err, "TERN_COLL_TRANSPORT=%s: expected auto or tcp",
                 transport);
        return TERN_ENV;
    }
    c->shm_allowed = !transport || strcmp(transport, "tcp") != 0;
    return TERN_OK;
}

/* The CPU backend's ring through rank 0's store at addr:port, and NCCL's
 * communicator beside it when 'nccl'. TERN_OK, or a TERN_E* code with the
 * reason in c->err. */
static int form_ring(tern_comm *c, const char *addr, int port, double init_timeout, bool nccl)
{
    char why[512], run[96];
    c->peers = calloc((size_t)c->size, sizeof *c->peers);
    if (!c->peers) {
        snprintf(c->err, sizeof c->err, "out of memory");
        return TERN_ENOMEM;
    }
    run_id(run, sizeof run);
    rdv *r = rdv_open(c->rank, c->size, run, addr, port, init_timeout, why, sizeof why);
    if (!r) {
        snprintf(c->err, sizeof c->err, "%s", why);
        return TERN_ESYS;
    }
    int wired = wire_up(c, r, addr);
    if (wired == 0 && nccl) {
        if (load_plugin(c, "nccl", why, sizeof why) < 0)
            wired = coll_fail(c, TERN_EBACKEND, "%s", why);
        else
            wired = init_plugin_comm(c, r, init_timeout);
    }
    rdv_close(&r);
    if (wired < 0)
        return c->code;
    c->broken = false;
    return TERN_OK;
}

/* Everything but MPI: the world from the environment, then the ring. */
static int init_ring(tern_comm *c, const tern_comm_opts *o, double init_timeout, bool nccl)
{
    const char *addr;
    int port;
    int rc = read_world(c, o);
    if (rc == TERN_OK)
        rc = read_master(c, o, &addr, &port);
    if (rc == TERN_OK)
        rc = form_ring(c, addr, port, init_timeout, nccl);
    return rc;
}

int coll_init(tern_comm **out, const tern_comm_opts *o, bool cpu_only, char *errbuf,
              size_t errlen)
{
    *out = NULL;
    tern_comm *c = calloc(1, sizeof *c);
    if (!c) {
        if (errbuf)
            snprintf(errbuf, errlen, "out of memory");
        return TERN_ENOMEM;
    }
    tern_comm_opts dflt = { 0 };
    if (!o)
        o = &dflt;
    backend b;
    int rc = choose_backend(c, o, cpu_only, &b);
    if (rc == TERN_OK) {
        double init_timeout = o->init_timeout_s > 0
                                  ? o->init_timeout_s
                                  : env_seconds("TERN_INIT_TIMEOUT", DEFAULT_INIT_TIMEOUT);
        c->dead_timeout_s = env_seconds("TERN_COLL_DEAD_TIMEOUT", DEFAULT_DEAD_TIMEOUT);
        c->progress_timeout_s = env_seconds("TERN_COLL_TIMEOUT", DEFAULT_PROGRESS_TIMEOUT);
        rc = b == BACKEND_MPI ? init_mpi(c, init_timeout)
                              : init_ring(c, o, init_timeout, b == BACKEND_NCCL);
    }
    if (rc == TERN_OK) {
        *out = c;
        return TERN_OK;
    }
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
    shmseg_close(c);
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
