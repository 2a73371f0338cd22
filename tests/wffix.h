/* wffix.h — the workflow tests' fixtures (test_workflow.c,
 * test_workflow_radius.c): a scratch directory per cmocka group, files in
 * it, and the out-of-memory loop. */
#ifndef CERTNN_TESTS_WFFIX_H
#define CERTNN_TESTS_WFFIX_H

#include <stdbool.h>

#include "cli/workflow.h"
#include "tests/testutil.h"

/* The group's scratch directory: made by scratch_setup, removed with its
 * contents by scratch_teardown (cmocka group fixtures). */
extern char tmpdir[256];
int scratch_setup(void **state);
int scratch_teardown(void **state);
/* tmpdir/name (two results may be alive at once). */
const char *tpath(const char *name);
/* Writes text to path (asserting it could). */
void write_text(const char *path, const char *text);

/* The out-of-memory loop of STYLE.md: allocation k = 1, 2, ... of this
 * thread fails until fn makes fewer than k; each failing call returns
 * CN_ENOMEM (or CN_OK with may_go_on) and leaks nothing.  Returns the number
 * of allocations of the complete call. */
typedef cn_status (*oom_fn)(void *u, cn_err *err);
long oom_each(oom_fn fn, void *u, bool may_go_on, const char *what);

#endif
