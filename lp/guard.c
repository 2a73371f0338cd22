/* guard.c — the guard around GLPK calls: GLPK's terminal output captured,
 * its internal errors turned into an LP_FAILED outcome (lp_fault) instead of
 * abort(), and the contexts of the thread told their problem object is gone. */
#include "config.h"

#include <fenv.h>
#include <setjmp.h>
#include <stdio.h>

#include "lp/lp_int.h"

/* GLPK faults.
 * GLPK reports an internal error (a failed assertion, as in its dual simplex
 * on coefficients near DBL_MAX, or a misuse it detects) by printing a message
 * and calling abort() -- unless an error hook is installed: then the hook
 * runs first and may leave by longjmp.  GLPK's manual (glp_error_hook,
 * glp_free_env) then requires the environment to be freed, which deletes
 * every glp_prob of the thread: the environment is thread-local in Debian's
 * build (glp_config("TLS"); libglpk.so has a TLS segment), and the hooks live
 * in it, so they are installed per thread and per call.
 *
 * Every public entry that calls GLPK runs inside a guard (lp__guard_begin /
 * lp__guard_end around setjmp in the entry's own frame; never nested):
 *   - GLPK's terminal output is captured (nothing reaches stdout): on a fault
 *     it is the reason, "GLPK: Assertion failed: p != 0; Error detected in
 *     file simplex/spychuzr.c at line 312";
 *   - on a fault: the caller's rounding mode is restored, the environment is
 *     freed, every context of the thread loses its problem object (P = NULL),
 *     the call returns CN_OK with the outcome LP_FAILED, and lp_fault() of
 *     the calling context tells why;
 *   - a context without a problem object is rebuilt at its next use.
 * A fault inside GLPK leaves our own scratch allocations of that call
 * behind only where they are live across a GLPK call (setup_lin's deletion
 * list and two rationals, farkas_bound's buffers): GLPK detects misuse there,
 * its numerical assertions come from the simplex. */
_Thread_local lp__thread lp__tls;

static int on_term(void *info, const char *s)
{
    (void)info;
    for (; *s && lp__tls.len + 3 < sizeof lp__tls.msg; s++) {
        if (*s == '\n') {
            if (lp__tls.len > 0 && lp__tls.msg[lp__tls.len - 1] != ' ') {
                lp__tls.msg[lp__tls.len++] = ';';
                lp__tls.msg[lp__tls.len++] = ' ';
            }
            continue;
        }
        lp__tls.msg[lp__tls.len++] = *s;
    }
    lp__tls.msg[lp__tls.len] = '\0';
    return 1; /* library code never prints */
}

static void on_error(void *info)
{
    (void)info;
    longjmp(*lp__tls.jb, 1); /* back to the guarded entry, which frees the environment */
}

void lp__guard_begin(jmp_buf *jb)
{
    CN_REQUIRE(!lp__tls.jb, "GLPK calls of one thread are not nested");
    lp__tls.jb = jb;
    lp__tls.len = 0;
    lp__tls.msg[0] = '\0';
    glp_error_hook(on_error, NULL);
    glp_term_hook(on_term, NULL);
}

void lp__guard_end(void)
{
    glp_error_hook(NULL, NULL);
    glp_term_hook(NULL, NULL);
    lp__tls.jb = NULL;
}

void lp__ctx_link(lp_ctx *c)
{
    c->owner = &lp__tls;
    c->prev = NULL;
    c->next = lp__tls.live;
    if (lp__tls.live)
        lp__tls.live->prev = c;
    lp__tls.live = c;
    c->linked = true;
}

void lp__ctx_unlink(lp_ctx *c)
{
    if (!c->linked)
        return;
    CN_REQUIRE(c->owner == &lp__tls, "an LP context is freed by the thread that made it");
    if (c->prev)
        c->prev->next = c->next;
    else
        lp__tls.live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    c->linked = false;
}

/* After longjmp from on_error: what GLPK's manual requires, and the record
 * of why (in c, which may be NULL). */
void lp__guard_fault(lp_ctx *c, int round)
{
    lp__tls.jb = NULL;
    fesetround(round);
    glp_free_env(); /* every glp_prob of this thread is gone */
    for (lp_ctx *q = lp__tls.live; q; q = q->next) {
        q->P = NULL;
        q->n_lin_rows = q->n_conj = 0;
        q->conj_ok = false;
    }
    if (lp__tls.building)
        lp__tls.building->P = NULL;
    size_t n = lp__tls.len;
    while (n > 0 && (lp__tls.msg[n - 1] == ' ' || lp__tls.msg[n - 1] == ';'))
        n--;
    lp__tls.msg[n] = '\0';
    if (c)
        snprintf(c->fault, sizeof c->fault, "GLPK: %.150s", n ? lp__tls.msg : "internal error");
}

const char *lp_fault(const lp_ctx *c)
{
    return c && c->fault[0] ? c->fault : NULL;
}
