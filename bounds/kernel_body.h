/* kernel_body.h — bodies of the kernels of kernel.c, included once per
 * vector width (no include guard on purpose).  The includer defines:
 *   KN(name)   the function name for this width
 *   VL         lanes (0: plain loops only)
 * and, when VL > 0: types VD (double lanes) and VI (64-bit integer lanes),
 * and LD(p), ST(p, v), SPLAT(x), VABS(v), VMAX(a, b) (neither NaN),
 * VSEL(mask, a, b) and HSUM(v).
 * See kernel.c for the rounding argument (every sum rounded up, any order).
 */

static void KN(ibp)(int in, int out, const double *W, const double *b, const double *lo,
                    const double *hi, const double *x2, double *olo, double *ohi, double *av)
{
    for (int o = 0; o < out; o++) {
        const double *w = W + (size_t)o * (size_t)in;
        double u = b[o], n = -b[o], a = 0.0;
        int k = 0;
#if VL > 0
        VD U0 = SPLAT(0.0), N0 = U0, A0 = U0, U1 = U0, N1 = U0, A1 = U0;
        if (x2) {
            for (; k + 2 * VL <= in; k += 2 * VL) {
                VD w0 = LD(w + k), l0 = LD(lo + k), h0 = LD(hi + k);
                VD w1 = LD(w + k + VL), l1 = LD(lo + k + VL), h1 = LD(hi + k + VL);
                U0 += VMAX(w0 * l0, w0 * h0);
                N0 += VMAX((-w0) * l0, (-w0) * h0);
                A0 += VABS(w0) * LD(x2 + k);
                U1 += VMAX(w1 * l1, w1 * h1);
                N1 += VMAX((-w1) * l1, (-w1) * h1);
                A1 += VABS(w1) * LD(x2 + k + VL);
            }
        } else {
            for (; k + 2 * VL <= in; k += 2 * VL) {
                VD w0 = LD(w + k), l0 = LD(lo + k), h0 = LD(hi + k);
                VD w1 = LD(w + k + VL), l1 = LD(lo + k + VL), h1 = LD(hi + k + VL);
                U0 += VMAX(w0 * l0, w0 * h0);
                N0 += VMAX((-w0) * l0, (-w0) * h0);
                U1 += VMAX(w1 * l1, w1 * h1);
                N1 += VMAX((-w1) * l1, (-w1) * h1);
            }
        }
        u += HSUM(U0 + U1);
        n += HSUM(N0 + N1);
        a += HSUM(A0 + A1);
#endif
        for (; k < in; k++) {
            double wk = w[k], x = wk * lo[k], y = wk * hi[k];
            u += x > y ? x : y;
            x = (-wk) * lo[k];
            y = (-wk) * hi[k];
            n += x > y ? x : y;
            if (x2)
                a += fabs(wk) * x2[k];
        }
        ohi[o] = u;
        olo[o] = -n;
        if (x2)
            av[o] = a;
    }
}

static void KN(relu_row)(int n, const double *lam, const double *sp, const double *sn,
                         const double *cn, const double *em, const double *b, const double *v,
                         double *p, double out[4])
{
    double cs = 0.0, er = 0.0, bs = 0.0, ea = 0.0;
    int j = 0;
#if VL > 0
    const VD zero = SPLAT(0.0);
    VD CS = zero, ER = zero, BS = zero, EA = zero;
    if (b) {
        for (; j + VL <= n; j += VL) {
            VD l = LD(lam + j);
            VI ge = l >= zero;
            VD q = l * VSEL(ge, LD(sp + j), LD(sn + j));
            VD aq = VABS(q);
            ST(p + j, q);
            CS += (-l) * VSEL(ge, zero, LD(cn + j));
            ER += aq * LD(em + j);
            BS += (-q) * LD(b + j);
            EA += aq * LD(v + j);
        }
    } else {
        for (; j + VL <= n; j += VL) {
            VD l = LD(lam + j);
            VI ge = l >= zero;
            VD q = l * VSEL(ge, LD(sp + j), LD(sn + j));
            ST(p + j, q);
            CS += (-l) * VSEL(ge, zero, LD(cn + j));
            ER += VABS(q) * LD(em + j);
        }
    }
    cs = HSUM(CS);
    er = HSUM(ER);
    bs = HSUM(BS);
    ea = HSUM(EA);
#endif
    for (; j < n; j++) {
        double l = lam[j], q;
        if (l >= 0.0) {
            q = l * sp[j];
        } else {
            q = l * sn[j];
            cs += (-l) * cn[j];
        }
        p[j] = q;
        er += fabs(q) * em[j];
        if (b) {
            bs += (-q) * b[j];
            ea += fabs(q) * v[j];
        }
    }
    out[0] = cs;
    out[1] = er;
    out[2] = bs;
    out[3] = ea;
}

static void KN(affine_row)(int n, const double *lam, const double *b, const double *v,
                           double out[2])
{
    double s = 0.0, e = 0.0;
    int j = 0;
#if VL > 0
    VD S = SPLAT(0.0), E = S;
    for (; j + VL <= n; j += VL) {
        VD l = LD(lam + j);
        S += (-l) * LD(b + j);
        E += VABS(l) * LD(v + j);
    }
    s = HSUM(S);
    e = HSUM(E);
#endif
    for (; j < n; j++) {
        s += (-lam[j]) * b[j];
        e += fabs(lam[j]) * v[j];
    }
    out[0] = s;
    out[1] = e;
}

static double KN(concretise)(int n, const double *lam, const double *lo, const double *hi,
                             double *abs_sum)
{
    double s = 0.0, chk = 0.0;
    int j = 0;
#if VL > 0
    VD S = SPLAT(0.0), C = S;
    for (; j + VL <= n; j += VL) {
        VD nl = -LD(lam + j);
        S += VMAX(nl * LD(lo + j), nl * LD(hi + j));
        C += VABS(nl);
    }
    s = HSUM(S);
    chk = HSUM(C);
#endif
    for (; j < n; j++) {
        double nl = -lam[j], x = nl * lo[j], y = nl * hi[j];
        s += x > y ? x : y;
        chk += fabs(nl);
    }
    *abs_sum = chk;
    return s;
}

static double KN(concretise_upd)(int n, const double *q0, int nd, const double *const *rows,
                                 const double *a, const double *lo, const double *hi,
                                 double *abs_sum)
{
    double s = 0.0, chk = 0.0;
    int j = 0;
#if VL > 0
    VD S = SPLAT(0.0), C = S;
    for (; j + VL <= n; j += VL) {
        VD q = LD(q0 + j);
        for (int e = 0; e < nd; e++)
            q += SPLAT(a[e]) * LD(rows[e] + j);
        VD nl = -q;
        S += VMAX(nl * LD(lo + j), nl * LD(hi + j));
        C += VABS(nl);
    }
    s = HSUM(S);
    chk = HSUM(C);
#endif
    for (; j < n; j++) {
        double q = q0[j];
        for (int e = 0; e < nd; e++)
            q += a[e] * rows[e][j];
        double nl = -q, x = nl * lo[j], y = nl * hi[j];
        s += x > y ? x : y;
        chk += fabs(nl);
    }
    *abs_sum = chk;
    return s;
}

static void KN(axpy)(int n, double a, const double *x, double *y)
{
    int j = 0;
#if VL > 0
    const VD A = SPLAT(a);
    for (; j + VL <= n; j += VL)
        ST(y + j, LD(y + j) + A * LD(x + j));
#endif
    for (; j < n; j++)
        y[j] += a * x[j];
}

static double KN(absdot)(int n, const double *x, const double *mag)
{
    double s = 0.0;
    int j = 0;
#if VL > 0
    VD S = SPLAT(0.0);
    for (; j + VL <= n; j += VL)
        S += VABS(LD(x + j)) * LD(mag + j);
    s = HSUM(S);
#endif
    for (; j < n; j++)
        s += fabs(x[j]) * mag[j];
    return s;
}

static void KN(red_col)(int R, double *mu, double al, double ua, double uc, double mz, double Bj,
                        double Ej, double *p, double *nc, double *er)
{
    int r = 0;
#if VL > 0
    const VD zero = SPLAT(0.0), AL = SPLAT(al), UA = SPLAT(ua), UC = SPLAT(uc), MZ = SPLAT(mz),
             BJ = SPLAT(Bj), EJ = SPLAT(Ej);
    for (; r + VL <= R; r += VL) {
        VD m = LD(mu + r);
        VI ge = m >= zero;
        VD q = m * VSEL(ge, AL, UA), aq = VABS(q);
        VD t = LD(nc + r);
        t += (-m) * VSEL(ge, zero, UC);
        t += (-q) * BJ;
        t += aq * EJ;
        ST(nc + r, t);
        ST(er + r, LD(er + r) + aq * MZ);
        ST(p + r, q);
        ST(mu + r, zero);
    }
#endif
    for (; r < R; r++) {
        double m = mu[r], q;
        if (m >= 0.0) {
            q = m * al;
        } else {
            q = m * ua;
            nc[r] += (-m) * uc;
        }
        nc[r] += (-q) * Bj;
        nc[r] += fabs(q) * Ej;
        er[r] += fabs(q) * mz;
        p[r] = q;
        mu[r] = 0.0;
    }
}

static void KN(red_rank1)(int w, int R, const double *z, const double *p, double *G,
                          const double *mag, double *ue)
{
    for (int m = 0; m < w; m++) {
        const double zm = z[m], mg = mag[m];
        if (zm == 0.0)
            continue; /* exact: nothing changes */
        double *g = G + (size_t)m * (size_t)R;
        int r = 0;
#if VL > 0
        const VD Z = SPLAT(zm), M = SPLAT(mg);
        for (; r + VL <= R; r += VL) {
            VD t = Z * LD(p + r), gn = LD(g + r) + t;
            ST(g + r, gn);
            ST(ue + r, LD(ue + r) + (VABS(gn) + VABS(t)) * M);
        }
#endif
        for (; r < R; r++) {
            double t = zm * p[r];
            g[r] += t;
            ue[r] += (fabs(g[r]) + fabs(t)) * mg;
        }
    }
}

static void KN(concretise_cols)(int n, int R, const double *G, const double *lo,
                                const double *hi, double *s, double *chk)
{
    for (int m = 0; m < n; m++) {
        const double *g = G + (size_t)m * (size_t)R;
        const double l = lo[m], h = hi[m];
        int r = 0;
#if VL > 0
        const VD L = SPLAT(l), H = SPLAT(h);
        for (; r + VL <= R; r += VL) {
            VD ng = -LD(g + r);
            ST(s + r, LD(s + r) + VMAX(ng * L, ng * H));
            ST(chk + r, LD(chk + r) + VABS(ng));
        }
#endif
        for (; r < R; r++) {
            double ng = -g[r], x = ng * l, y = ng * h;
            s[r] += x > y ? x : y;
            chk[r] += fabs(ng);
        }
    }
}
