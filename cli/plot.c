/* plot.c — accuracy-versus-eps plots for `certnn compare`, drawn with cairo
 * (one drawing routine, rendered on an image surface for PNG and on an SVG
 * surface).  Certified accuracy is a solid line, accuracy under attack a
 * dashed line of the same colour; one colour per model.  Partial results
 * are marked in red: a line under the title and "PARTIAL: why" in the
 * model's legend row. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cairo-svg.h>

#include "cli/workflow.h"

/* fontconfig (under cairo's text API) keeps its configuration and font cache
 * for the life of the process; LeakSanitizer would report them at exit in a
 * sanitizer build.  This hook is read by LSan only (unused otherwise). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

static const double palette[][3] = {
    {0.122, 0.467, 0.706}, {0.839, 0.153, 0.157}, {0.173, 0.627, 0.173},
    {0.580, 0.404, 0.741}, {1.000, 0.498, 0.055}, {0.549, 0.337, 0.294},
    {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
};
#define N_PALETTE (sizeof palette / sizeof palette[0])

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about n ticks. */
static double nice_step(double range, int n)
{
    double raw = range / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static void text_at(cairo_t *cr, const char *s, double x, double y, double ax, double ay)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - ax * e.width - e.x_bearing, y - ay * e.height - e.y_bearing);
    cairo_show_text(cr, s);
}

static void draw(cairo_t *cr, const wf_plot *p, double W, double H)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

    double ml = 70, mr = 20, mt = 50, mb = 60;
    /* Legend below the axes: one row per model. */
    double legend_h = 22.0 * p->n_series + 10;
    double x0 = ml, x1 = W - mr, y0 = H - mb - legend_h, y1 = mt;
    double xmax = 0;
    for (int i = 0; i < p->n_x; i++)
        if (p->x[i] > xmax)
            xmax = p->x[i];
    if (!(xmax > 0))
        xmax = 1;
    double xstep = nice_step(xmax, 6);
    xmax = ceil(xmax / xstep - 1e-9) * xstep;
#define PX(v) (x0 + (v) / xmax * (x1 - x0))
#define PY(v) (y0 - ((v) + 3.0) / 106.0 * (y0 - y1))   /* 0..100 with a margin */

    /* Grid and ticks. */
    cairo_set_line_width(cr, 1);
    cairo_set_font_size(cr, 12);
    char lab[32];
    for (int k = 0; k * xstep <= xmax + 1e-12; k++) {
        double v = k * xstep, x = PX(v);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, x, y0);
        cairo_line_to(cr, x, y1);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x, y0);
        cairo_line_to(cr, x, y0 + 5);
        cairo_stroke(cr);
        snprintf(lab, sizeof lab, "%g", v);
        text_at(cr, lab, x, y0 + 8, 0.5, 0);
    }
    for (int v = 0; v <= 100; v += 20) {
        double y = PY(v);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, x0, y);
        cairo_line_to(cr, x1, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x0 - 5, y);
        cairo_line_to(cr, x0, y);
        cairo_stroke(cr);
        snprintf(lab, sizeof lab, "%d", v);
        text_at(cr, lab, x0 - 8, y, 1, 0.5);
    }
    /* Axes. */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.5);
    cairo_rectangle(cr, x0, y1, x1 - x0, y0 - y1);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 14);
    text_at(cr, p->xlabel, (x0 + x1) / 2, y0 + 28, 0.5, 0);
    cairo_save(cr);
    cairo_translate(cr, 22, (y0 + y1) / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, p->ylabel, 0, 0, 0.5, 0.5);
    cairo_restore(cr);
    cairo_set_font_size(cr, 16);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    text_at(cr, p->title, W / 2, 18, 0.5, 0);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    bool partial = false;
    for (int s = 0; s < p->n_series; s++)
        partial = partial || p->series[s].partial;
    if (partial) {               /* the mark: one red line under the title */
        cairo_set_source_rgb(cr, WF_PLOT_PARTIAL_RGB);
        cairo_set_font_size(cr, 13);
        text_at(cr, "partial results: some models did not finish every sample (see legend)",
                W / 2, 35, 0.5, 0);
    }

    /* Curves: certified solid with filled markers, attacked dashed with open ones. */
    const double dash[] = {7, 5};
    for (int s = 0; s < p->n_series; s++) {
        const double *c = palette[(size_t)s % N_PALETTE];
        if (!p->series[s].cert || !p->series[s].att)
            continue;                  /* no sample finished: legend only */
        for (int kind = 0; kind < 2; kind++) {
            const double *y = kind ? p->series[s].att : p->series[s].cert;
            cairo_set_source_rgb(cr, c[0], c[1], c[2]);
            cairo_set_line_width(cr, 2.2);
            cairo_set_dash(cr, dash, kind ? 2 : 0, 0);
            for (int i = 0; i < p->n_x; i++)
                (i ? cairo_line_to : cairo_move_to)(cr, PX(p->x[i]), PY(y[i]));
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            for (int i = 0; i < p->n_x; i++) {
                cairo_new_sub_path(cr);
                cairo_arc(cr, PX(p->x[i]), PY(y[i]), 3.5, 0, 2 * M_PI);
                if (kind) {
                    cairo_set_source_rgb(cr, 1, 1, 1);
                    cairo_fill_preserve(cr);
                    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
                    cairo_set_line_width(cr, 1.5);
                    cairo_stroke(cr);
                } else {
                    cairo_fill(cr);
                }
            }
        }
    }
    /* Legend. */
    cairo_set_font_size(cr, 12);
    double ly = y0 + 50;
    for (int s = 0; s < p->n_series; s++, ly += 22) {
        const double *c = palette[(size_t)s % N_PALETTE];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_set_line_width(cr, 2.2);
        double lx = x0 + 10;
        cairo_move_to(cr, lx, ly);
        cairo_line_to(cr, lx + 30, ly);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        char t[256];
        snprintf(t, sizeof t, "%s certified", p->series[s].name);
        text_at(cr, t, lx + 38, ly, 0, 0.5);
        cairo_text_extents_t e;
        cairo_text_extents(cr, t, &e);
        lx += 38 + e.x_advance + 24;
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, lx, ly);
        cairo_line_to(cr, lx + 30, ly);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(t, sizeof t, "%s under PGD attack", p->series[s].name);
        text_at(cr, t, lx + 38, ly, 0, 0.5);
        if (p->series[s].partial) {
            cairo_text_extents(cr, t, &e);
            lx += 38 + e.x_advance + 16;
            snprintf(t, sizeof t, "PARTIAL: %s", p->series[s].partial);
            cairo_set_source_rgb(cr, WF_PLOT_PARTIAL_RGB);
            text_at(cr, t, lx, ly, 0, 0.5);
        }
    }
#undef PX
#undef PY
}

/* cairo stream writer into a wf_buf */
static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
    wf_buf *b = closure;
    wf_buf_put(b, (const char *)data, len);
    return b->failed ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

static cn_status render(const wf_plot *p, cairo_surface_t *sf, const char *path, int w, int h,
                        bool png, wf_buf *b, cn_err *err)
{
    cairo_t *cr = cairo_create(sf);
    draw(cr, p, w, h);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    if (cs == CAIRO_STATUS_SUCCESS && png)
        cs = cairo_surface_write_to_png_stream(sf, to_buf, b);
    cairo_surface_finish(sf);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_status(sf);
    cairo_surface_destroy(sf);
    if (cs != CAIRO_STATUS_SUCCESS)
        return cn_fail(err, cs == CAIRO_STATUS_NO_MEMORY ? CN_ENOMEM : CN_EINTERNAL,
                       "%s: cairo: %s", path, cairo_status_to_string(cs));
    return wf_write_buf(path, b, err);
}

cn_status wf_plot_write(const wf_plot *p, const char *png, const char *svg, int width,
                        int height, cn_err *err)
{
    CN_REQUIRE(width > 0 && height > 0 && p->n_x >= 1, "a non-empty plot");
    cn_status s = CN_OK;
    wf_buf b;
    if (png) {
        wf_buf_init(&b);
        cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
        s = render(p, sf, png, width, height, true, &b, err);
        wf_buf_clear(&b);
        if (s != CN_OK)
            return s;
    }
    if (svg) {
        wf_buf_init(&b);
        cairo_surface_t *sf = cairo_svg_surface_create_for_stream(to_buf, &b, width, height);
        s = render(p, sf, svg, width, height, false, &b, err);
        wf_buf_clear(&b);
    }
    return s;
}
