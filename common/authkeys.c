#include "common/authkeys.h"

#include "common/fsutil.h"
#include "common/strmap.h"
#include "common/grow.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTHKEYS_MAX_FILE (16u << 20)

struct authkeys {
    authkey *keys;
    size_t n;
    strmap *by_pub;
    strmap *by_name;               /* "ROLE NAME" -> 1: the roles each name has */
};

const char *authkey_role_name(enum authkey_role role)
{
    switch (role) {
    case AUTHKEY_ADMIN: return "admin";
    case AUTHKEY_WORKER: return "worker";
    default: return "user";
    }
}

/* A user or node name: letters, digits, '.', '_', '-', not starting with '-'. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > AUTHKEY_NAME_MAX || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return false;
    return true;
}

/* Parses one non-blank line into 'k'; returns NULL or what is wrong. */
static const char *parse_line(char *line, authkey *k)
{
    char *save = NULL, *role = strtok_r(line, " \t", &save);
    char *name = strtok_r(NULL, " \t", &save), *pub = strtok_r(NULL, " \t", &save);
    if (!role || !name || !pub || strtok_r(NULL, " \t", &save))
        return "expected 'ROLE NAME PUBLICKEY'";
    if (strcmp(role, "user") == 0)
        k->role = AUTHKEY_USER;
    else if (strcmp(role, "admin") == 0)
        k->role = AUTHKEY_ADMIN;
    else if (strcmp(role, "worker") == 0)
        k->role = AUTHKEY_WORKER;
    else
        return "role must be user, admin or worker";
    if (!(k->role == AUTHKEY_WORKER && strcmp(name, "*") == 0) && !name_ok(name))
        return "bad name (letters, digits, '.', '_', '-'; at most 64)";
    if (!curve_z85_valid(pub))
        return "not a public key (40 characters of Z85, as 'tern keygen' prints)";
    snprintf(k->name, sizeof k->name, "%s", name);
    memcpy(k->pub, pub, CURVE_Z85);
    return NULL;
}

authkeys *authkeys_parse(const char *path, const char *text, char *err, size_t errlen)
{
    authkeys *ak = calloc(1, sizeof *ak);
    char *copy = strdup(text);
    size_t cap = 0;
    if (!ak || !copy || !(ak->by_pub = strmap_new()) || !(ak->by_name = strmap_new())) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto error;
    }
    unsigned lineno = 0;
    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        /* Only whole lines are comments: Z85 keys may hold a '#'. */
        const char *first = line + strspn(line, " \t\r");
        if (*first == '\0' || *first == '#')
            continue;
        line[strcspn(line, "\r")] = '\0';
        authkey *nk = grow(ak->keys, &cap, ak->n + 1, sizeof *nk, 16);
        if (!nk) {
            snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
            goto error;
        }
        ak->keys = nk;
        authkey *k = &ak->keys[ak->n];
        const char *why = parse_line(line, k);
        if (!why && strmap_get(ak->by_pub, k->pub))
            why = "this key is listed twice";
        if (why) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
            goto error;
        }
        /* The index stores positions: the array may move as it grows. */
        char role_name[AUTHKEY_NAME_MAX + 16];
        snprintf(role_name, sizeof role_name, "%s %s", authkey_role_name(k->role), k->name);
        if (strmap_put(ak->by_pub, k->pub, (void *)(uintptr_t)(ak->n + 1)) < 0 ||
            strmap_put(ak->by_name, role_name, (void *)(uintptr_t)1) < 0) {
            snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
            goto error;
        }
        ak->n++;
    }
    free(copy);
    return ak;
error:
    free(copy);
    authkeys_destroy(&ak);
    return NULL;
}

authkeys *authkeys_load(const char *path, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (fs_read_all(path, AUTHKEYS_MAX_FILE, &text, &len) < 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
        return NULL;
    }
    authkeys *ak = NULL;
    if (memchr(text, '\0', len))
        snprintf(err, errlen, "%s: not a text file (a NUL byte)", path);
    else
        ak = authkeys_parse(path, text, err, errlen);
    free(text);
    return ak;
}

const authkey *authkeys_find(const authkeys *ak, const char *pub)
{
    uintptr_t pos = ak ? (uintptr_t)strmap_get(ak->by_pub, pub) : 0;
    return pos ? &ak->keys[pos - 1] : NULL;
}

bool authkeys_has(const authkeys *ak, enum authkey_role role, const char *name)
{
    char role_name[AUTHKEY_NAME_MAX + 16];
    snprintf(role_name, sizeof role_name, "%s %s", authkey_role_name(role), name);
    return ak && strmap_get(ak->by_name, role_name);
}

size_t authkeys_count(const authkeys *ak)
{
    return ak ? ak->n : 0;
}

void authkeys_destroy(authkeys **akp)
{
    if (!akp || !*akp)
        return;
    free((*akp)->keys);
    strmap_destroy(&(*akp)->by_pub);
    strmap_destroy(&(*akp)->by_name);
    free(*akp);
    *akp = NULL;
}
