#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Opens 'path' for reading if it is a regular file: a FIFO or a device
 * would block the daemon's start, or never end. O_NONBLOCK keeps the open
 * of a FIFO from waiting for a writer. Returns the stream, or NULL with the
 * reason in 'err'. */
static FILE *open_regular(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    FILE *f = NULL;
    if (!S_ISREG(st.st_mode))
        snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ? strerror(EISDIR)
                                                                 : "not a regular file");
    else if (fcntl(fd, F_SETFL, 0) < 0 || !(f = fdopen(fd, "r")))
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    if (!f)
        close(fd);
    return f;
}

int config_read(const char *path, config_fn fn, void *arg, char *err, size_t errlen)
{
    FILE *f = open_regular(path, err, errlen);
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    /* getline, not fgets: the length it returns counts NUL bytes too. */
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len - (len > 0 && line[len - 1] == '\n') > 4096) {
            snprintf(err, errlen, "%s:%d: line longer than 4096 bytes", path, lineno);
            rc = -1;
            break;
        }
        for (ssize_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)line[i];
            if (c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
                snprintf(err, errlen, "%s:%d: not a text file (byte 0x%02x)", path, lineno, c);
                rc = -1;
                goto done;
            }
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value', got '%.60s'", path, lineno, s);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (!*key) {
            snprintf(err, errlen, "%s:%d: missing key before '='", path, lineno);
            rc = -1;
            break;
        }
        char why[512] = "";
        if (fn(arg, key, value, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
done:
    free(line);
    fclose(f);
    return rc;
}
