/* testutil.h — helpers shared by the cmocka tests. */
#ifndef CERTNN_TESTUTIL_H
#define CERTNN_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* cmocka 1.1.5's assert_float_equal casts to float: compare doubles here and
 * print both operands exactly (%a) on failure. */
#define assert_double_near(a, b, tol)                                                   \
    do {                                                                                \
        double a_ = (a), b_ = (b), t_ = (tol);                                          \
        if (!(a_ - b_ <= t_ && b_ - a_ <= t_))                                          \
            fail_msg("%s = %.17g (%a) vs %s = %.17g (%a): differ by more than %g", #a,  \
                     a_, a_, #b, b_, b_, t_);                                           \
    } while (0)

#define assert_double_le(a, b)                                                           \
    do {                                                                                \
        double a_ = (a), b_ = (b);                                                      \
        if (!(a_ <= b_))                                                                \
            fail_msg("expected %s <= %s: %.17g (%a) > %.17g (%a)", #a, #b, a_, a_, b_, b_); \
    } while (0)

/* A message (e.g. cn_err.msg) that must contain sub. */
static inline void assert_contains(const char *msg, const char *sub)
{
    if (!strstr(msg, sub))
        fail_msg("message \"%s\" does not contain \"%s\"", msg, sub);
}

/* root/rel in buf, root from the environment variable env (dflt when unset or empty). */
static inline const char *tu_path(char *buf, size_t cap, const char *env, const char *dflt,
                                  const char *rel)
{
    const char *root = getenv(env);
    snprintf(buf, cap, "%s/%s", root && *root ? root : dflt, rel);
    return buf;
}

/* Path of a file under the shared benchmark data (../shared). */
static inline const char *tu_shared(const char *rel)
{
    static char buf[4096];
    return tu_path(buf, sizeof buf, "CN_SHARED", "../shared", rel);
}

/* Path of a file under the source tree. */
static inline const char *tu_src(const char *rel)
{
    static char buf[4096];
    return tu_path(buf, sizeof buf, "CN_SRCDIR", ".", rel);
}

/* Deterministic generator (splitmix64) with explicit state; tests print the
 * seed and read CN_SEED to replay. */
typedef struct { uint64_t s; } tu_rng;

static inline uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double tu_unif(tu_rng *r) { return (double)(tu_next(r) >> 11) * 0x1p-53; }

static inline uint64_t tu_seed(const char *test, uint64_t dflt)
{
    const char *e = getenv("CN_SEED");
    uint64_t s = e && *e ? strtoull(e, NULL, 0) : dflt;
    printf("# %s: seed %llu (replay with CN_SEED=%llu)\n", test, (unsigned long long)s,
           (unsigned long long)s);
    return s;
}

#endif
