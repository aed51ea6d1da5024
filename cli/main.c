/* tern: the command-line client. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: tern COMMAND [options]\n"
    "  up       start a local cluster (ternd and workers on this machine)\n"
    "  down     stop the local cluster\n"
    "  submit   submit a job: tern submit -N 2 --ntasks-per-node 4 python3 train.py\n"
    "  queue    pending and running jobs\n"
    "  show     one job in detail\n"
    "  cancel   cancel jobs\n"
    "  wait     wait for a job; exits with its exit code\n"
    "  logs     a job's output (-f to follow)\n"
    "  nodes    the cluster's nodes\n"
    "  drain    stop placing jobs on a node\n"
    "  resume   place jobs on a drained node again (or withdraw a preemption)\n"
    "  preempt  a spot notice for a node: its jobs checkpoint and move\n"
    "  top      a live view of nodes and running jobs\n"
    "  history  the audit record of jobs: who, what, where, attempts, checkpoints\n"
    "  keygen   a key pair to authenticate to the scheduler with\n"
    "'tern COMMAND --help' describes each. The scheduler is --scheduler tcp://HOST:PORT\n"
    "(before or after the command), else $TERN_SCHEDULER, else the local cluster of\n"
    "'tern up' here or above (its\n"
    ".tern/cluster is taken only when it and .tern are yours or root's and writable\n"
    "by no one else). A scheduler that authenticates needs a key: inside a job\n"
    "$TERN_JOB_KEY, else $TERN_KEY, else the local cluster's admin key, else\n"
    "~/.config/tern/key; its public key is $TERN_SERVER_KEY or the local cluster's.\n"
    "Without a public key tern does not connect: --insecure (before or after the\n"
    "command) or TERN_INSECURE=1 lets it talk in plain text to a ternd without keys.\n";

int main(int argc, char **argv)
{
    /* Called as srun or scontrol (the links first on a batch script's PATH). */
    const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (strcmp(self, "srun") == 0)
        return cmd_srun(argc, argv);
    if (strcmp(self, "scontrol") == 0)
        return cmd_scontrol(argc, argv);
    if (strcmp(self, "tern-rsh") == 0)
        return cmd_rsh(argc, argv);
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "up", cmd_up }, { "down", cmd_down }, { "submit", cmd_submit },
        { "queue", cmd_queue }, { "show", cmd_show }, { "cancel", cmd_cancel },
        { "wait", cmd_wait }, { "logs", cmd_logs }, { "nodes", cmd_nodes },
        { "drain", cmd_node_command }, { "resume", cmd_node_command },
        { "preempt", cmd_node_command }, { "top", cmd_top }, { "history", cmd_history }, { "keygen", cmd_keygen },
    };
    /* Options for every command, also before its name (as git and kubectl
     * take them); each command's own parser takes them after it too. */
    for (;;) {
        int used = 0;
        if (argc >= 2 && strcmp(argv[1], "--insecure") == 0) {
            client_allow_plaintext();
            used = 1;
        } else if (argc >= 3 && strcmp(argv[1], "--scheduler") == 0) {
            setenv("TERN_SCHEDULER", argv[2], 1);
            used = 2;
        } else if (argc >= 2 && strncmp(argv[1], "--scheduler=", 12) == 0) {
            setenv("TERN_SCHEDULER", argv[1] + 12, 1);
            used = 1;
        }
        if (!used)
            break;
        argv[used] = argv[0];
        argc -= used;
        argv += used;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tern: unknown command '%s' (see 'tern --help')\n", argv[1]);
    return 2;
}
