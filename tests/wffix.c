/* wffix.c — the workflow tests' fixtures (wffix.h). */
#include "config.h"

#include "tests/wffix.h"

char tmpdir[256];

int scratch_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cn_wf_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

int scratch_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *tpath(const char *name)
{
    static char buf[2][400];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The out-of-memory loop of STYLE.md: allocation k of this thread fails, k
 * = 1, 2, ... until fn makes fewer than k allocations.  Each failing call
 * returns CN_ENOMEM (or, with may_go_on, CN_OK: the complete engine goes on
 * without an exact check or samples it could not allocate, fn checks the
 * answer) and leaks nothing (fn frees what a successful call made).
 * Returns the number of allocations of the complete call. */
long oom_each(oom_fn fn, void *u, bool may_go_on, const char *what)
{
    for (long k = 1;; k++) {
        if (k > 1000000)
            fail_msg("%s: more than a million allocations", what);
        long live = cn_alloc_live();
        cn_err err;
        memset(&err, 0, sizeof err);
        cn_alloc_fail_after(k);
        cn_status st = fn(u, &err);
        bool reached = true; /* was allocation k reached?  If not, one of the next k fails */
        for (long i = 0; st == CN_OK && reached && i < k; i++) {
            void *q = cn_malloc(1);
            reached = q != NULL;
            cn_free(q);
        }
        cn_alloc_fail_after(0);
        if (st != CN_OK && st != CN_ENOMEM)
            fail_msg("%s, allocation %ld fails: status %d (%s)", what, k, (int)st, err.msg);
        if (cn_alloc_live() != live)
            fail_msg("%s, allocation %ld fails: %ld blocks leaked", what, k,
                     cn_alloc_live() - live);
        if (!reached) {
            printf("# out of memory at each of %ld allocations: %s\n", k - 1, what);
            return k - 1;
        }
        if (st == CN_OK && !may_go_on)
            fail_msg("%s, allocation %ld fails: CN_OK", what, k);
    }
}
