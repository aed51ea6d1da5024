/* Watching a ZeroMQ socket's connection events (zmq_socket_monitor): how
 * a client learns that nobody listens, or that the server refused its key. */
#ifndef TERN_ZMONITOR_H
#define TERN_ZMONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Starts monitoring 'sock' for 'events' (ZMQ_EVENT_* bits) and returns the
 * PAIR socket to poll, or NULL (then nothing is reported). */
void *zmonitor_open(void *ctx, void *sock, int events);

/* Reads one event without waiting. Returns its ZMQ_EVENT_* id (0: none)
 * and its value (an errno, a status code) in 'value' when not NULL. */
int zmonitor_event(void *mon, uint32_t *value);

/* One line about a failed handshake event 'ev' with 'value', for a client
 * of 'what' (e.g. "the scheduler at tcp://...") that used CURVE or not. */
const char *zmonitor_handshake_error(int ev, uint32_t value, const char *what, bool curve,
                                     char *buf, size_t len);

#endif
