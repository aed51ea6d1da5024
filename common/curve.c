#include "common/curve.h"

#include "common/fsutil.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

int curve_keygen(curve_key *k)
{
    if (zmq_curve_keypair(k->pub, k->sec) < 0)
        return -1;
    return 0;
}

bool curve_z85_valid(const char *z85)
{
    uint8_t raw[32];
    return z85 && strlen(z85) == 40 && zmq_z85_decode(raw, z85) != NULL;
}

int curve_key_from_secret(const char *sec, curve_key *k)
{
    if (!curve_z85_valid(sec)) {
        errno = EINVAL;
        return -1;
    }
    memcpy(k->sec, sec, CURVE_Z85);
    if (zmq_curve_public(k->pub, k->sec) < 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* The value of "name=" in 'text' (a key file), copied into 'out'. */
static int key_line(const char *text, const char *name, char out[CURVE_Z85])
{
    size_t nl = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, nl) != 0 || p[nl] != '=')
            continue;
        const char *v = p + nl + 1;
        size_t len = strcspn(v, "\r\n");
        if (len != 40)
            return -1;
        memcpy(out, v, 40);
        out[40] = '\0';
        return curve_z85_valid(out) ? 0 : -1;
    }
    return -1;
}

int curve_key_load(const char *path, curve_key *k, char *err, size_t errlen)
{
    struct stat st;
    char *text = NULL;
    if (stat(path, &st) < 0 || fs_read_all(path, 4096, &text, NULL) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = -1;
    char pub[CURVE_Z85], sec[CURVE_Z85];
    if (st.st_mode & 077)
        snprintf(err, errlen, "%s: a secret key readable by others (mode %03o); chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
    else if (key_line(text, "secret", sec) < 0 || curve_key_from_secret(sec, k) < 0)
        snprintf(err, errlen, "%s: no valid 'secret=' line (a key file from 'tern keygen')",
                 path);
    else if (key_line(text, "public", pub) == 0 && strcmp(pub, k->pub) != 0)
        snprintf(err, errlen, "%s: the public key does not belong to the secret key", path);
    else
        rc = 0;
    free(text);
    return rc;
}

int curve_key_save(const char *path, const curve_key *k, bool force, char *err, size_t errlen)
{
    char dir[FS_PATH_LEN];
    snprintf(dir, sizeof dir, "%s", path);
    if (!force && access(path, F_OK) == 0) {
        snprintf(err, errlen, "%s: exists (give --force to replace it)", path);
        return -1;
    }
    char text[128];
    int n = snprintf(text, sizeof text, "public=%s\nsecret=%s\n", k->pub, k->sec);
    if (fs_mkdir_p(dirname(dir), 0700) < 0 ||
        fs_write_atomic(path, text, (size_t)n, 0600) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int curve_public_read(const char *key_or_path, char pub[CURVE_Z85], char *err, size_t errlen)
{
    if (curve_z85_valid(key_or_path)) {
        memcpy(pub, key_or_path, CURVE_Z85);
        return 0;
    }
    char *text;
    if (fs_read_all(key_or_path, 4096, &text, NULL) < 0) {
        snprintf(err, errlen, "server key '%s': neither a 40-character Z85 key nor a "
                              "readable file (%s)", key_or_path, strerror(errno));
        return -1;
    }
    int rc = key_line(text, "public", pub);
    free(text);
    if (rc < 0)
        snprintf(err, errlen, "%s: no valid 'public=' line", key_or_path);
    return rc;
}

int curve_server(void *sock, const curve_key *k, const char *domain)
{
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->sec, 40) < 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) < 0)
        return -1;
    return 0;
}

int curve_client_from_env(void *sock, char *err, size_t errlen)
{
    const char *server = getenv("TERN_SERVER_KEY"), *keyfile = getenv("TERN_KEY");
    if (!server || !*server || !keyfile || !*keyfile)
        return 0;
    curve_key k;
    if (curve_key_load(keyfile, &k, err, errlen) < 0)
        return -1;
    if (curve_client(sock, &k, server) < 0) {
        snprintf(err, errlen, "cannot set up CURVE (TERN_SERVER_KEY '%.40s'): %s", server,
                 zmq_strerror(errno));
        return -1;
    }
    return 1;
}

int curve_client(void *sock, const curve_key *k, const char *server_pub)
{
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_pub, 40) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, k->pub, 40) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->sec, 40) < 0)
        return -1;
    return 0;
}
