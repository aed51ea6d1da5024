/* The rendezvous: while a communicator forms, rank 0 serves a key-value
 * store (rdv_store.c) on MASTER_ADDR:MASTER_PORT, and every rank, rank 0
 * too, sets its own keys and gathers everybody's through it
 * (rendezvous.c). A gather that is not complete by its deadline is
 * answered with the ranks that never came.
 *
 * Keys are the run's own: 'run' names the job and attempt, so that a stale
 * process of an earlier attempt that reaches a reused port can neither
 * read, overwrite nor end this run's store. With TERN_JOB_KEY (the
 * attempt's CURVE key, from ternd) the store speaks CURVE and lets in that
 * key alone.
 *
 * Every call that can fail returns -1 (NULL) with one line of why in
 * 'err' (errlen bytes, the caller's). */
#ifndef TERN_COLL_RENDEZVOUS_H
#define TERN_COLL_RENDEZVOUS_H

#include <stddef.h>

typedef struct rdv rdv;

/* Joins the rendezvous of 'size' ranks at addr:port as 'rank'; rank 0
 * starts the store first. Every request waits timeout_s at most. Returns
 * the handle (rdv_close frees it), or NULL with the reason. */
rdv *rdv_open(int rank, int size, const char *run, const char *addr, int port,
              double timeout_s, char *err, size_t errlen);
/* Sets this run's key 'name' to the len bytes at val (copied). 0, or -1. */
int rdv_set(rdv *r, const char *name, const void *val, size_t len, char *err, size_t errlen);
/* Waits for keys prefix0..prefix(n-1); fills vals[i] (malloc'd and NUL
 * terminated; the caller frees each) and lens[i]. Returns 0, or -1 with
 * nothing allocated; on timeout the reason says "ranks 3, 5 never arrived"
 * or that the store "did not answer". */
int rdv_gather(rdv *r, const char *prefix, int n, void **vals, size_t *lens, char *err,
               size_t errlen);
/* Says this rank is done with the store and frees the handle; *rp becomes
 * NULL (NULL and *rp NULL are allowed). Rank 0's store stops once every
 * rank has said goodbye, or at its deadline. */
void rdv_close(rdv **rp);

#endif
