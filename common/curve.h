/* CURVE keys: a key pair as two Z85 strings, its file, and the socket
 * options that make a ZeroMQ socket a CURVE server or client.
 *
 * A key file holds "public=Z85" and "secret=Z85" lines; the public half is
 * checked against the secret one when read, and the file must not be
 * readable by group or others (as ssh insists for its keys). */
#ifndef TERN_CURVE_H
#define TERN_CURVE_H

#include <stdbool.h>
#include <stddef.h>

#define CURVE_Z85 41                 /* 40 characters and the NUL */

typedef struct curve_key {
    char pub[CURVE_Z85];
    char sec[CURVE_Z85];
} curve_key;

/* Makes a new key pair. Returns 0, or -1 with errno set. */
int curve_keygen(curve_key *k);

/* Fills 'k' from a Z85 secret key, deriving the public half. Returns 0, or
 * -1 (EINVAL) when 'sec' is not a 40-character Z85 key. */
int curve_key_from_secret(const char *sec, curve_key *k);

/* True when 'z85' is a 40-character Z85 string (a key's encoding). */
bool curve_z85_valid(const char *z85);

/* Reads the key file 'path'. Returns 0, or -1 with "PATH: what" in 'err'. */
int curve_key_load(const char *path, curve_key *k, char *err, size_t errlen);

/* Writes 'k' to 'path' (mode 0600, atomically), making its directory.
 * Refuses to replace an existing file unless 'force'. Returns 0, or -1
 * with "PATH: what" in 'err'. */
int curve_key_save(const char *path, const curve_key *k, bool force, char *err,
                   size_t errlen);

/* Reads a server's public key given as the key itself or as a file whose
 * "public=" line holds it (a key file or a .pub file). Returns 0, or -1
 * with the reason in 'err'. */
int curve_public_read(const char *key_or_path, char pub[CURVE_Z85], char *err, size_t errlen);

/* Makes 'sock' a CURVE server with key 'k'; 'domain' names the socket to
 * the ZAP handler. Before bind. Returns 0, or -1 with errno set. */
int curve_server(void *sock, const curve_key *k, const char *domain);

/* Makes 'sock' a CURVE client of the server whose public key is
 * 'server_pub', with key 'k'. Before connect. Returns 0, or -1 with errno. */
int curve_client(void *sock, const curve_key *k, const char *server_pub);

/* Makes 'sock' a CURVE client when $TERN_SERVER_KEY (the server's public
 * key) and $TERN_KEY (a key file) are both set: how the test and benchmark
 * programs reach a ternd with keys. Before connect. Returns 1 when set up,
 * 0 when not asked to, -1 with the reason in 'err'. */
int curve_client_from_env(void *sock, char *err, size_t errlen);

#endif
