/* Keys, the authorized-keys file and per-sender rate limits. */
#include "unit.h"

#include "collectives/coll.h"
#include "common/authkeys.h"
#include "common/curve.h"
#include "common/jobspec.h"
#include "common/logfold.h"
#include "common/ratelimit.h"
#include "scheduler/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_key_file(void)
{
    char *dir = unit_tmpdir(), path[1024], err[1200];
    snprintf(path, sizeof path, "%s/sub/key", dir);
    curve_key k, back;
    CU_ASSERT_EQUAL_FATAL(curve_keygen(&k), 0);
    CU_ASSERT_TRUE(curve_z85_valid(k.pub));
    CU_ASSERT_EQUAL(curve_key_save(path, &k, false, err, sizeof err), 0);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(curve_key_load(path, &back, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(back.pub, k.pub);
    CU_ASSERT_STRING_EQUAL(back.sec, k.sec);
    /* No overwrite without force; a public half that is not the secret's. */
    CU_ASSERT_EQUAL(curve_key_save(path, &k, false, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "exists"));
    curve_key other;
    curve_keygen(&other);
    FILE *f = fopen(path, "w");
    fprintf(f, "public=%s\nsecret=%s\n", other.pub, k.sec);
    fclose(f);
    CU_ASSERT_EQUAL(curve_key_load(path, &back, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not belong"));
    /* Readable by others: refused, as ssh refuses. */
    CU_ASSERT_EQUAL(curve_key_save(path, &k, true, err, sizeof err), 0);
    chmod(path, 0640);
    CU_ASSERT_EQUAL(curve_key_load(path, &back, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "readable by others"));
    /* A server's public key given inline or as a file. */
    char pub[CURVE_Z85];
    CU_ASSERT_EQUAL(curve_public_read(k.pub, pub, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(pub, k.pub);
    CU_ASSERT_EQUAL(curve_public_read(path, pub, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(pub, k.pub);
    CU_ASSERT_EQUAL(curve_public_read("short", pub, err, sizeof err), -1);
    CU_ASSERT_EQUAL(curve_key_from_secret("not a key", &back), -1);
    unit_rmrf(dir);
    free(dir);
}

static void test_authkeys(void)
{
    curve_key a, w, b;
    curve_keygen(&a);
    curve_keygen(&w);
    curve_keygen(&b);
    char text[1024], err[256];
    snprintf(text, sizeof text,
             "# comment\n\n  admin  alice  %s\nworker * %s\r\nuser bob.smith_2 %s\n",
             a.pub, w.pub, b.pub);
    authkeys *ak = authkeys_parse("ak", text, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ak);
    CU_ASSERT_EQUAL(authkeys_count(ak), 3);
    const authkey *k = authkeys_find(ak, a.pub);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_EQUAL(k->role, AUTHKEY_ADMIN);
    CU_ASSERT_STRING_EQUAL(k->name, "alice");
    CU_ASSERT_EQUAL(authkeys_find(ak, w.pub)->role, AUTHKEY_WORKER);
    CU_ASSERT_STRING_EQUAL(authkeys_find(ak, b.pub)->name, "bob.smith_2");
    curve_key x;
    curve_keygen(&x);
    CU_ASSERT_PTR_NULL(authkeys_find(ak, x.pub));
    authkeys_destroy(&ak);
    CU_ASSERT_PTR_NULL(ak);

    static const struct {
        const char *line, *want;
    } bad[] = {
        { "root alice KEY", "role must be" },
        { "user alice", "expected 'ROLE NAME PUBLICKEY'" },
        { "user alice KEY extra", "expected 'ROLE NAME PUBLICKEY'" },
        { "user * KEY", "bad name" },
        { "user -rf KEY", "bad name" },
        { "user a/b KEY", "bad name" },
        { "user alice short", "not a public key" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "user ok %s\n", a.pub);
        size_t n = strlen(line);
        snprintf(line + n, sizeof line - n, "%s\n", bad[i].line);
        char *key = strstr(line + n, "KEY");
        if (key)
            memcpy(key, b.pub, 3);   /* a short, invalid key where KEY stands */
        CU_ASSERT_PTR_NULL(authkeys_parse("ak", line, err, sizeof err));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "ak:2:"));
    }
    snprintf(text, sizeof text, "user a %s\nuser b %s\n", a.pub, a.pub);
    CU_ASSERT_PTR_NULL(authkeys_parse("ak", text, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "listed twice"));
}

static void test_ratelimit(void)
{
    ratelimit *rl = ratelimit_new(10, 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
    int ok = 0;
    for (int i = 0; i < 50; i++)
        ok += ratelimit_take(rl, "alice", 1000);
    CU_ASSERT_EQUAL(ok, 20);                       /* the burst, then nothing */
    CU_ASSERT_TRUE(ratelimit_take(rl, "bob", 1000)); /* another sender is not held up */
    CU_ASSERT_FALSE(ratelimit_take(rl, "alice", 1050));
    CU_ASSERT_TRUE(ratelimit_take(rl, "alice", 1100)); /* 10/s: one more after 100 ms */
    CU_ASSERT_FALSE(ratelimit_take(rl, "alice", 1100));
    /* Quiet senders are forgotten; busy ones are kept. */
    CU_ASSERT_EQUAL(ratelimit_count(rl), 2);
    for (int i = 0; i < 20; i++)
        ratelimit_take(rl, "carol", 9000);
    CU_ASSERT_TRUE(ratelimit_take(rl, "carol", 12000));
    CU_ASSERT_EQUAL(ratelimit_count(rl), 1);      /* alice and bob are full again */
    ratelimit_destroy(&rl);
    CU_ASSERT_PTR_NULL(rl);
}

/* The rendezvous with TERN_JOB_KEY: rank 0's store admits that key alone. */
static void test_rendezvous_key(void)
{
    curve_key job, other;
    curve_keygen(&job);
    curve_keygen(&other);
    int port = 29000 + (int)(getpid() % 400);
    char err[256];
    setenv("TERN_JOB_KEY", job.sec, 1);
    rdv *r0 = rdv_open(0, 2, "unit/1", "127.0.0.1", port, 2.0, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r0);
    /* A process with another key: its requests are never answered. */
    setenv("TERN_JOB_KEY", other.sec, 1);
    rdv *x = rdv_open(1, 2, "unit/1", "127.0.0.1", port, 1.0, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL(rdv_set(x, "peer1", "x", 1, err, sizeof err), -1);
    rdv_close(&x);
    /* With the job's key, rank 1 gets through and both gather. */
    setenv("TERN_JOB_KEY", job.sec, 1);
    rdv *r1 = rdv_open(1, 2, "unit/1", "127.0.0.1", port, 2.0, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
    CU_ASSERT_EQUAL(rdv_set(r1, "peer1", "b", 1, err, sizeof err), 0);
    CU_ASSERT_EQUAL(rdv_set(r0, "peer0", "a", 1, err, sizeof err), 0);
    void *vals[2];
    size_t lens[2];
    CU_ASSERT_EQUAL(rdv_gather(r1, "peer", 2, vals, lens, err, sizeof err), 0);
    CU_ASSERT(lens[0] == 1 && memcmp(vals[0], "a", 1) == 0);
    for (int i = 0; i < 2; i++)
        free(vals[i]);
    rdv_close(&r1);
    rdv_close(&r0);
    unsetenv("TERN_JOB_KEY");
}

/* Who may act on a job: role and name together, a job key on its job alone. */
static void test_may_manage(void)
{
    Tern__JobSpec alice_spec = TERN__JOB_SPEC__INIT, root_spec = TERN__JOB_SPEC__INIT;
    alice_spec.user = "alice";
    root_spec.user = "root";
    root_spec.admin = true;
    job alice = { .id = 5, .spec = &alice_spec }, other = { .id = 6, .spec = &alice_spec };
    job admins = { .id = 7, .spec = &root_spec };
    caller c = { .role = CALLER_USER };
    snprintf(c.name, sizeof c.name, "alice");
    CU_ASSERT_TRUE(auth_may_manage(&c, &alice));
    CU_ASSERT_FALSE(auth_may_manage(&c, &admins));
    snprintf(c.name, sizeof c.name, "root");   /* a user key named root */
    CU_ASSERT_FALSE(auth_may_manage(&c, &admins));
    CU_ASSERT_FALSE(auth_may_manage(&c, &alice));
    caller jk = { .role = CALLER_JOB, .job_id = 5 };
    snprintf(jk.name, sizeof jk.name, "alice");
    CU_ASSERT_TRUE(auth_may_manage(&jk, &alice));
    CU_ASSERT_FALSE(auth_may_manage(&jk, &other));
    jk.admin = true;   /* an admin's job's key: still its own job only */
    CU_ASSERT_FALSE(auth_may_manage(&jk, &admins));
    caller adm = { .role = CALLER_ADMIN, .admin = true };
    CU_ASSERT_TRUE(auth_may_manage(&adm, &admins) && auth_may_manage(&adm, &alice));
    caller gone = { .role = CALLER_REVOKED }, worker = { .role = CALLER_WORKER };
    CU_ASSERT_FALSE(auth_may_manage(&gone, &alice) || auth_may_manage(&worker, &alice));
    /* One rate-limit bucket per user and role: their key and their jobs' keys. */
    jk.admin = false;
    wire_peer p1 = { .user = "KEY1" }, p2 = { .user = "KEY2" };
    char b1[128], b2[128];
    CU_ASSERT_STRING_EQUAL(auth_rate_key(&c, &p1, b1, sizeof b1), "user:root");
    snprintf(c.name, sizeof c.name, "alice");
    CU_ASSERT_STRING_EQUAL(auth_rate_key(&c, &p1, b1, sizeof b1),
                           auth_rate_key(&jk, &p2, b2, sizeof b2));
    CU_ASSERT_STRING_EQUAL(auth_rate_key(&gone, &p2, b2, sizeof b2), "key:KEY2");
}

static void test_secret_env(void)
{
    CU_ASSERT_TRUE(jobspec_env_secret("TERN_JOB_KEY=abc"));
    CU_ASSERT_TRUE(jobspec_env_secret("TERN_JOB_KEY"));
    CU_ASSERT_FALSE(jobspec_env_secret("TERN_JOB_KEYS=abc"));
    CU_ASSERT_FALSE(jobspec_env_secret("TERN_SERVER_KEY=abc"));
    CU_ASSERT_FALSE(jobspec_env_secret("TERN_JOB="));
    char *env[] = { "HOME=/", "TERN_JOB_KEY=x" }, *argv[] = { "true" };
    Tern__JobSpec sp = TERN__JOB_SPEC__INIT;
    sp.argv = argv;
    sp.n_argv = 1;
    sp.env = env;
    sp.n_env = 2;
    sp.cwd = "/";
    sp.nodes = sp.tasks_per_node = sp.cpus_per_task = 1;
    char err[256];
    CU_ASSERT_EQUAL(jobspec_validate(&sp, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "TERN_JOB_KEY, a job's secret key"));
    sp.n_env = 1;
    CU_ASSERT_EQUAL(jobspec_validate(&sp, err, sizeof err), 0);
    CU_ASSERT_EQUAL(jobspec_umask(&sp), 077u);
    sp.umask = 022u | JOBSPEC_UMASK_SENT;
    CU_ASSERT_EQUAL(jobspec_umask(&sp), 022u);
    sp.umask = JOBSPEC_UMASK_SENT;   /* umask 0 is a umask too */
    CU_ASSERT_EQUAL(jobspec_umask(&sp), 0u);
    sp.umask = 01000u | JOBSPEC_UMASK_SENT;
    CU_ASSERT_EQUAL(jobspec_validate(&sp, err, sizeof err), -1);
}

/* A flood about one peer: its first line, then one count per second. */
static void test_logfold(void)
{
    logfold *lf = logfold_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(lf);
    CU_ASSERT_TRUE(logfold_allow(lf, "client bob", 1000));
    for (int i = 0; i < 3999; i++)
        CU_ASSERT_FALSE(logfold_allow(lf, "client bob", 1000 + i / 100));
    CU_ASSERT_TRUE(logfold_allow(lf, "client carol", 1010));   /* another peer: its own */
    logfold_flush(lf, 1500);                                   /* bob's second goes on */
    CU_ASSERT_FALSE(logfold_allow(lf, "client bob", 1600));
    logfold_flush(lf, 2000);                                   /* over: counted, forgotten */
    CU_ASSERT_TRUE(logfold_allow(lf, "client bob", 2001));
    CU_ASSERT_FALSE(logfold_allow(lf, "client carol", 2002));  /* carol's: until 2010 */
    logfold_flush(lf, 2010);
    CU_ASSERT_TRUE(logfold_allow(lf, "client carol", 2011));
    /* Past LOGFOLD_MAX_PEERS peers, lines are counted together. */
    char who[32];
    int allowed = 0;
    for (int i = 0; i < LOGFOLD_MAX_PEERS + 10; i++) {
        snprintf(who, sizeof who, "peer %d", i);
        allowed += logfold_allow(lf, who, 3000);
    }
    CU_ASSERT_EQUAL(allowed, LOGFOLD_MAX_PEERS - 2);   /* bob and carol hold two places */
    logfold_flush(lf, 4000);
    CU_ASSERT_TRUE(logfold_allow(lf, "peer 5000", 4001));
    logfold_destroy(&lf);
    CU_ASSERT_PTR_NULL(lf);
    CU_ASSERT_TRUE(logfold_allow(NULL, "anyone", 0));
}

int suite_auth(void)
{
    static const unit_test tests[] = {
        { "key file", test_key_file },
        { "authorized keys", test_authkeys },
        { "rate limit", test_ratelimit },
        { "rendezvous key", test_rendezvous_key },
        { "who may manage a job", test_may_manage },
        { "secrets in a submitted environment", test_secret_env },
        { "folded log lines", test_logfold },
        { NULL, NULL },
    };
    return unit_add("auth", tests);
}
