/* The CLI's connection to ternd, and how it finds it: --scheduler, else
 * $TERN_SCHEDULER, else the local cluster of 'tern up' in the current
 * directory or one above it (.tern/cluster). */
#ifndef TERN_CLI_CLIENT_H
#define TERN_CLI_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include "common/wire.h"

#define CLUSTER_DIR ".tern"
#define CLUSTER_FILE "cluster"

typedef struct client client;

/* The local cluster description written by 'tern up'. */
typedef struct cluster_info {
    char dir[4096];                /* absolute .tern directory */
    char scheduler[512];           /* client endpoint */
    char worker_endpoint[512];
    pid_t ternd_pid;
    pid_t worker_pids[256];
    char worker_names[256][65];
    int nworkers;
    unsigned cpus_per_worker;      /* 0: what the machine has */
    int gpus_per_worker;           /* -1: what NVML finds */
    int spot_workers;              /* the last this many workers are spot nodes */
    char notice_url[512];          /* the spot workers' metadata endpoint ("": none) */
} cluster_info;

/* Reads DIR/cluster. Returns 0, or -1 with errno (ENOENT: no cluster). */
int cluster_read(const char *dir, cluster_info *ci);
/* Writes DIR/cluster atomically. Returns 0, or -1 with errno. */
int cluster_write(const cluster_info *ci);
/* Finds .tern/cluster in the current directory or a parent; fills 'dir'.
 * Returns 0, or -1 when there is none. */
int cluster_find(char *dir, size_t len);

/* Connects to the scheduler chosen as above ('scheduler' may be NULL).
 * Returns NULL with a one-line reason in 'err'. */
client *client_open(const char *scheduler, char *err, size_t errlen);
void client_close(client **cp);
const char *client_endpoint(const client *c);

/* Sends 'req' and waits up to timeout_ms (<= 0: the default, $TERN_TIMEOUT
 * seconds or 10 s) for its reply. Returns the reply, which the caller frees
 * with wire_free, or NULL with 'err' filled: the scheduler's error message,
 * "no scheduler listening at ..." or "no reply from ... after N s". */
Tern__Envelope *client_call(client *c, Tern__Envelope *req, int timeout_ms, char *err,
                            size_t errlen);

/* The default request timeout in ms. */
int client_timeout_ms(void);

#endif
