/* Configuration files of the daemons: one "key = value" per line, '#'
 * starts a comment. Keys are the daemon's long option names, so a file and
 * the command line are parsed by the same code. */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include <stddef.h>

/* Applies one option. Returns 0, or -1 with a message in 'err'. */
typedef int (*config_fn)(void *arg, const char *key, const char *value,
                         char *err, size_t errlen);

/* Reads 'path' and calls 'fn' for each setting, in order. On an unreadable
 * file, one that is not a regular file (a FIFO, a device: "PATH: not a
 * regular file", without waiting on it), a malformed line, a line over 4 KiB, a non-text byte or a rejected
 * setting, writes "PATH:LINE: what" to 'err' and returns -1. */
int config_read(const char *path, config_fn fn, void *arg, char *err, size_t errlen);

#endif
