/* tern up's parts: the local cluster's daemons (cmd_up.c), its files
 * (up_files.c) and changing how many workers it has (up_resize.c). */
#ifndef TERN_CLI_UP_H
#define TERN_CLI_UP_H

#include <stdbool.h>
#include <sys/types.h>

#include "cli/client.h"

/* The cluster's keys, made once (DIR/keys, mode 0700): ternd's, the
 * workers', and an admin key for whoever ran 'tern up', listed in
 * DIR/keys/authorized_keys (which is never rewritten). Sets ci->server_key.
 * Returns 0, or -1 after saying why. */
int up_keys(cluster_info *ci);

/* Makes the cluster directory and its logs/ 0711 (an existing cluster's
 * too; a directory of the user's own named for a new cluster keeps its
 * mode). Returns 0, or -1 after saying why. */
int up_dirs(const char *dir);

/* Creates or keeps the daemon log 'path' with mode 0600. Returns 0, or -1
 * after saying why. */
int up_private_log(const char *path);

/* Starts worker 'i' of 'ci' (its name, spot or not, the cluster's CPUs and
 * GPUs) from 'bin', logging to DIR/worker-NAME.log; sets its pid in 'ci'.
 * Returns 0, or -1 after saying why. */
int up_start_worker(cluster_info *ci, int i, const char *bin);

/* Stops the daemon 'pid' if it is still the program 'name': SIGTERM, then
 * SIGKILL after a while. Returns 1 if it was running, 0 if not. */
int up_stop(pid_t pid, const char *name);

/* Makes the cluster 'ci' (its ternd serving) have 'want' workers, 'ci'
 * updated but not written. New workers come before the spot ones (the last
 * ci->spot_workers stay spot) with the next free names and pid 0, to be
 * started by the caller, who marks them in added[]; stopped ones are the
 * on-demand workers just before the spot ones, and only while none of them
 * runs a job: each is drained first, so nothing starts there meanwhile.
 * Returns 0, or the exit status after saying why (2: refused, 1: failed). */
int up_resize(cluster_info *ci, int want, bool added[256]);

/* Resumes the added workers' nodes that an earlier up_resize drained when
 * it stopped a worker of the same name. Returns 0, or -1 after saying why. */
int up_resume_added(const cluster_info *ci, const bool added[256]);

#endif
