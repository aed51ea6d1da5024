/* tern keygen: a CURVE key pair for talking to a ternd that authenticates.
 * The secret stays in the file; the public key printed is what an admin
 * adds to the scheduler's authorized keys ("user NAME KEY"). */
#include "cli/cli.h"

#include "common/curve.h"
#include "common/fsutil.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: tern keygen [-o FILE] [--force]\n"
    "  makes a key pair in FILE (default $XDG_CONFIG_HOME/tern/key, else\n"
    "  ~/.config/tern/key; mode 0600) and prints its public key: an admin adds\n"
    "  'user NAME PUBLICKEY' to ternd's authorized keys. The CLI uses $TERN_KEY,\n"
    "  else that file; $TERN_SERVER_KEY names the scheduler's public key.\n"
    "  --force   replace an existing FILE\n";

typedef struct keygen_opts {
    const char *out;
    bool force;
} keygen_opts;

static int set_keygen(int c, const char *arg, void *ctx)
{
    keygen_opts *o = ctx;
    if (c == 'o')
        o->out = arg;
    else if (c == 'f')
        o->force = true;
    return 0;
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option extra[] = {
        { "output", required_argument, 0, 'o' },
        { "force", no_argument, 0, 'f' },
        { 0, 0, 0, 0 },
    };
    keygen_opts o = { 0 };
    cli_common co;
    const cli_command cmd = {
        .name = "keygen",
        .usage = usage,
        .shortopts = "o:",
        .extra = extra,
        .fn = set_keygen,
        .ctx = &o,
        .operands = CLI_NONE,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    char path[FS_SUBPATH_LEN], err[FS_MSG_LEN];
    if (o.out) {
        snprintf(path, sizeof path, "%s", o.out);
    } else if (client_default_key(path, sizeof path) < 0) {
        cli_error("keygen", "no HOME to put the key in: give -o FILE");
        return 2;
    }
    curve_key k;
    if (curve_keygen(&k) < 0) {
        cli_error("keygen", "cannot make a key pair (libzmq without CURVE?)");
        return 1;
    }
    if (curve_key_save(path, &k, o.force, err, sizeof err) < 0) {
        cli_error("keygen", "%s", err);
        return 1;
    }
    printf("%s\n", k.pub);
    fprintf(stderr, "tern: keygen: wrote %s\n", path);
    return 0;
}
