/* The MASTER_PORT node rank 0 gives its ranks. ternd picks one of its
 * --master-ports range that none of its attempts uses, but it cannot see
 * what else holds ports on the node: a process of another user listening
 * on it would fail the job's rendezvous (and PyTorch's TCPStore, which
 * binds MASTER_PORT itself). So node rank 0 checks the port before its
 * ranks start and takes another of the range when it is held; ternd then
 * launches the other nodes with the port it took (Started.master_port).
 *
 * A port is free when a TCP socket can listen on it as ZeroMQ and the
 * TCPStore do: SO_REUSEADDR, the wildcard address (IPv6 [::] dual-stack
 * where the machine has IPv6, which Linux refuses while anyone listens on
 * the port at any IPv4 or IPv6 address, 127.0.0.1 included; else 0.0.0.0).
 * The check is made before the ranks start, which may be seconds before
 * they bind (an interpreter starting): a process that takes the port in
 * between still wins, and one that holds every port of the range fails the
 * launch with that reason. */
#ifndef TERN_WORKER_MASTERPORT_H
#define TERN_WORKER_MASTERPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/tern.pb-c.h"

/* Whether a socket can listen on 'port' (1-65535) on this node now. */
bool masterport_free(uint32_t port);

/* The port to use: 'want' when it is free, else the first free port after
 * it in lo..hi, wrapping to lo ('want' outside the range: lo first).
 * Returns the port, or 0 with errno EADDRINUSE when every port of the
 * range (and 'want') is held, or EINVAL when the range is not
 * 1 <= lo <= hi <= 65535. */
uint32_t masterport_pick(uint32_t want, uint32_t lo, uint32_t hi);

/* The MASTER_PORT the ranks of Launch 'l' on this node ('node') get: node
 * rank 0 of a launch with a range picks (and logs a move); the others keep
 * l->master_port. Returns it, or 0 with why in 'err' (every port held). */
uint32_t masterport_for_launch(const Tern__Launch *l, const char *node, char *err,
                               size_t errlen);

#endif
