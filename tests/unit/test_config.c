/* common/config: daemon configuration files read from a temporary directory.
 * Every error must say "PATH:LINE: what" so an operator can find the line. */
#include "tests/unit/unit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/config.h"
#include "common/options.h"

#define MAX_SEEN 16

typedef struct seen {
    int n;
    char key[MAX_SEEN][64];
    char value[MAX_SEEN][8192];
    const char *reject;        /* key the callback refuses */
} seen;

static int collect(void *arg, const char *key, const char *value, char *err, size_t errlen)
{
    seen *s = arg;
    if (s->reject && strcmp(key, s->reject) == 0) {
        snprintf(err, errlen, "unknown setting '%s'", key);
        return -1;
    }
    if (s->n < MAX_SEEN) {
        snprintf(s->key[s->n], sizeof s->key[0], "%s", key);
        snprintf(s->value[s->n], sizeof s->value[0], "%s", value);
    }
    s->n++;
    return 0;
}

/* Writes 'len' bytes to DIR/name; returns the path in 'path'. */
static void write_file(const char *dir, const char *name, const void *data, size_t len,
                       char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Runs config_read on 'text' of 'len' bytes; returns rc, fills s and err. */
static int read_text(const char *text, size_t len, seen *s, char *path, size_t pathlen,
                     char *err, size_t errlen)
{
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    write_file(dir, "ternd.conf", text, len, path, pathlen);
    err[0] = '\0';
    int rc = config_read(path, collect, s, err, errlen);
    unit_rmrf(dir);
    free(dir);
    return rc;
}

static void test_settings(void)
{
    static const char text[] =
        "# ternd configuration\n"
        "\n"
        "listen = tcp://*:7000\n"
        "   state=/var/lib/tern/state.db   \n"
        "\t# indented comment\n"
        "heartbeat-ms = 500 # trailing comment\n"
        "log-level=\tdebug\r\n"
        "empty =\n"
        "url = a=b=c\n"
        "   \t  \n"
        "last = no newline at end";
    static const char *const want[][2] = {
        { "listen", "tcp://*:7000" },
        { "state", "/var/lib/tern/state.db" },
        { "heartbeat-ms", "500" },
        { "log-level", "debug" },
        { "empty", "" },
        { "url", "a=b=c" },
        { "last", "no newline at end" },
    };
    seen s = { 0 };
    char path[1024], err[1024];
    CU_ASSERT_EQUAL(read_text(text, strlen(text), &s, path, sizeof path, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_EQUAL_FATAL(s.n, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < s.n; i++) {
        CU_ASSERT_STRING_EQUAL(s.key[i], want[i][0]);
        CU_ASSERT_STRING_EQUAL(s.value[i], want[i][1]);
    }
}

static void test_empty_file(void)
{
    seen s = { 0 };
    char path[1024], err[1024];
    CU_ASSERT_EQUAL(read_text("", 0, &s, path, sizeof path, err, sizeof err), 0);
    CU_ASSERT_EQUAL(s.n, 0);
    const char *only_comments = "# nothing\n\n   # here\n";
    CU_ASSERT_EQUAL(read_text(only_comments, strlen(only_comments), &s, path, sizeof path,
                              err, sizeof err), 0);
    CU_ASSERT_EQUAL(s.n, 0);
}

/* Malformed files: the error names the file and the line. */
static void test_errors(void)
{
    static const struct {
        const char *text;
        const char *reject;
        int line;
        const char *what;
        int calls_before;
    } cases[] = {
        { "listen = x\n# c\nbogus = 1\nstate = y\n", "bogus", 3, "unknown setting 'bogus'", 1 },
        { "listen = x\njustaword\nstate = y\n", NULL, 2, "expected 'key = value'", 1 },
        { "\n\n\n  no equals sign here  # but a comment\n", NULL, 4, "no equals sign here", 0 },
        { "a = 1\n = value\n", NULL, 2, "missing key", 1 },
        { "a = 1\nb = 2\nc = 3\nd = \"unterminated\n\x01\x02\x03 = 4\n", NULL, 5,
          "not a text file", 4 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seen s = { .reject = cases[i].reject };
        char path[1024], err[1024], prefix[1100];
        int rc = read_text(cases[i].text, strlen(cases[i].text), &s, path, sizeof path, err,
                           sizeof err);
        CU_ASSERT_EQUAL(rc, -1);
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, cases[i].line);
        if (strncmp(err, prefix, strlen(prefix)) != 0)
            fprintf(stderr, "case %zu: err '%s', want prefix '%s'\n", i, err, prefix);
        CU_ASSERT_EQUAL(strncmp(err, prefix, strlen(prefix)), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].what));
        CU_ASSERT_PTR_NULL(strchr(err, '\n'));
        /* settings before the bad line were applied, none after it */
        CU_ASSERT_EQUAL(s.n, cases[i].calls_before);
    }
}

static void test_missing_file(void)
{
    seen s = { 0 };
    char err[512] = "";
    const char *path = "/nonexistent/tern/ternd.conf";
    CU_ASSERT_EQUAL(config_read(path, collect, &s, err, sizeof err), -1);
    CU_ASSERT_EQUAL(s.n, 0);
    CU_ASSERT_EQUAL(strncmp(err, path, strlen(path)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));

    /* a directory is not a config file either */
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    err[0] = '\0';
    CU_ASSERT_EQUAL(config_read(dir, collect, &s, err, sizeof err), -1);
    CU_ASSERT_EQUAL(s.n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, dir));
    unit_rmrf(dir);
    free(dir);
}

/* A NUL byte anywhere means this is not a text file: say so, and apply
 * nothing from the line that holds it. */
static void test_binary(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        int line;
    } cases[] = {
        /* NUL in the middle of a line */
        { "listen = tcp://*:7000\0garbage\n", 30, 1 },
        /* NUL at the start of the second line */
        { "a = 1\n\0\0\0\0 = 2\n", 15, 2 },
        /* a zero-filled file, as left by a crash before the data was written */
        { "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16, 1 },
        /* UTF-16LE text */
        { "k\0e\0y\0 \0=\0 \0v\0\n\0", 16, 1 },
        /* the start of an ELF file */
        { "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0", 20, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seen s = { 0 };
        char path[1024], err[1024], prefix[1100];
        int rc = read_text(cases[i].bytes, cases[i].len, &s, path, sizeof path, err,
                           sizeof err);
        if (rc != -1 || !strstr(err, "not a text file"))
            fprintf(stderr, "binary case %zu: rc %d, %d settings applied, err '%s'\n", i, rc,
                    s.n, err);
        CU_ASSERT_EQUAL(rc, -1);
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, cases[i].line);
        CU_ASSERT_EQUAL(strncmp(err, prefix, strlen(prefix)), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a text file"));
        CU_ASSERT_EQUAL(s.n, cases[i].line - 1);
    }
}

static void test_long_line(void)
{
    /* "v = " + value: exactly 4096 bytes before the newline is allowed */
    size_t max = 4096;
    char *text = malloc(3 * max);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int n = snprintf(text, 3 * max, "a = 1\nv = ");
    memset(text + n, 'x', max - 4);
    n += (int)(max - 4);
    text[n++] = '\n';
    text[n] = '\0';
    seen s = { 0 };
    char path[1024], err[1024], prefix[1100];
    CU_ASSERT_EQUAL(read_text(text, (size_t)n, &s, path, sizeof path, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_EQUAL(strlen(s.value[1]), max - 4);

    /* one byte more is too long, on line 3 */
    n = snprintf(text, 3 * max, "a = 1\n# fine\nv = ");
    memset(text + n, 'y', max - 3);
    n += (int)(max - 3);
    n += snprintf(text + n, 3 * max - (size_t)n, "\nb = 2\n");
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL(read_text(text, (size_t)n, &s, path, sizeof path, err, sizeof err), -1);
    snprintf(prefix, sizeof prefix, "%s:3: ", path);
    CU_ASSERT_EQUAL(strncmp(err, prefix, strlen(prefix)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than 4096"));
    CU_ASSERT_EQUAL(s.n, 1);

    /* far longer, no newline at all */
    memset(text, 'z', 3 * max - 1);
    text[3 * max - 1] = '\0';
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL(read_text(text, strlen(text), &s, path, sizeof path, err, sizeof err), -1);
    snprintf(prefix, sizeof prefix, "%s:1: ", path);
    CU_ASSERT_EQUAL(strncmp(err, prefix, strlen(prefix)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than 4096"));
    CU_ASSERT_EQUAL(s.n, 0);
    free(text);
}

/* A FIFO is refused at once: reading it would wait for a writer forever. */
static void test_fifo(void)
{
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[1024], err[1200];
    snprintf(path, sizeof path, "%s/fifo.conf", dir);
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
    seen s = { 0 };
    CU_ASSERT_EQUAL(config_read(path, collect, &s, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
    CU_ASSERT_EQUAL(strncmp(err, path, strlen(path)), 0);
    unit_rmrf(dir);
    free(dir);
}

/* A small 'err' truncates the message, never overruns it. */
static void test_small_err(void)
{
    seen s = { .reject = "bogus" };
    char path[1024], err[16];
    memset(err, 'Q', sizeof err);
    const char *text = "bogus = 1\n";
    CU_ASSERT_EQUAL(read_text(text, strlen(text), &s, path, sizeof path, err, 8), -1);
    CU_ASSERT_EQUAL(strlen(err), 7);
    CU_ASSERT_EQUAL(err[8], 'Q');
}

/* A config file that names itself (config = ITSELF) is refused once too
 * deep, instead of recursing until the stack overflows. */
static void test_includes_itself(void)
{
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[1024], text[1100];
    snprintf(path, sizeof path, "%s/ternd.conf", dir);
    snprintf(text, sizeof text, "state = x\nconfig = %s\n", path);
    write_file(dir, "ternd.conf", text, strlen(text), path, sizeof path);
    static const option_spec table[] = {
        { "state", "FILE", OPTION_CUSTOM, 0, 0, 0, NULL, "", NULL, collect },
        { NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
    };
    char *argv[] = { "ternd", "--config", path, NULL };
    seen s = { 0 };
    enum log_level level = LOG_INFO;
    /* (options_parse says why on stderr) */
    CU_ASSERT_EQUAL(options_parse("ternd", "", 3, argv, table, &s, &level), 2);
    CU_ASSERT_EQUAL(s.n, 8);   /* 'state' from each of the 8 files read */
    unit_rmrf(dir);
    free(dir);
}

typedef struct table_opts {
    char *text;
    uint32_t n, ms;
    bool on;
} table_opts;

static int check_no_x(void *opts, const char *name, const char *v, char *err, size_t errlen)
{
    (void)opts;
    if (!strchr(v, 'x'))
        return 0;
    snprintf(err, errlen, "%s '%s': no x", name, v);
    return -1;
}

static const option_spec table[] = {
    { "text", "T", OPTION_TEXT, offsetof(table_opts, text), 0, 0, "dflt", "some text", NULL,
      check_no_x },
    { "n", "N", OPTION_U32, offsetof(table_opts, n), 2, 9, "3", "a number (2 or more)", NULL,
      NULL },
    { "wait", "S", OPTION_SECONDS, offsetof(table_opts, ms), 0, 60, "5", "how long", NULL, NULL },
    { "on", NULL, OPTION_SWITCH, offsetof(table_opts, on), 0, 0, NULL, "a switch", NULL, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

/* Defaults, then the command line, through each kind's setter. */
static void test_option_table(void)
{
    static const struct {
        const char *args[4];
        int rc;
        const char *text;
        uint32_t n, ms;
        bool on;
    } rows[] = {
        { { NULL }, 0, "dflt", 3, 5000, false },
        { { "--text", "abc", "--n=9", NULL }, 0, "abc", 9, 5000, false },
        { { "--wait", "0", "--on", NULL }, 0, "dflt", 3, 0, true },
        { { "--on=false", "--wait=60", NULL }, 0, "dflt", 3, 60000, false },
        { { "--text", "axe", NULL }, 2, "dflt", 3, 5000, false },   /* refused by its check */
        { { "--n", "1", NULL }, 2, "dflt", 3, 5000, false },        /* below its min */
        { { "--wait", "61", NULL }, 2, "dflt", 3, 5000, false },
        { { "--on=maybe", NULL }, 2, "dflt", 3, 5000, false },
        { { "--bogus", NULL }, 2, "dflt", 3, 5000, false },
        { { "--n", NULL }, 2, "dflt", 3, 5000, false },             /* no value */
        { { "--help", NULL }, 1, "dflt", 3, 5000, false },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *argv[6] = { "prog" };
        int argc = 1;
        for (int k = 0; rows[i].args[k]; k++)
            argv[argc++] = (char *)rows[i].args[k];
        table_opts o = { 0 };
        enum log_level level = LOG_INFO;
        FILE *saved = stdout;
        stdout = fopen("/dev/null", "w");
        int rc = options_parse("prog", "[options]", argc, argv, table, &o, &level);
        fclose(stdout);
        stdout = saved;
        CU_ASSERT_EQUAL(rc, rows[i].rc);
        CU_ASSERT_STRING_EQUAL(o.text, rows[i].text);
        CU_ASSERT_EQUAL(o.n, rows[i].n);
        CU_ASSERT_EQUAL(o.ms, rows[i].ms);
        CU_ASSERT_EQUAL(o.on, rows[i].on);
        options_free(table, &o);
        CU_ASSERT_PTR_NULL(o.text);
    }
}

/* --help comes from the table: each option with its value and default. */
static void test_option_usage(void)
{
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/usage", dir);
    FILE *f = fopen(path, "w+");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    FILE *saved = stdout;
    stdout = f;
    char *argv[] = { "prog", "--help", NULL };
    table_opts o = { 0 };
    enum log_level level = LOG_INFO;
    CU_ASSERT_EQUAL(options_parse("prog", "[options]", 2, argv, table, &o, &level), 1);
    fflush(stdout);
    stdout = saved;
    options_free(table, &o);
    char text[2048] = "";
    rewind(f);
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    CU_ASSERT_EQUAL(strncmp(text, "usage: prog [options]\n", 22), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  --text T              some text (default dflt)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  --n N                 a number (2 or more; default 3)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  --on                  a switch\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  --config FILE"));
    unit_rmrf(dir);
    free(dir);
}

int suite_config(void)
{
    static const unit_test tests[] = {
        { "settings", test_settings },
        { "empty file", test_empty_file },
        { "errors", test_errors },
        { "missing file", test_missing_file },
        { "binary", test_binary },
        { "long line", test_long_line },
        { "small err", test_small_err },
        { "fifo", test_fifo },
        { "includes itself", test_includes_itself },
        { "option table", test_option_table },
        { "option usage", test_option_usage },
        { NULL, NULL },
    };
    return unit_add("config", tests);
}
