/* Receiving a whole multipart ZeroMQ message into an array of frames. */
#ifndef TERN_ZFRAMES_H
#define TERN_ZFRAMES_H

#include <zmq.h>

/* Receives the frames of one message from 'sock' (zmq_msg_recv 'flags',
 * e.g. ZMQ_DONTWAIT), the first 'max' into f[], the rest dropped. Returns
 * how many are in f[] (0: none waiting, or the receive failed); the caller
 * closes each. */
int zframes_recv(void *sock, zmq_msg_t *f, int max, int flags);

#endif
