/* The CLI's connection to ternd, and how it finds it: --scheduler, else
 * $TERN_SCHEDULER, else the local cluster of 'tern up' in the current
 * directory or one above it (.tern/cluster). */
#ifndef TERN_CLI_CLIENT_H
#define TERN_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/curve.h"
#include "common/fsutil.h"
#include "common/wire.h"

#define CLUSTER_DIR ".tern"
#define CLUSTER_FILE "cluster"
/* The local cluster's keys, in its directory (tern up makes them). */
#define CLUSTER_KEYS_DIR "keys"
#define CLUSTER_ADMIN_KEY "keys/admin.key"
#define CLUSTER_SERVER_KEY "keys/server.key"
#define CLUSTER_WORKER_KEY "keys/worker.key"
#define CLUSTER_AUTHORIZED_KEYS "keys/authorized_keys"

typedef struct client client;

/* The local cluster description written by 'tern up'. */
typedef struct cluster_info {
    char dir[FS_PATH_LEN];                /* absolute .tern directory */
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
    char server_key[CURVE_Z85];           /* ternd's public key ("": authentication off) */
} cluster_info;

/* Reads DIR/cluster of a directory named by the user (tern up/down --dir).
 * Returns 0, or -1 with errno (ENOENT: no cluster). */
int cluster_read(const char *dir, cluster_info *ci);
/* Writes DIR/cluster atomically. Returns 0, or -1 with errno. */
int cluster_write(const cluster_info *ci);
/* Finds .tern/cluster in the current directory or the nearest parent that
 * has one this user may trust: the file and its directory owned by this
 * user or root and writable by neither group nor others, the file not a
 * link (read through the descriptor it was checked by). Anyone could have
 * planted any other, naming their own listener; each passed over is named
 * on stderr with the reason, once a process ("tern: ignoring PATH: owned
 * by bob (uid 1002), not by you or root"). Returns 0 with 'ci' filled, or
 * -1 with errno: ENOENT when there is none, another when the one found
 * cannot be read (ci->dir names it). */
int cluster_find(cluster_info *ci);

/* The user's own key file: $XDG_CONFIG_HOME/tern/key, else
 * ~/.config/tern/key. Returns 0, or -1 when neither variable is set. */
int client_default_key(char *buf, size_t len);

/* Lets connections without a known server key go in plain text (--insecure;
 * $TERN_INSECURE set and not "0" means the same): for a ternd that runs
 * without keys. Without it such a connection is refused before anything
 * is sent, since nothing would prove who listens. */
void client_allow_plaintext(void);
bool client_plaintext_allowed(void);

/* Connects to the scheduler chosen as above ('scheduler' may be NULL),
 * with CURVE when the scheduler's public key is known ($TERN_SERVER_KEY or
 * the local cluster's), proving who we are with the key client.c picks;
 * in plain text only when allowed (client_allow_plaintext). Returns NULL
 * with a one-line reason in 'err'. */
client *client_open(const char *scheduler, char *err, size_t errlen);
/* Connects to the local cluster 'ci' describes, with its keys (its admin
 * key, whatever $TERN_KEY says: tern up checking its own cluster). */
client *client_open_local(const cluster_info *ci, char *err, size_t errlen);
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
