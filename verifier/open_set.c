/* open_set.c — branch-and-bound nodes and the open set.  Open nodes are a
 * stack (depth first); with input splitting and best-first picks on every
 * pop, two binary min-heaps over the same nodes order them by score (lowest
 * bound) and by conc (smallest margin seen at a point: most likely to hold a
 * counterexample).  vfy__open_pick is the pick policy. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "verifier/engine_int.h"

/* One allocation of shared.node_bytes: the node, alive[words], then with
 * input splitting lo, hi, cand, bx [n_in] each, with activation splitting
 * act_lo, act_hi [n_smooth] each, with ReLU splitting split[n_relus].  A
 * child copies its parent's region (with its restrictions), alive set,
 * vertex and LP-tail skip. */
node *vfy__node_new(shared *S, const node *parent)
{
    node *nd = cn_calloc(1, S->node_bytes);
    if (!nd)
        return NULL;
    char *p = (char *)(nd + 1);
    nd->alive = (uint64_t *)p;
    p += sizeof(uint64_t) * (size_t)S->words;
    nd->conc = INFINITY;
    nd->n_unst = INT_MAX;
    nd->lp_skip = INT_MAX;
    if (S->own_box) {
        nd->lo = (double *)p;
        p += sizeof(double) * (size_t)S->n_in;
        nd->hi = (double *)p;
        p += sizeof(double) * (size_t)S->n_in;
        nd->cand = (double *)p;
        p += sizeof(double) * (size_t)S->n_in;
        nd->bx = (double *)p;
        p += sizeof(double) * (size_t)S->n_in;
    } else {
        nd->lo = S->pc->lo_d;
        nd->hi = S->pc->hi_d;
    }
    nd->act_j = -1;
    if (S->act_mode) {
        nd->act_lo = (double *)p;
        p += sizeof(double) * (size_t)S->n_smooth;
        nd->act_hi = (double *)p;
        p += sizeof(double) * (size_t)S->n_smooth;
        for (int j = 0; j < S->n_smooth; j++) {
            nd->act_lo[j] = parent ? parent->act_lo[j] : -INFINITY;
            nd->act_hi[j] = parent ? parent->act_hi[j] : INFINITY;
        }
    }
    if (S->relu_mode) {
        nd->split = (signed char *)p;
        p += (size_t)S->n_relus;
    }
    if (S->opt_on) {
        size_t k = (size_t)S->m * (size_t)S->n_relus;
        p = (char *)(((uintptr_t)p + 15) & ~(uintptr_t)15);
        nd->pb = (float *)p;
        p += sizeof(float) * k;
        nd->pa = (unsigned char *)p;
    }
    if (parent) {
        memcpy(nd->alive, parent->alive, sizeof(uint64_t) * (size_t)S->words);
        if (S->own_box) {
            memcpy(nd->lo, parent->lo, sizeof(double) * (size_t)S->n_in);
            memcpy(nd->hi, parent->hi, sizeof(double) * (size_t)S->n_in);
            memcpy(nd->cand, parent->cand, sizeof(double) * (size_t)S->n_in);
        }
        if (S->relu_mode)
            memcpy(nd->split, parent->split, (size_t)S->n_relus);
        if (S->opt_on && parent->has_par) {
            size_t k = (size_t)S->m * (size_t)S->n_relus;
            memcpy(nd->pa, parent->pa, k);
            memcpy(nd->pb, parent->pb, sizeof(float) * k);
            nd->has_par = true;
        }
        nd->depth = parent->depth + 1;
        nd->lp_skip = parent->lp_skip;
    }
    return nd;
}

static bool open_less(const node *a, const node *b, int h)
{
    return h ? a->conc < b->conc : a->score < b->score;
}

static void heap_put(shared *S, int h, long i, node *nd)
{
    S->hp[h][i] = nd;
    nd->hpos[h] = i;
}

/* Restores heap h (n entries) around index i. */
static void heap_fix(shared *S, int h, long i, long n)
{
    node **a = S->hp[h], *x = a[i];
    while (i > 0 && open_less(x, a[(i - 1) / 2], h)) {
        heap_put(S, h, i, a[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        long c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && open_less(a[c + 1], a[c], h))
            c++;
        if (!open_less(a[c], x, h))
            break;
        heap_put(S, h, i, a[c]);
        i = c;
    }
    heap_put(S, h, i, x);
}

/* Grows the open set's arrays for one more node; false when out of memory. */
bool vfy__open_reserve(shared *S)
{
    if (S->n_open < S->cap)
        return true;
    long cap = S->cap ? 2 * S->cap : VFY__OPEN_CAP0;
    node **ns = cn_reallocarray(S->stack, (size_t)cap, sizeof *ns);
    if (!ns)
        return false;
    S->stack = ns;
    for (int h = 0; S->heaps && h < 2; h++) {
        node **hs = cn_reallocarray(S->hp[h], (size_t)cap, sizeof *hs);
        if (!hs)
            return false; /* (cap unchanged: the next call grows again) */
        S->hp[h] = hs;
    }
    S->cap = cap;
    return true;
}

/* Adds nd (after vfy__open_reserve). */
void vfy__open_push(shared *S, node *nd)
{
    long n = S->n_open++;
    nd->pos = n;
    S->stack[n] = nd;
    for (int h = 0; S->heaps && h < 2; h++) {
        heap_put(S, h, n, nd);
        heap_fix(S, h, n, n + 1);
    }
}

/* Removes nd from the heaps' open set (any order). */
static void open_take(shared *S, node *nd)
{
    long n = --S->n_open;
    node *last = S->stack[n];
    S->stack[nd->pos] = last;
    last->pos = nd->pos;
    for (int h = 0; h < 2; h++) {
        long i = nd->hpos[h];
        node *lh = S->hp[h][n];
        if (i != n) {
            heap_put(S, h, i, lh);
            heap_fix(S, h, i, n);
        }
    }
}

/* The pick policy: with a frontier to make, first in first out (an even
 * frontier); with heaps, every pick best first; otherwise depth first (the
 * stack's top) with every bf_every-th pick best first from a scan. */
node *vfy__open_pick(shared *S, bool *sample_here)
{
    node *nd;
    *sample_here = false;
    if (S->frontier_target > 0) { /* first in, first out: an even frontier */
        nd = S->stack[0];
        memmove(S->stack, S->stack + 1, sizeof(node *) * (size_t)--S->n_open);
    } else if (S->heaps) {
        /* every node best first: alternately the open node with the
         * lowest bound and the one with the smallest margin seen at a
         * point of its box (the most likely to hold a counterexample) */
        bool by_conc = ++S->pops % 2;
        nd = S->hp[by_conc][0];
        open_take(S, nd);
        *sample_here = !by_conc;
    } else if (S->bf_every > 0 && ++S->pops % (unsigned long)S->bf_every == 0) {
        /* now and then the open node most likely to hold a
         * counterexample, wherever it is in the stack: alternately the
         * one with the lowest bound and the one with the smallest
         * margin seen at a point of its box */
        bool by_conc = S->own_box && (S->pops / (unsigned long)S->bf_every) % 2;
        long b = S->n_open - 1;
        long step = S->n_open <= VFY__PICK_SCAN ? 1 : S->n_open / VFY__PICK_SCAN;
        long off = step > 1 ? (long)(S->pops / VFY__PICK_ROTATE % (unsigned long)step) : 0;
        for (long i = off; i < S->n_open; i += step) /* at most VFY__PICK_SCAN looks */
            if (by_conc ? S->stack[i]->conc < S->stack[b]->conc
                        : S->stack[i]->score < S->stack[b]->score)
                b = i;
        nd = S->stack[b]; /* (the rest keep their depth-first order) */
        *sample_here = !by_conc;
        memmove(S->stack + b, S->stack + b + 1, sizeof(node *) * (size_t)(S->n_open - b - 1));
        S->n_open--;
    } else {
        nd = S->stack[--S->n_open];
    }
    return nd;
}
