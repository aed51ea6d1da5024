/* mpirun's argv and hostfile for --launcher mpi (worker/mpirun.h). */
#include "worker/mpirun.h"

#include "common/fsutil.h"
#include "common/jobspec.h"
#include "worker/jobfiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The hostfile at 'path': each node of 'l' with its slots, the job's
 * file mode. Returns 0, or -1 with the reason in *err. */
static int write_hostfile(const Tern__Launch *l, const char *path, const char **err)
{
    const Tern__JobSpec *sp = l->spec;
    size_t len = 1;
    for (size_t i = 0; i < l->n_node_names; i++)
        len += strlen(l->node_names[i]) + 32;
    char *hosts = malloc(len);
    if (!hosts) {
        *err = "out of memory";
        return -1;
    }
    for (size_t i = 0, o = 0; i < l->n_node_names; i++)
        o += (size_t)snprintf(hosts + o, len - o, "%s slots=%u\n", l->node_names[i],
                              sp->tasks_per_node);
    int rc = fs_write_atomic(path, hosts, strlen(hosts), JOB_FILE_MODE & ~jobspec_umask(sp));
    free(hosts);
    if (rc < 0) {
        *err = "cannot write the MPI hostfile";
        return -1;
    }
    return 0;
}

char **mpirun_argv(const Tern__Launch *l, const char *shims, char **words, const char **err)
{
    const Tern__JobSpec *sp = l->spec;
    char hostfile[FS_SUBPATH_LEN];
    snprintf(hostfile, sizeof hostfile, "%s/hostfile.%u", l->job_dir, l->attempt);
    if (write_hostfile(l, hostfile, err) < 0)
        return NULL;
    /* The fixed words, packed into one buffer the argv points into. */
    char np[16], ppr[32], agent[4300];
    snprintf(np, sizeof np, "%u", jobspec_world_size(sp));
    snprintf(ppr, sizeof ppr, "ppr:%u:node", sp->tasks_per_node);
    snprintf(agent, sizeof agent, "%s/tern-rsh", shims);
    const char *fixed[] = { "mpirun", "--hostfile", hostfile, "-np", np, "--map-by", ppr,
                            "--mca", "plm", "rsh", "--mca", "plm_rsh_agent", agent,
                            "--mca", "plm_rsh_no_tree_spawn", "1" };
    enum { NFIXED = sizeof fixed / sizeof fixed[0] };
    size_t total = 0;
    for (size_t i = 0; i < NFIXED; i++)
        total += strlen(fixed[i]) + 1;
    char **argv = calloc(NFIXED + sp->n_argv + 1, sizeof *argv);
    char *buf = malloc(total);
    if (!argv || !buf) {
        free(argv);
        free(buf);
        *err = "out of memory";
        return NULL;
    }
    for (size_t i = 0, o = 0; i < NFIXED; i++) {
        argv[i] = buf + o;
        o += (size_t)sprintf(buf + o, "%s", fixed[i]) + 1;
    }
    memcpy(argv + NFIXED, sp->argv, sp->n_argv * sizeof *argv);
    *words = buf;
    return argv;
}

