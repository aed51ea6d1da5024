/* --launcher mpi: the command of the job's one process, Open MPI's mpirun
 * over the job's nodes, its daemons started on each node through tern
 * (tern-rsh as the launch agent: no ssh), then the job's command. */
#ifndef TERN_WORKER_MPIRUN_H
#define TERN_WORKER_MPIRUN_H

#include "proto/tern.pb-c.h"

/* Writes the hostfile of Launch 'l' (its nodes with their slots) into the
 * job directory, as the thread's filesystem identity, and makes mpirun's
 * argv: fixed words (the tern-rsh of the directory 'shims'), then the
 * job's argv, borrowed from l->spec, and a NULL. Returns the argv, which
 * the caller frees, its fixed words in *words, freed by the caller too; or
 * NULL with the reason in *err ("cannot write the MPI hostfile", "out of
 * memory"), nothing to free then. */
char **mpirun_argv(const Tern__Launch *l, const char *shims, char **words, const char **err);

#endif
