/* cli/submit_opts: the options of 'tern submit' from the command line and
 * from #TERN / #SBATCH lines at the top of a script, and how the two merge. */
#include "tests/unit/unit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/submit_opts.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Parses a NULL-terminated list of words after "submit". */
static int parse_words(submit_opts *o, char **words, char *err, size_t errlen)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "submit";
    for (; *words; words++)
        argv[argc++] = *words;
    argv[argc] = NULL;
    memset(o, 0, sizeof *o);
    err[0] = '\0';
    return submit_opts_parse(o, argc, argv, "submit", err, errlen);
}

/* ---- command line --------------------------------------------------------- */

static void test_flags_together(void)
{
    char *argv[] = {
        "submit", "-N", "2", "--ntasks-per-node", "4", "-c", "2", "-t", "1:00:00",
        "-J", "name", "-o", "out", "--signal", "USR1@90", "--gpus-per-node", "2",
        "--preemptible", "--priority", "-5", "--parsable",
        "train.py", "-N", "7", "--lr", "0.1", NULL,
    };
    int argc = (int)N_ELEMS(argv) - 1;
    submit_opts o;
    memset(&o, 0, sizeof o);
    char err[256] = "";
    int idx = submit_opts_parse(&o, argc, argv, "submit", err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(idx, 21);
    CU_ASSERT_STRING_EQUAL(argv[idx], "train.py");
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_EQUAL(o.nodes, 2);                 /* the program's own -N 7 untouched */
    CU_ASSERT_EQUAL(o.tasks_per_node, 4);
    CU_ASSERT_EQUAL(o.cpus_per_task, 2);
    CU_ASSERT_EQUAL(o.time_limit_s, 3600);
    CU_ASSERT_STRING_EQUAL(o.name, "name");
    CU_ASSERT_STRING_EQUAL(o.output, "out");
    CU_ASSERT_EQUAL(o.signal, SIGUSR1);
    CU_ASSERT_EQUAL(o.signal_secs, 90);
    CU_ASSERT_EQUAL(o.gpus_per_node, 2);
    CU_ASSERT_TRUE(o.preemptible);
    CU_ASSERT_EQUAL(o.priority, -5);
    CU_ASSERT_TRUE(o.parsable);
    CU_ASSERT_EQUAL(o.set, SO_NODES | SO_TPN | SO_CPUS | SO_TIME | SO_NAME | SO_OUTPUT |
                               SO_SIGNAL | SO_GPUS | SO_PREEMPTIBLE | SO_PRIORITY | SO_PARSABLE);
    CU_ASSERT_FALSE(o.slurm_env);

    /* the parser can be run again: getopt state is reset each time */
    memset(&o, 0, sizeof o);
    idx = submit_opts_parse(&o, argc, argv, "submit", err, sizeof err);
    CU_ASSERT_EQUAL(idx, 21);
    CU_ASSERT_EQUAL(o.nodes, 2);
}

static void test_flags_one_by_one(void)
{
    static struct {
        char *words[4];
        unsigned bit;
        int idx;
    } cases[] = {
        { { "-N", "2", NULL }, SO_NODES, 3 },
        { { "--nodes=2", NULL }, SO_NODES, 2 },
        { { "--nodes", "3", "cmd", NULL }, SO_NODES, 3 },
        { { "-N3", "cmd", NULL }, SO_NODES, 2 },
        { { "-n", "8", NULL }, SO_NTASKS, 3 },
        { { "--ntasks-per-node", "4", NULL }, SO_TPN, 3 },
        { { "-c", "2", NULL }, SO_CPUS, 3 },
        { { "--cpus-per-task=6", NULL }, SO_CPUS, 2 },
        { { "-t", "2-00:30", NULL }, SO_TIME, 3 },
        { { "--time=90", NULL }, SO_TIME, 2 },
        { { "-J", "name", NULL }, SO_NAME, 3 },
        { { "-o", "out", NULL }, SO_OUTPUT, 3 },
        { { "-e", "/tmp/err", NULL }, SO_ERROR, 3 },
        { { "--signal", "USR1@90", NULL }, SO_SIGNAL, 3 },
        { { "--signal", "B:TERM", NULL }, SO_SIGNAL, 3 },
        { { "--signal=R:USR2@5", NULL }, SO_SIGNAL, 2 },
        { { "--gres", "gpu:h100:4", NULL }, SO_GPUS, 3 },
        { { "--gres=gpu:2", NULL }, SO_GPUS, 2 },
        { { "--gpus-per-node", "2", NULL }, SO_GPUS, 3 },
        { { "--preemptible", NULL }, SO_PREEMPTIBLE, 2 },
        { { "--priority", "-5", NULL }, SO_PRIORITY, 3 },
        { { "--parsable", "x", NULL }, SO_PARSABLE, 2 },
        { { "--slurm-env", NULL }, SO_SLURM_ENV, 2 },
        { { "--max-restarts", "3", NULL }, SO_RESTARTS, 3 },
        { { "--checkpoint-dir", "/ckpt", NULL }, SO_CKPT, 3 },
        { { "--launcher", "direct", NULL }, SO_LAUNCHER, 3 },
        { { "-D", "/work", NULL }, SO_CHDIR, 3 },
        { { "--scheduler", "tcp://h:1", NULL }, SO_SCHEDULER, 3 },
        { { "--", "-N", "5", NULL }, 0, 2 },
        { { "cmd", "-N", "5", NULL }, 0, 1 },
        { { NULL }, 0, 1 },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        submit_opts o;
        char err[256];
        int idx = parse_words(&o, cases[i].words, err, sizeof err);
        if (idx != cases[i].idx || o.set != cases[i].bit)
            fprintf(stderr, "flags case %zu (%s): idx %d set %#x err '%s'\n", i,
                    cases[i].words[0] ? cases[i].words[0] : "", idx, o.set, err);
        CU_ASSERT_EQUAL(idx, cases[i].idx);
        CU_ASSERT_EQUAL(o.set, cases[i].bit);
    }

    /* the values of the ones above that have a twist */
    submit_opts o;
    char err[256];
    CU_ASSERT_EQUAL(parse_words(&o, (char *[]){ "--signal", "B:TERM", NULL }, err, sizeof err), 3);
    CU_ASSERT_EQUAL(o.signal, SIGTERM);
    CU_ASSERT_EQUAL(o.signal_secs, 60);
    CU_ASSERT_EQUAL(parse_words(&o, (char *[]){ "--signal=R:USR2@5", NULL }, err, sizeof err), 2);
    CU_ASSERT_EQUAL(o.signal, SIGUSR2);
    CU_ASSERT_EQUAL(o.signal_secs, 5);
    CU_ASSERT_EQUAL(parse_words(&o, (char *[]){ "--gres", "gpu:h100:4", NULL }, err, sizeof err), 3);
    CU_ASSERT_EQUAL(o.gpus_per_node, 4);
    CU_ASSERT_EQUAL(parse_words(&o, (char *[]){ "-t", "2-00:30", NULL }, err, sizeof err), 3);
    CU_ASSERT_EQUAL(o.time_limit_s, 2 * 86400 + 30 * 60);
    CU_ASSERT_EQUAL(parse_words(&o, (char *[]){ "-N3", NULL }, err, sizeof err), 2);
    CU_ASSERT_EQUAL(o.nodes, 3);
    CU_ASSERT_EQUAL(parse_words(&o, (char *[]){ "-N", "2", "-N", "5", NULL }, err, sizeof err), 5);
    CU_ASSERT_EQUAL(o.nodes, 5);   /* the last one wins */
}

static void test_flag_errors(void)
{
    static struct {
        char *words[4];
        const char *err;     /* exact */
        const char *part;    /* or a piece */
    } cases[] = {
        { { "--bogus", NULL }, "submit: unknown option '--bogus'", NULL },
        { { "--bogus=1", "-N", "2", NULL }, NULL, "unknown option '--bogus" },
        { { "-Z", NULL }, "submit: unknown option '-Z'", NULL },
        { { "-N", NULL }, "submit: option '-N' needs a value", NULL },
        { { "--nodes", NULL }, "submit: option '--nodes' needs a value", NULL },
        { { "-J", NULL }, NULL, "needs a value" },
        { { "-N", "0", NULL }, NULL, "-N '0'" },
        { { "-N", "two", NULL }, NULL, "-N 'two'" },
        { { "-N", "100001", NULL }, NULL, "-N '100001'" },
        { { "-c", "0", NULL }, NULL, "-c '0'" },
        { { "--ntasks-per-node", "0", NULL }, NULL, "--ntasks-per-node '0'" },
        { { "-t", "1:2:3:4", NULL }, NULL, "-t '1:2:3:4'" },
        { { "--signal", "FOO@5", NULL }, NULL, "--signal 'FOO@5'" },
        { { "--signal", "USR1@x", NULL }, NULL, "--signal 'USR1@x'" },
        { { "--gres", "h100:4", NULL }, NULL, "--gres 'h100:4'" },
        { { "--gpus-per-node", "65", NULL }, NULL, "--gpus-per-node '65'" },
        { { "--priority", "high", NULL }, NULL, "--priority 'high'" },
        { { "--launcher", "srun", NULL }, NULL, "--launcher 'srun'" },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        submit_opts o;
        char err[256];
        int idx = parse_words(&o, cases[i].words, err, sizeof err);
        CU_ASSERT_EQUAL(idx, -1);
        if (cases[i].err)
            CU_ASSERT_STRING_EQUAL(err, cases[i].err);
        if (cases[i].part) {
            if (!strstr(err, cases[i].part))
                fprintf(stderr, "error case %zu: '%s' lacks '%s'\n", i, err, cases[i].part);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].part));
        }
        CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    }

    /* a name too long for the field */
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    submit_opts o;
    char err[256];
    CU_ASSERT_EQUAL(parse_words(&o, (char *[]){ "-J", longname, NULL }, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than 256"));
}

/* A flag given a value ("--preemptible=yes") is refused with a message that
 * names the flag: getopt reports it with optopt set to the option's code
 * (e.g. 260), which must not be printed as a character. */
static void test_flag_given_value(void)
{
    static char *flags[] = { "--preemptible=yes", "--parsable=1", "--slurm-env=true" };
    for (size_t i = 0; i < N_ELEMS(flags); i++) {
        submit_opts o;
        char err[256], name[32];
        CU_ASSERT_EQUAL(parse_words(&o, (char *[]){ flags[i], NULL }, err, sizeof err), -1);
        snprintf(name, sizeof name, "%.*s", (int)(strchr(flags[i], '=') - flags[i]), flags[i]);
        bool control = false;
        for (const char *p = err; *p; p++)
            control |= (unsigned char)*p < 0x20;
        if (!strstr(err, name) || control)
            fprintf(stderr, "%s: err '%s'\n", flags[i], err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, name));
        CU_ASSERT_FALSE(control);
    }
}

/* ---- script directives ------------------------------------------------------ */

static int nwarn;
static char warned[4][512];

static void warn_cb(const char *msg)
{
    if (nwarn < 4)
        snprintf(warned[nwarn], sizeof warned[0], "%s", msg);
    nwarn++;
}

static int directives(submit_opts *o, const char *text, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    nwarn = 0;
    memset(warned, 0, sizeof warned);
    err[0] = '\0';
    return submit_directives(o, "job.sh", text, warn_cb, err, errlen);
}

static void test_directives_basic(void)
{
    submit_opts o;
    char err[512];
    const char *text = "#!/bin/bash\n"
                       "#SBATCH -N 2\n"
                       "#SBATCH --ntasks-per-node=4\n"
                       "#TERN --gpus-per-node 1\n"
                       "echo hi\n"
                       "#SBATCH -N 9\n";
    CU_ASSERT_EQUAL(directives(&o, text, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_EQUAL(o.nodes, 2);       /* scanning stopped at "echo hi" */
    CU_ASSERT_EQUAL(o.tasks_per_node, 4);
    CU_ASSERT_EQUAL(o.gpus_per_node, 1);
    CU_ASSERT_EQUAL(o.set, SO_NODES | SO_TPN | SO_GPUS);
    CU_ASSERT_EQUAL(nwarn, 0);

    /* blank lines and plain comments between directives; several options on
     * a line; a trailing comment; no "#!" line at all */
    text = "\n"
           "# train the model\n"
           "#SBATCH -N 3 -c 2   # three nodes\n"
           "\n"
           "   \n"
           "## not a directive: #SBATCH -N 99\n"
           "#SBATCH\t--time=10\n"
           "#SBATCHX -N 42\n"
           "#TERN --preemptible --max-restarts 2\n"
           "srun python train.py\n";
    CU_ASSERT_EQUAL(directives(&o, text, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.nodes, 3);
    CU_ASSERT_EQUAL(o.cpus_per_task, 2);
    CU_ASSERT_EQUAL(o.time_limit_s, 600);
    CU_ASSERT_TRUE(o.preemptible);
    CU_ASSERT_EQUAL(o.max_restarts, 2);

    /* a script with no directives, or no commands */
    CU_ASSERT_EQUAL(directives(&o, "#!/bin/sh\nexec ./train\n", err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.set, 0);
    CU_ASSERT_EQUAL(directives(&o, "", err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.set, 0);
    CU_ASSERT_EQUAL(directives(&o, "#SBATCH -J last", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(o.name, "last");
    /* "#!" only counts on the first line */
    CU_ASSERT_EQUAL(directives(&o, "#SBATCH -N 2\n#!/bin/sh\n#SBATCH -c 4\n", err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.cpus_per_task, 4);
}

static void test_directives_quotes(void)
{
    submit_opts o;
    char err[512];
    CU_ASSERT_EQUAL(directives(&o, "#SBATCH -J \"my job\"\n", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(o.name, "my job");
    CU_ASSERT_EQUAL(directives(&o, "#SBATCH -J 'single quoted'\n", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(o.name, "single quoted");
    CU_ASSERT_EQUAL(directives(&o, "#SBATCH --job-name=\"a b\" -N 2\n", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(o.name, "a b");
    CU_ASSERT_EQUAL(o.nodes, 2);
    CU_ASSERT_EQUAL(directives(&o, "#TERN -o \"/logs/%x #%j.out\"\n", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(o.output, "/logs/%x #%j.out");   /* '#' inside quotes stays */
    CU_ASSERT_EQUAL(directives(&o, "#SBATCH -J \"unbalanced\n", err, sizeof err), -1);
    CU_ASSERT_EQUAL(strncmp(err, "job.sh:1: ", 10), 0);
}

static void test_directives_unknown(void)
{
    submit_opts o;
    char err[512];
    /* unknown #SBATCH options: warned about with path:line, skipped, and
     * the directives after them still apply */
    const char *text = "#!/bin/bash\n"
                       "#SBATCH --mail-type=END\n"
                       "#SBATCH --mail-user x@y\n"
                       "#SBATCH -N 3\n"
                       "#SBATCH --account proj -c 2 --exclusive --ntasks-per-node 2\n"
                       "python x.py\n";
    CU_ASSERT_EQUAL(directives(&o, text, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_EQUAL(o.nodes, 3);
    CU_ASSERT_EQUAL(o.cpus_per_task, 2);
    CU_ASSERT_EQUAL(o.tasks_per_node, 2);
    CU_ASSERT_EQUAL(o.set, SO_NODES | SO_CPUS | SO_TPN);
    CU_ASSERT_EQUAL_FATAL(nwarn, 4);
    CU_ASSERT_EQUAL(strncmp(warned[0], "job.sh:2: ", 10), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(warned[0], "--mail-type=END"));
    CU_ASSERT_EQUAL(strncmp(warned[1], "job.sh:3: ", 10), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(warned[1], "--mail-user"));
    CU_ASSERT_PTR_NULL(strstr(warned[1], "x@y"));   /* the value went with it */
    CU_ASSERT_EQUAL(strncmp(warned[2], "job.sh:5: ", 10), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(warned[2], "--account"));
    CU_ASSERT_PTR_NOT_NULL(strstr(warned[3], "--exclusive"));

    /* a separate value does not swallow the next directive on the line */
    CU_ASSERT_EQUAL(directives(&o, "#SBATCH --mail-user x@y -N 4\n", err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.nodes, 4);
    CU_ASSERT_EQUAL(nwarn, 1);
    CU_ASSERT_EQUAL(directives(&o, "#SBATCH --requeue -N 5\n", err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.nodes, 5);

    /* without a callback: skipped silently */
    memset(&o, 0, sizeof o);
    CU_ASSERT_EQUAL(submit_directives(&o, "job.sh", "#SBATCH --mail-type=END\n#SBATCH -N 6\n",
                                      NULL, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.nodes, 6);

    /* unknown #TERN options are errors, with path:line */
    CU_ASSERT_EQUAL(directives(&o, "#!/bin/sh\n#TERN -N 2\n#TERN --bogus\n", err, sizeof err), -1);
    CU_ASSERT_EQUAL(strncmp(err, "job.sh:3: ", 10), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--bogus"));
    CU_ASSERT_EQUAL(nwarn, 0);

    /* a known option with a bad value is an error under #SBATCH too */
    CU_ASSERT_EQUAL(directives(&o, "#SBATCH -N 2\n#SBATCH -N 0\n", err, sizeof err), -1);
    CU_ASSERT_EQUAL(strncmp(err, "job.sh:2: ", 10), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "-N '0'"));
    CU_ASSERT_EQUAL(directives(&o, "#TERN -N\n", err, sizeof err), -1);
    CU_ASSERT_EQUAL(strncmp(err, "job.sh:1: ", 10), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a value"));
    /* a stray word is not an option */
    CU_ASSERT_EQUAL(directives(&o, "#TERN nodes=2\n", err, sizeof err), -1);
    CU_ASSERT_EQUAL(strncmp(err, "job.sh:1: ", 10), 0);
}

/* Values that start with '-' are values when the option needs one, as on
 * the command line ("--priority -5" parses there). */
static void test_directives_negative_value(void)
{
    submit_opts o;
    char err[512];
    int rc = directives(&o, "#TERN --priority -5\n", err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "#TERN --priority -5: %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(o.priority, -5);
    CU_ASSERT_EQUAL(directives(&o, "#TERN --priority=-5\n", err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.priority, -5);
}

/* sbatch's --gpus is GPUs for the whole job, not per node. It must not be
 * taken (as an abbreviation of --gpus-per-node) for 8 GPUs on every node. */
static void test_directives_sbatch_gpus(void)
{
    submit_opts o;
    char err[512];
    int rc = directives(&o, "#SBATCH -N 2\n#SBATCH --gpus=8\n", err, sizeof err);
    bool per_node_8 = rc == 0 && (o.set & SO_GPUS) && o.gpus_per_node == 8;
    if (per_node_8)
        fprintf(stderr, "#SBATCH --gpus=8 with -N 2 became --gpus-per-node 8 (16 GPUs)\n");
    CU_ASSERT_FALSE(per_node_8);

    /* It is spread evenly over the nodes, or refused when it does not divide. */
    uint32_t nodes, tpn, gpn = 77;
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(submit_opts_shape(&o, &nodes, &tpn, err, sizeof err), 0);
    CU_ASSERT_EQUAL(submit_opts_gpus(&o, nodes, &gpn, err, sizeof err), 0);
    CU_ASSERT_EQUAL(gpn, 4);
    CU_ASSERT_EQUAL_FATAL(directives(&o, "#SBATCH -N 2\n#SBATCH -G 3\n", err, sizeof err), 0);
    gpn = 77;
    CU_ASSERT_EQUAL(submit_opts_gpus(&o, 2, &gpn, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not spread evenly over 2 nodes"));
    CU_ASSERT_EQUAL(gpn, 77);
    CU_ASSERT_EQUAL_FATAL(directives(&o, "#SBATCH --gpus 2 --gpus-per-node 1\n", err,
                                     sizeof err), 0);
    CU_ASSERT_EQUAL(submit_opts_gpus(&o, 1, &gpn, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not both"));
    /* Without --gpus, --gpus-per-node as given. */
    CU_ASSERT_EQUAL_FATAL(directives(&o, "#TERN --gpus-per-node 2\n", err, sizeof err), 0);
    CU_ASSERT_EQUAL(submit_opts_gpus(&o, 3, &gpn, err, sizeof err), 0);
    CU_ASSERT_EQUAL(gpn, 2);
}

/* Comments may be any length; only a directive must fit its buffer. */
static void test_directives_long_lines(void)
{
    submit_opts o;
    char err[512];
    size_t big = 10000;
    char *text = malloc(big + 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int n = snprintf(text, big + 200, "#!/bin/sh\n#");
    memset(text + n, 'c', big);
    snprintf(text + n + big, 200, "\n#SBATCH -N 3\necho hi\n");
    CU_ASSERT_EQUAL(directives(&o, text, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.nodes, 3);
    n = snprintf(text, big + 200, "#!/bin/sh\n#SBATCH -J ");
    memset(text + n, 'j', big);
    text[n + big] = '\0';
    CU_ASSERT_EQUAL(directives(&o, text, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "job.sh:2: directive longer than 4095 bytes"));
    free(text);
}

/* ---- merge and shape ----------------------------------------------------------- */

static void test_merge(void)
{
    submit_opts script, cli;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(directives(&script, "#SBATCH -N 2 --ntasks-per-node 4 -J script "
                                              "-t 10 --signal USR2@30\n", err, sizeof err), 0);
    memset(&cli, 0, sizeof cli);
    cli.nodes = 3;
    cli.set = SO_NODES;
    cli.tasks_per_node = 99;       /* not set: must not be copied */
    strcpy(cli.name, "garbage");
    cli.time_limit_s = 12345;
    submit_opts_merge(&script, &cli);
    CU_ASSERT_EQUAL(script.nodes, 3);
    CU_ASSERT_EQUAL(script.tasks_per_node, 4);
    CU_ASSERT_STRING_EQUAL(script.name, "script");
    CU_ASSERT_EQUAL(script.time_limit_s, 600);
    CU_ASSERT_EQUAL(script.signal, SIGUSR2);
    CU_ASSERT_EQUAL(script.signal_secs, 30);
    CU_ASSERT_EQUAL(script.set, SO_NODES | SO_TPN | SO_NAME | SO_TIME | SO_SIGNAL);

    /* the command line sets what the script did not */
    char *argv[] = { "submit", "-J", "cli", "--preemptible", "--signal", "TERM", "--slurm-env",
                     "-o", "/o/%j", "job.sh", NULL };
    memset(&cli, 0, sizeof cli);
    CU_ASSERT_EQUAL_FATAL(submit_opts_parse(&cli, 10, argv, "submit", err, sizeof err), 9);
    submit_opts_merge(&script, &cli);
    CU_ASSERT_STRING_EQUAL(script.name, "cli");
    CU_ASSERT_TRUE(script.preemptible);
    CU_ASSERT_TRUE(script.slurm_env);
    CU_ASSERT_EQUAL(script.signal, SIGTERM);
    CU_ASSERT_EQUAL(script.signal_secs, 60);
    CU_ASSERT_STRING_EQUAL(script.output, "/o/%j");
    CU_ASSERT_EQUAL(script.nodes, 3);
    CU_ASSERT_EQUAL(script.tasks_per_node, 4);
    CU_ASSERT_EQUAL(script.set, SO_NODES | SO_TPN | SO_NAME | SO_TIME | SO_SIGNAL |
                                    SO_PREEMPTIBLE | SO_SLURM_ENV | SO_OUTPUT);

    /* merging nothing changes nothing */
    submit_opts before = script, none;
    memset(&none, 0x7f, sizeof none);
    none.set = 0;
    submit_opts_merge(&script, &none);
    CU_ASSERT_EQUAL(memcmp(&script, &before, sizeof script), 0);
}

static void test_shape(void)
{
    static struct {
        char *words[8];
        int rc;
        uint32_t nodes, tpn;
        const char *part;
    } cases[] = {
        { { NULL }, 0, 1, 1, NULL },
        { { "-N", "2", NULL }, 0, 2, 1, NULL },
        { { "--ntasks-per-node", "4", NULL }, 0, 1, 4, NULL },
        { { "-N", "3", "--ntasks-per-node", "4", NULL }, 0, 3, 4, NULL },
        { { "-n", "8", "-N", "2", NULL }, 0, 2, 4, NULL },
        { { "-n", "8", NULL }, 0, 1, 8, NULL },
        { { "-n", "8", "-N", "2", "--ntasks-per-node", "4", NULL }, 0, 2, 4, NULL },
        { { "-n", "8", "--ntasks-per-node", "8", NULL }, 0, 1, 8, NULL },
        { { "-n", "5", "-N", "2", NULL }, -1, 0, 0, "not a multiple" },
        { { "-n", "8", "-N", "2", "--ntasks-per-node", "3", NULL }, -1, 0, 0, "does not equal" },
        { { "-n", "1", "-N", "2", NULL }, -1, 0, 0, "not a multiple" },
        { { "-n", "10000", NULL }, -1, 0, 0, "more than 4096 tasks per node" },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        submit_opts o;
        char err[256];
        CU_ASSERT_EQUAL_FATAL(parse_words(&o, cases[i].words, err, sizeof err) >= 0, 1);
        uint32_t nodes = 777, tpn = 777;
        err[0] = '\0';
        int rc = submit_opts_shape(&o, &nodes, &tpn, err, sizeof err);
        if (rc != cases[i].rc)
            fprintf(stderr, "shape case %zu: rc %d err '%s'\n", i, rc, err);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        if (cases[i].rc == 0) {
            CU_ASSERT_EQUAL(nodes, cases[i].nodes);
            CU_ASSERT_EQUAL(tpn, cases[i].tpn);
        } else {
            CU_ASSERT_EQUAL(nodes, 777);
            CU_ASSERT_EQUAL(tpn, 777);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].part));
        }
    }
}

/* With -n and --ntasks-per-node but no -N, sbatch derives the node count
 * (-n 8 --ntasks-per-node 4 is 2 nodes); a script written that way must not
 * be refused for a "-N 1" its author never wrote. */
static void test_shape_without_nodes(void)
{
    submit_opts o;
    char err[256];
    uint32_t nodes = 0, tpn = 0;
    CU_ASSERT_EQUAL_FATAL(directives(&o, "#SBATCH --ntasks=8\n#SBATCH --ntasks-per-node=4\n",
                                     err, sizeof err), 0);
    err[0] = '\0';
    int rc = submit_opts_shape(&o, &nodes, &tpn, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "-n 8 --ntasks-per-node 4: %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(nodes, 2);
    CU_ASSERT_EQUAL(tpn, 4);
    /* and what does not divide is still refused */
    CU_ASSERT_EQUAL_FATAL(parse_words(&o, (char *[]){ "-n", "6", "--ntasks-per-node", "4", NULL },
                                      err, sizeof err), 5);
    CU_ASSERT_EQUAL(submit_opts_shape(&o, &nodes, &tpn, err, sizeof err), -1);
}

int suite_directives(void)
{
    static const unit_test tests[] = {
        { "flags together", test_flags_together },
        { "flags one by one", test_flags_one_by_one },
        { "flag errors", test_flag_errors },
        { "flag given a value", test_flag_given_value },
        { "directives basic", test_directives_basic },
        { "directives quotes", test_directives_quotes },
        { "directives unknown", test_directives_unknown },
        { "directives negative value", test_directives_negative_value },
        { "directives sbatch --gpus", test_directives_sbatch_gpus },
        { "directives long lines", test_directives_long_lines },
        { "merge", test_merge },
        { "shape", test_shape },
        { "shape without -N", test_shape_without_nodes },
        { NULL, NULL },
    };
    return unit_add("directives", tests);
}
