#include "bench/lib/benchlib.h"

#include "common/curve.h"
#include "common/fsutil.h"
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

extern char **environ;

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t bench_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

double bench_shell(const char *cmd)
{
    double t0 = bench_now();
    int rc = system(cmd);
    double t = bench_now() - t0;
    return rc == 0 ? t : -1;
}

bool bench_have(const char *prog)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

const char *bench_slurm(void)
{
    const char *conf = getenv("SLURM_CONF");
    return conf && *conf && access(conf, R_OK) == 0 ? conf : NULL;
}

void bench_headline(const char *figure, double value, const char *unit, const char *peer,
                    double peer_value)
{
    printf("bench: %s %.1f %s", figure, value, unit);
    if (peer && peer_value > 0)
        printf(" vs %s %.1f %s ratio %.2f", peer, peer_value, unit, value / peer_value);
    printf("\n");
    fflush(stdout);
}

void bench_up(bench_cluster *bc, int workers, unsigned cpus)
{
    bench_up_with(bc, workers, cpus, "");
}

void bench_up_with(bench_cluster *bc, int workers, unsigned cpus, const char *extra)
{
    char exe[FS_PATH_LEN], tmpl[] = "/tmp/tern-bench.XXXXXX";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        die("cannot find my own executable%s", "");
    exe[n] = '\0';
    snprintf(bc->bindir, sizeof bc->bindir, "%s", dirname(exe));
    char *base = mkdtemp(tmpl);
    if (!base)
        die("mkdtemp: %s", strerror(errno));
    snprintf(bc->dir, sizeof bc->dir, "%s/.tern", base);
    char cmd[65536], cpuopt[64] = "";
    if (cpus)
        snprintf(cpuopt, sizeof cpuopt, "--cpus-per-worker %u", cpus);
    /* Authentication on, as a user gets it; no rate limit: the benchmarks
     * are one user as fast as it can go. */
    if (workers > 0)
        snprintf(cmd, sizeof cmd, "%s/tern up --dir %s --workers %d %s --rate-limit 0 %s "
                 ">/dev/null", bc->bindir, bc->dir, workers, cpuopt, extra);
    else   /* ternd alone: jobs stay pending, submission is all that is measured */
        snprintf(cmd, sizeof cmd, "mkdir -p %s/keys && (cd %s/keys && "
                 "echo \"admin bench $(%s/tern keygen -o admin.key 2>/dev/null)\" "
                 ">authorized_keys && %s/tern keygen -o server.key >/dev/null 2>&1) || exit 1; "
                 "%s/ternd --state %s/state.db --client "
                 "tcp://127.0.0.1:0 --worker tcp://127.0.0.1:0 --endpoints-file %s/ep "
                 "--key %s/keys/server.key --authorized-keys %s/keys/authorized_keys "
                 "--rate-limit 0 --log-level warn >%s/ternd.log 2>&1 & echo $! > %s/ternd.pid; "
                 "for i in $(seq 200); do [ -s %s/ep ] && break; sleep 0.02; done; [ -s %s/ep ]",
                 bc->dir, bc->dir, bc->bindir, bc->bindir, bc->bindir, bc->dir, bc->dir,
                 bc->dir, bc->dir, bc->dir, bc->dir, bc->dir, bc->dir);
    /* The previous cluster's keys (a bench may start several) are not this one's. */
    unsetenv("TERN_KEY");
    unsetenv("TERN_SERVER_KEY");
    if (system(cmd) != 0)
        die("cannot start the cluster: %s", cmd);
    char path[FS_SUBPATH_LEN], *text;
    snprintf(path, sizeof path, "%s/%s", bc->dir, workers > 0 ? "cluster" : "ep");
    if (fs_read_all(path, 65536, &text, NULL) < 0)
        die("cannot read %s", path);
    char *s = strstr(text, workers > 0 ? "scheduler=" : "client=");
    if (!s)
        die("no scheduler endpoint in %s", path);
    sscanf(strchr(s, '=') + 1, "%511[^\n]", bc->scheduler);
    free(text);
    /* The bench's clients and the tern CLI it runs find the keys here. */
    char key[FS_SUBPATH_LEN];
    curve_key server;
    snprintf(key, sizeof key, "%s/keys/admin.key", bc->dir);
    setenv("TERN_KEY", key, 1);
    snprintf(key, sizeof key, "%s/keys/server.key", bc->dir);
    char err[FS_MSG_LEN];
    if (curve_key_load(key, &server, err, sizeof err) < 0)
        die("%s", err);
    setenv("TERN_SERVER_KEY", server.pub, 1);
}

void bench_down(bench_cluster *bc)
{
    char cmd[65536];
    snprintf(cmd, sizeof cmd,
             "[ -f %s/cluster ] && %s/tern down --dir %s >/dev/null; "
             "[ -f %s/ternd.pid ] && kill $(cat %s/ternd.pid); sleep 0.2; rm -rf \"$(dirname %s)\"",
             bc->dir, bc->bindir, bc->dir, bc->dir, bc->dir, bc->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: cleanup of %s incomplete\n", bc->dir);
}

void bench_connect(bench_client *c, const char *endpoint)
{
    c->ctx = zmq_ctx_new();
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    c->seq = 0;
    int hwm = 100000;
    zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    wire_socket_defaults(c->sock);
    /* A cluster of bench_up's: CURVE with its admin key. */
    char err[FS_MSG_LEN];
    if (curve_client_from_env(c->sock, err, sizeof err) < 0)
        die("%s", err);
    if (zmq_connect(c->sock, endpoint) < 0)
        die("connect %s", endpoint);
}

void bench_close(bench_client *c)
{
    zmq_close(c->sock);
    zmq_ctx_term(c->ctx);
}

void bench_spec(Tern__JobSpec *spec, char **argv, uint32_t nodes, uint32_t tasks)
{
    tern__job_spec__init(spec);
    size_t n = 0, e = 0;
    while (argv[n])
        n++;
    while (environ[e])
        e++;
    spec->name = "bench";
    spec->user = "bench";
    spec->argv = argv;
    spec->n_argv = n;
    spec->env = environ;     /* as the CLI sends: the submitting environment */
    spec->n_env = e;
    spec->cwd = "/tmp";
    spec->nodes = nodes;
    spec->tasks_per_node = tasks;
    spec->cpus_per_task = 1;
}

uint64_t bench_submit_send(bench_client *c, Tern__JobSpec *spec)
{
    Tern__Envelope env;
    Tern__SubmitRequest rq = TERN__SUBMIT_REQUEST__INIT;
    wire_init(&env, ++c->seq);
    rq.spec = spec;
    env.body_case = TERN__ENVELOPE__BODY_SUBMIT;
    env.submit = &rq;
    if (wire_send(c->sock, NULL, &env, 0) < 0)
        die("send: %s", zmq_strerror(errno));
    return c->seq;
}

static Tern__Envelope *recv_reply(bench_client *c)
{
    zmq_pollitem_t it = { c->sock, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&it, 1, 30000) <= 0)
        die("no reply from the scheduler in 30 s%s", "");
    Tern__Envelope *env;
    char err[256];
    if (wire_recv(c->sock, false, 0, NULL, &env, err, sizeof err) != 0)
        die("bad reply: %s", err);
    if (env->body_case == TERN__ENVELOPE__BODY_ERROR)
        die("scheduler: %s", env->error->message);
    return env;
}

uint64_t bench_submit_recv(bench_client *c)
{
    Tern__Envelope *env = recv_reply(c);
    uint64_t id = env->body_case == TERN__ENVELOPE__BODY_SUBMITTED ? env->submitted->job_id : 0;
    wire_free(env);
    if (!id)
        die("unexpected reply to a submit%s", "");
    return id;
}

int bench_wait(bench_client *c, uint64_t id)
{
    for (;;) {
        Tern__Envelope env;
        Tern__WaitRequest rq = TERN__WAIT_REQUEST__INIT;
        wire_init(&env, ++c->seq);
        rq.job_id = id;
        rq.max_wait_ms = 10000;
        env.body_case = TERN__ENVELOPE__BODY_WAIT;
        env.wait = &rq;
        if (wire_send(c->sock, NULL, &env, 0) < 0)
            die("send: %s", zmq_strerror(errno));
        Tern__Envelope *rep = recv_reply(c);
        if (rep->body_case != TERN__ENVELOPE__BODY_JOBS || rep->jobs->n_jobs != 1)
            die("unexpected reply to a wait%s", "");
        const Tern__JobInfo *j = rep->jobs->jobs[0];
        bool done = strcmp(j->state, "CD") == 0 || strcmp(j->state, "F") == 0 ||
                    strcmp(j->state, "CA") == 0 || strcmp(j->state, "NF") == 0 ||
                    strcmp(j->state, "TO") == 0;
        int code = j->exit_code;
        wire_free(rep);
        if (done)
            return code;
    }
}

int bench_run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *bench_self(void)
{
    static char exe[FS_PATH_LEN];
    if (!exe[0]) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
    }
    return exe;
}

const char *bench_name(void)
{
    const char *self = bench_self(), *slash = strrchr(self, '/');
    return slash ? slash + 1 : *self ? self : "bench";
}

const char *bench_bindir(void)
{
    static char dir[FS_PATH_LEN];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", bench_self());
        char *slash = strrchr(dir, '/');
        if (!slash)
            bench_die("cannot find my own executable");
        *slash = '\0';
    }
    return dir;
}

static void (*die_hook)(void);

void bench_on_die(void (*hook)(void))
{
    die_hook = hook;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", bench_name());
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (die_hook)
        die_hook();
    exit(1);
}

uint64_t bench_rng(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static double proc_cpu(long pid)
{
    char buf[1024];
    const char *p = proc_stat((pid_t)pid, buf, sizeof buf);
    unsigned long long ut = 0, st = 0, cut = 0, cst = 0;
    /* from the state (field 3): ... utime(14) stime(15) cutime(16) cstime(17) */
    if (!p || sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                     &ut, &st, &cut, &cst) != 4)
        return 0;
    return (double)(ut + st + cut + cst) / (double)sysconf(_SC_CLK_TCK);
}

void bench_cluster_cpu(const bench_cluster *bc, double *ternd, double *workers)
{
    char path[FS_SUBPATH_LEN], *text;
    *ternd = *workers = 0;
    snprintf(path, sizeof path, "%s/cluster", bc->dir);
    if (fs_read_all(path, 65536, &text, NULL) < 0)
        return;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        long pid;
        char name[128];
        if (sscanf(l, "ternd_pid=%ld", &pid) == 1)
            *ternd += proc_cpu(pid);
        else if (sscanf(l, "worker=%127s %ld", name, &pid) == 2)
            *workers += proc_cpu(pid);
    }
    free(text);
}
