/* CUnit runner: each tests/unit/test_X.c defines suite_X(), which adds its
 * suite to the registry and returns 0 (or -1 when it could not). */
#ifndef TERN_UNIT_H
#define TERN_UNIT_H

#include <CUnit/CUnit.h>

int suite_parse(void);
int suite_config(void);
int suite_wire(void);
int suite_store(void);
int suite_placement(void);
int suite_directives(void);
int suite_rankenv(void);
int suite_topology(void);
int suite_reduce(void);
int suite_ckpt(void);
int suite_notice(void);
int suite_metrics(void);
int suite_auth(void);
int suite_masterport(void);
int suite_escape(void);
int suite_pattern(void);
int suite_jobstate(void);
int suite_strmap(void);
int suite_arrayspec(void);
int suite_depend(void);
int suite_hostlist(void);
int suite_grow(void);
int suite_queue(void);
int suite_fairshare(void);
int suite_backfill(void);
int suite_preempt(void);

typedef struct unit_test {
    const char *name;
    CU_TestFunc fn;
} unit_test;

/* Adds a suite named 'name' with the tests, up to one with name NULL.
 * Returns 0, or -1 when CUnit refuses. */
int unit_add(const char *name, const unit_test *tests);

/* A fresh empty temporary directory (mkdtemp) the caller removes with unit_rmrf. */
char *unit_tmpdir(void);
void unit_rmrf(const char *path);

#endif
