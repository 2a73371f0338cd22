/* train_ibp.c — interval bound propagation for certified training
 * (objective (8) of train.h, Gowal et al. 2018), forward and reverse mode.
 *
 * A box is kept as centre mu and radius r.  Through a dense layer
 *     mu' = W mu + b,   r' = |W| r                                   (i)
 * and through a ReLU, with l = mu - r, u = mu + r,
 *     mu'' = (relu(u) + relu(l)) / 2,   r'' = (relu(u) - relu(l)) / 2.   (ii)
 * The last layer is elided into the margins: for each j != y,
 *     m_j = (W_j - W_y) mu + |W_j - W_y| r + b_j - b_y  >=  z_j - z_y      (iii)
 * over the box, tighter than subtracting the logit bounds.  Plain doubles,
 * round-to-nearest: a training signal, not a proof (certnn's verifier
 * computes sound bounds separately).  Reverse mode differentiates (i)-(iii)
 * with sign(0) = 0 and relu'(0) = 0. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "train/train_int.h"

static double sgn(double v) { return v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0); }

/* Boxes entering layers 0 .. upto (mu[l], r[l]) and the pre-activation boxes
 * of layers 0 .. upto-1 (zmu, zr); |W[l]| refreshed for l < upto_abs. */
static void propagate(trn__mlp *m, int B, const double *x, double eps, int upto, int upto_abs)
{
    size_t n0 = (size_t)B * (size_t)m->w[0];
    for (size_t k = 0; k < n0; k++) {
        double lo = x[k] - eps, hi = x[k] + eps;
        lo = lo < 0.0 ? 0.0 : lo;
        hi = hi > 1.0 ? 1.0 : hi;
        m->mu[0][k] = 0.5 * (lo + hi);
        m->r[0][k] = 0.5 * (hi - lo);
    }
    for (int l = 0; l < upto_abs; l++) {
        size_t nw = (size_t)m->w[l] * (size_t)m->w[l + 1];
        for (size_t k = 0; k < nw; k++)
            m->absW[l][k] = fabs(m->W[l][k]);
    }
    for (int l = 0; l < upto; l++) {
        int in = m->w[l], o = m->w[l + 1];
        double *zm = m->zmu[l], *zr = m->zr[l];
        for (int s = 0; s < B; s++)
            memcpy(zm + (size_t)s * o, m->b[l], (size_t)o * sizeof(double));
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, o, in, 1.0, m->mu[l], in, m->W[l],
                    in, 1.0, zm, o);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, o, in, 1.0, m->r[l], in,
                    m->absW[l], in, 0.0, zr, o);
        if (l + 1 < m->L) {
            double *mu = m->mu[l + 1], *r = m->r[l + 1];
            for (size_t k = 0; k < (size_t)B * (size_t)o; k++) {
                double lo = zm[k] - zr[k], hi = zm[k] + zr[k];
                lo = lo > 0.0 ? lo : 0.0;
                hi = hi > 0.0 ? hi : 0.0;
                mu[k] = 0.5 * (hi + lo);
                r[k] = 0.5 * (hi - lo);
            }
        }
    }
}

void trn__mlp_ibp_logits(trn__mlp *m, int B, const double *x, double eps, double *lo,
                         double *hi)
{
    CN_REQUIRE(B >= 1 && B <= m->max_batch && eps >= 0.0, "batch within the workspace");
    propagate(m, B, x, eps, m->L, m->L);
    const double *zm = m->zmu[m->L - 1], *zr = m->zr[m->L - 1];
    for (size_t k = 0; k < (size_t)B * (size_t)m->w[m->L]; k++) {
        lo[k] = zm[k] - zr[k];
        hi[k] = zm[k] + zr[k];
    }
}

double trn__mlp_ibp_loss(trn__mlp *m, int B, const double *x, const int *y, double eps,
                         double scale, bool grad, int *verified)
{
    CN_REQUIRE(B >= 1 && B <= m->max_batch && eps >= 0.0, "batch within the workspace");
    const int L = m->L, C = m->w[L], n = m->w[L - 1];
    propagate(m, B, x, eps, L - 1, L - 1);
    const double *W = m->W[L - 1], *bb = m->b[L - 1];
    double sum = 0.0;
    int ver = 0;
    /* (iii) and the loss log(1 + sum_{j != y} exp m_j) per row */
    for (int s = 0; s < B; s++) {
        const double *mu = m->mu[L - 1] + (size_t)s * n, *r = m->r[L - 1] + (size_t)s * n;
        const double *wy = W + (size_t)y[s] * n;
        double *mg = m->margin + (size_t)s * C;
        bool all_neg = true;
        double mx = 0.0;
        for (int j = 0; j < C; j++) {
            if (j == y[s]) {
                mg[j] = 0.0;
                continue;
            }
            const double *wj = W + (size_t)j * n;
            double v = bb[j] - bb[y[s]];
            for (int k = 0; k < n; k++) {
                double dk = wj[k] - wy[k];
                v += dk * mu[k] + fabs(dk) * r[k];
            }
            mg[j] = v;
            all_neg = all_neg && v < 0.0;
            mx = v > mx ? v : mx;
        }
        double e = 0.0;
        for (int j = 0; j < C; j++)
            e += exp(mg[j] - mx);
        sum += mx + log(e);
        ver += all_neg;
    }
    if (verified)
        *verified = ver;
    if (!grad)
        return sum / B;

    /* reverse mode: d(scale * mean loss) */
    double *dmu = m->e1, *dr = m->e2, *dzm = m->e3, *dzr = m->e4;
    double *gW = m->gW[L - 1], *gb = m->gb[L - 1];
    memset(dmu, 0, (size_t)B * (size_t)n * sizeof(double));
    memset(dr, 0, (size_t)B * (size_t)n * sizeof(double));
    for (int s = 0; s < B; s++) {
        const double *mu = m->mu[L - 1] + (size_t)s * n, *r = m->r[L - 1] + (size_t)s * n;
        const double *mg = m->margin + (size_t)s * C;
        const int ys = y[s];
        const double *wy = W + (size_t)ys * n;
        double *gmu = dmu + (size_t)s * n, *gr = dr + (size_t)s * n, *gWy = gW + (size_t)ys * n;
        double mx = 0.0, e = 0.0;
        for (int j = 0; j < C; j++)
            mx = mg[j] > mx ? mg[j] : mx;
        for (int j = 0; j < C; j++)
            e += exp(mg[j] - mx);
        for (int j = 0; j < C; j++) {
            if (j == ys)
                continue;
            double g = scale * exp(mg[j] - mx) / e / B;
            const double *wj = W + (size_t)j * n;
            double *gWj = gW + (size_t)j * n;
            for (int k = 0; k < n; k++) {
                double dk = wj[k] - wy[k], sk = sgn(dk);
                gmu[k] += g * dk;
                gr[k] += g * fabs(dk);
                double gw = g * (mu[k] + sk * r[k]);
                gWj[k] += gw;
                gWy[k] -= gw;
            }
            gb[j] += g;
            gb[ys] -= g;
        }
    }
    for (int l = L - 2; l >= 0; l--) {
        int in = m->w[l], o = m->w[l + 1];
        const double *zm = m->zmu[l], *zr = m->zr[l];
        /* through the ReLU (ii) */
        for (size_t k = 0; k < (size_t)B * (size_t)o; k++) {
            double lo = zm[k] - zr[k], hi = zm[k] + zr[k];
            double dhi = hi > 0.0 ? 0.5 * (dmu[k] + dr[k]) : 0.0;
            double dlo = lo > 0.0 ? 0.5 * (dmu[k] - dr[k]) : 0.0;
            dzm[k] = dhi + dlo;
            dzr[k] = dhi - dlo;
        }
        /* through the dense layer (i) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, in, B, 1.0, dzm, o, m->mu[l], in,
                    1.0, m->gW[l], in);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, in, B, 1.0, dzr, o, m->r[l], in,
                    0.0, m->tmpW, in);
        for (size_t k = 0; k < (size_t)in * (size_t)o; k++)
            m->gW[l][k] += sgn(m->W[l][k]) * m->tmpW[k];
        for (int s = 0; s < B; s++)
            for (int j = 0; j < o; j++)
                m->gb[l][j] += dzm[(size_t)s * o + j];
        if (l == 0)
            break;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, o, 1.0, dzm, o, m->W[l], in,
                    0.0, dmu, in);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, o, 1.0, dzr, o, m->absW[l],
                    in, 0.0, dr, in);
    }
    return sum / B;
}
