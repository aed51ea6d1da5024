/* SLURM hostlist expressions: "node[1-3,07-08],gpu1" names node1 node2
 * node3 node07 node08 gpu1 (zero padding kept from the range's width). */
#ifndef TERN_HOSTLIST_H
#define TERN_HOSTLIST_H

#include <stddef.h>

/* The most names one expression may expand to. */
#define HOSTLIST_MAX 65536

/* Expands 's' into a malloc'd NULL-terminated array of malloc'd names
 * (free with hostlist_free) and its count in *n. Returns NULL with one
 * line in 'err' for a malformed expression or one over HOSTLIST_MAX. */
char **hostlist_expand(const char *s, size_t *n, char *err, size_t errlen);
void hostlist_free(char **names);

#endif
