/* The authorized-keys file: who may connect to ternd, and as what.
 *
 *   # ROLE   NAME    PUBLIC KEY (Z85, as 'tern keygen' prints it)
 *   admin    alice   rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
 *   user     bob     Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID
 *   worker   *       D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs
 *
 * Lines starting with '#' are comments (a '#' later on a line is part of
 * it: the Z85 alphabet has one). A user key submits and manages its own jobs as NAME; an admin key is a
 * user who may also manage every job and the nodes; a worker key speaks the
 * worker protocol only, as the node NAME ('*': any node). */
#ifndef TERN_AUTHKEYS_H
#define TERN_AUTHKEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/curve.h"

#define AUTHKEY_NAME_MAX 64

enum authkey_role { AUTHKEY_USER, AUTHKEY_ADMIN, AUTHKEY_WORKER };

typedef struct authkey {
    enum authkey_role role;
    char name[AUTHKEY_NAME_MAX + 1];
    char pub[CURVE_Z85];
} authkey;

typedef struct authkeys authkeys;

/* Parses 'text' ('path' names it in errors). Returns the table, freed with
 * authkeys_destroy, or NULL with "PATH:LINE: what" in 'err'. */
authkeys *authkeys_parse(const char *path, const char *text, char *err, size_t errlen);

/* Reads and parses the file 'path' (at most 16 MiB). */
authkeys *authkeys_load(const char *path, char *err, size_t errlen);

/* The entry for public key 'pub', or NULL. */
const authkey *authkeys_find(const authkeys *ak, const char *pub);

/* Whether some key of 'role' is listed for 'name'. */
bool authkeys_has(const authkeys *ak, enum authkey_role role, const char *name);

size_t authkeys_count(const authkeys *ak);

const char *authkey_role_name(enum authkey_role role);

void authkeys_destroy(authkeys **akp);

#endif
