/* plot: learning curves from summary.csv, through cairo's SVG, PNG and PDF surfaces. */
#include "harness/plot.h"

#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/base/fsutil.h"
#include "harness/columns.h"

#define MAX_PANELS 16
#define MAX_LINES 16
#define MAX_POINTS 64

struct line {
    char learner[128];
    long step;                   /* its final step: the only one drawn */
    int n;
    double shots[MAX_POINTS], mean[MAX_POINTS], ci[MAX_POINTS];   /* shots: the x value */
    double at[MAX_POINTS];       /* a robustness point's shot count */
};

struct panel {
    char target[128], variant[256];
    char probe[128];             /* "": learning curves; else the probe's robustness curves */
    double at;                   /* robustness: the shot count drawn (the target's largest) */
    int n;
    struct line lines[MAX_LINES];
};

/* A cost per adapted episode (cost_summary.csv) of a target, learner and shot count. */
struct cost {
    char target[128], variant[256], learner[128];
    double shots, flops, joules;
    bool measured;               /* joules from RAPL */
};

#define MAX_COSTS 512

struct figure {
    const char *path;
    const char *metric;          /* accuracy, or mse when no row has accuracy */
    bool has_accuracy;
    int n;
    struct panel panels[MAX_PANELS];
    int n_names;                 /* every learner, in order of appearance: its colour */
    char names[MAX_LINES][128];
    int n_costs;                 /* the efficiency panels' x values */
    struct cost costs[MAX_COSTS];
    bool joules;                 /* x is joules per task (every cost measured), else FLOPs */
};

/* Okabe and Ito's palette, distinguishable by colour-blind readers. */
static const double palette[][3] = {
    {0.902, 0.624, 0.000}, {0.337, 0.706, 0.914}, {0.000, 0.620, 0.451}, {0.000, 0.447, 0.698},
    {0.835, 0.369, 0.000}, {0.800, 0.475, 0.655}, {0.941, 0.894, 0.259}, {0.000, 0.000, 0.000},
};
#define N_COLOURS (sizeof palette / sizeof palette[0])

static struct panel *panel_of(struct figure *f, const char *target, const char *variant,
                               const char *probe)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->panels[i].target, target) && !strcmp(f->panels[i].variant, variant) &&
            !strcmp(f->panels[i].probe, probe))
            return &f->panels[i];
    if (f->n == MAX_PANELS)
        return NULL;
    struct panel *p = &f->panels[f->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->target, sizeof p->target, "%s", target);
    snprintf(p->variant, sizeof p->variant, "%s", variant);
    snprintf(p->probe, sizeof p->probe, "%s", probe);
    return p;
}

/* csvin callback: the pooled rows of f->metric, clean or under a probe of
 * numeric param. */
static int add_row(void *ctx, const char *const *c, int n_fields, long record, struct err *e)
{
    struct figure *f = ctx;
    if (strcmp(c[SUM_METRIC], "accuracy") == 0)
        f->has_accuracy = true;
    char *end;
    const double param = c[SUM_PARAM][0] ? strtod(c[SUM_PARAM], &end) : NAN;
    if (strcmp(c[SUM_SEED], "all") != 0 || strcmp(c[SUM_METRIC], f->metric) != 0 ||
        !c[SUM_SHOTS][0] || !c[SUM_MEAN][0] || (c[SUM_PROBE][0] && (isnan(param) || *end)))
        return ERR_OK;
    struct panel *p = panel_of(f, c[SUM_TARGET], c[SUM_VARIANT], c[SUM_PROBE]);
    if (!p)
        return ERR_OK;   /* more panels than a figure holds: the first ones are drawn */
    struct line *l = NULL;
    for (int i = 0; i < p->n && !l; i++)
        if (!strcmp(p->lines[i].learner, c[SUM_LEARNER]))
            l = &p->lines[i];
    if (!l) {
        if (p->n == MAX_LINES)
            return ERR_OK;
        l = &p->lines[p->n++];
        memset(l, 0, sizeof *l);
        snprintf(l->learner, sizeof l->learner, "%s", c[SUM_LEARNER]);
        l->step = -2;
        bool known = false;
        for (int i = 0; i < f->n_names && !known; i++)
            known = !strcmp(f->names[i], l->learner);
        if (!known && f->n_names < MAX_LINES)
            snprintf(f->names[f->n_names++], sizeof f->names[0], "%s", l->learner);
    }
    long step = c[SUM_STEP][0] ? strtol(c[SUM_STEP], NULL, 10) : -1;
    if (step < l->step)
        return ERR_OK;
    if (step > l->step)   /* a later step: its points replace the earlier step's */
        l->step = step, l->n = 0;
    if (l->n == MAX_POINTS)
        return ERR_OK;
    l->at[l->n] = strtod(c[SUM_SHOTS], NULL);
    l->shots[l->n] = c[SUM_PROBE][0] ? param : l->at[l->n];
    l->mean[l->n] = strtod(c[SUM_MEAN], NULL);
    l->ci[l->n] = c[SUM_CI95][0] ? strtod(c[SUM_CI95], NULL) : 0;
    l->n++;
    return ERR_OK;
}

/* A robustness panel keeps its lines' points at the largest shot count,
 * with the clean value of the same learner and shot count at param 0. */
static void robustness_points(struct figure *f, struct panel *p)
{
    p->at = 0;
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->lines[i].n; k++)
            p->at = fmax(p->at, p->lines[i].at[k]);
    const struct panel *clean = NULL;
    for (int i = 0; i < f->n && !clean; i++)
        if (!f->panels[i].probe[0] && !strcmp(f->panels[i].target, p->target) &&
            !strcmp(f->panels[i].variant, p->variant))
            clean = &f->panels[i];
    for (int i = 0; i < p->n; i++) {
        struct line *l = &p->lines[i];
        int m = 0;
        for (int k = 0; k < l->n; k++)
            if (l->at[k] == p->at) {
                l->shots[m] = l->shots[k], l->mean[m] = l->mean[k], l->ci[m] = l->ci[k];
                l->at[m++] = p->at;
            }
        l->n = m;
        for (int j = 0; clean && j < clean->n && l->n < MAX_POINTS; j++) {
            const struct line *cl = &clean->lines[j];
            if (strcmp(cl->learner, l->learner) != 0)
                continue;
            for (int k = 0; k < cl->n; k++)
                if (cl->at[k] == p->at) {
                    l->shots[l->n] = 0, l->mean[l->n] = cl->mean[k], l->ci[l->n] = cl->ci[k];
                    l->at[l->n++] = p->at;
                }
        }
    }
}

/* csvin callback: cost_summary.csv's eval rows. */
static int add_cost(void *ctx, const char *const *c, int n_fields, long record, struct err *e)
{
    struct figure *f = ctx;
    if (strcmp(c[CS_KIND], "eval") != 0 || f->n_costs == MAX_COSTS || !c[CS_SHOTS][0])
        return ERR_OK;
    struct cost *k = &f->costs[f->n_costs++];
    snprintf(k->target, sizeof k->target, "%s", c[CS_TARGET]);
    snprintf(k->variant, sizeof k->variant, "%s", c[CS_VARIANT]);
    snprintf(k->learner, sizeof k->learner, "%s", c[CS_LEARNER]);
    k->shots = strtod(c[CS_SHOTS], NULL);
    k->flops = c[CS_FLOPS_PER_TASK][0] ? strtod(c[CS_FLOPS_PER_TASK], NULL) : NAN;
    k->joules = c[CS_JOULES_PER_TASK][0] ? strtod(c[CS_JOULES_PER_TASK], NULL) : NAN;
    k->measured = strcmp(c[CS_JOULES_METHOD], "rapl") == 0;
    return ERR_OK;
}

/* The cost per task of a learning curve's point, NaN when unknown. */
static double cost_of(const struct figure *f, const struct panel *p, const struct line *l,
                      double shots)
{
    for (int i = 0; i < f->n_costs; i++) {
        const struct cost *k = &f->costs[i];
        if (k->shots == shots && !strcmp(k->target, p->target) && !strcmp(k->variant, p->variant) &&
            !strcmp(k->learner, l->learner)) {
            double v = f->joules ? k->joules : k->flops;
            return v > 0 ? v : NAN;
        }
    }
    return NAN;
}

/* Points in increasing x (rows come in order of appearance). */
static void sort_line(struct line *l)
{
    for (int i = 1; i < l->n; i++)
        for (int j = i; j > 0 && l->shots[j - 1] > l->shots[j]; j--) {
            double t;
            t = l->shots[j], l->shots[j] = l->shots[j - 1], l->shots[j - 1] = t;
            t = l->mean[j], l->mean[j] = l->mean[j - 1], l->mean[j - 1] = t;
            t = l->ci[j], l->ci[j] = l->ci[j - 1], l->ci[j - 1] = t;
        }
}

/* ---- drawing ---- */

/* A learner's colour: the same in every panel and in the legend. */
static void set_colour(cairo_t *cr, const struct figure *f, const char *learner, double alpha)
{
    const double *c = palette[N_COLOURS - 1];
    for (int i = 0; i < f->n_names; i++)
        if (!strcmp(f->names[i], learner)) {
            c = palette[i % N_COLOURS];
            break;
        }
    cairo_set_source_rgba(cr, c[0], c[1], c[2], alpha);
}

enum { PANEL_W = 460, PANEL_H = 340, LEFT = 64, RIGHT = 16, TOP = 36, BOTTOM = 52, LEGEND_W = 170 };

struct frame {
    double x0, y0, w, h;         /* the plotting area */
    double lx0, lx1, y_lo, y_hi; /* data ranges: x (log2 shots, or a probe's param), metric */
    bool linear;                 /* a robustness panel: x is the param itself */
};

/* Draw inside fr's plotting area only, until cairo_restore. */
static void clip_to(cairo_t *cr, const struct frame *fr)
{
    cairo_save(cr);
    cairo_new_path(cr);
    cairo_rectangle(cr, fr->x0, fr->y0, fr->w, fr->h);
    cairo_clip(cr);
}

static double xval(const struct frame *fr, double x)
{
    return fr->linear ? x : log2(x);
}

static double px(const struct frame *fr, double x)
{
    double span = fr->lx1 > fr->lx0 ? fr->lx1 - fr->lx0 : 1;
    return fr->x0 + fr->w * (xval(fr, x) - fr->lx0) / span;
}

static double py(const struct frame *fr, double v)
{
    return fr->y0 + fr->h * (1 - (v - fr->y_lo) / (fr->y_hi - fr->y_lo));
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double align)
{
    cairo_text_extents_t ext;
    cairo_text_extents(cr, s, &ext);
    cairo_move_to(cr, x - align * ext.width - ext.x_bearing, y);
    cairo_show_text(cr, s);
}

/* The y range of panel p's means with their intervals, padded: within
 * [0, 1] for accuracy; for MSE ≥ 0, and stopping at 4× the upper quartile
 * of the means, so that one diverging learner does not flatten the others
 * (the rest is clipped at the frame). */
static void y_limits(const struct figure *f, const struct panel *p, struct frame *fr)
{
    double means[MAX_LINES * MAX_POINTS];
    int m = 0;
    fr->y_lo = INFINITY, fr->y_hi = -INFINITY;
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->lines[i].n; k++) {
            const struct line *l = &p->lines[i];
            fr->y_lo = fmin(fr->y_lo, l->mean[k] - l->ci[k]);
            fr->y_hi = fmax(fr->y_hi, l->mean[k] + l->ci[k]);
            if (isfinite(l->mean[k]))
                means[m++] = l->mean[k];
        }
    double pad = fr->y_hi > fr->y_lo ? 0.08 * (fr->y_hi - fr->y_lo) : 0.05;
    fr->y_lo -= pad, fr->y_hi += pad;
    if (f->has_accuracy) {
        fr->y_lo = fmax(fr->y_lo, 0), fr->y_hi = fmin(fr->y_hi, 1);
        return;
    }
    for (int i = 1; i < m; i++)
        for (int j = i; j > 0 && means[j - 1] > means[j]; j--) {
            double t = means[j];
            means[j] = means[j - 1], means[j - 1] = t;
        }
    if (m > 0)
        fr->y_hi = fmin(fr->y_hi, 4 * means[(3 * (m - 1)) / 4]);
    fr->y_lo = fmax(fr->y_lo, 0);
    if (!(fr->y_hi > fr->y_lo))
        fr->y_hi = fr->y_lo + 1;
}

/* A panel's frame: the y grid and its ticks, the border, the axis labels
 * (y: the metric) and the title. The x ticks are the panel's own. */
static void draw_axes(cairo_t *cr, const struct figure *f, const struct frame *fr, double ox,
                      double oy, const char *xlabel, const char *title)
{
    char buf[160];
    cairo_set_line_width(cr, 1);
    cairo_set_font_size(cr, 11);
    for (int t = 0; t <= 4; t++) {
        double v = fr->y_lo + (fr->y_hi - fr->y_lo) * t / 4;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_new_path(cr);
        cairo_move_to(cr, fr->x0, py(fr, v)), cairo_line_to(cr, fr->x0 + fr->w, py(fr, v));
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(buf, sizeof buf, "%.3g", v);
        text_at(cr, fr->x0 - 6, py(fr, v) + 4, buf, 1);
    }
    cairo_new_path(cr);
    cairo_rectangle(cr, fr->x0, fr->y0, fr->w, fr->h);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 12);
    text_at(cr, fr->x0 + fr->w / 2, fr->y0 + fr->h + 38, xlabel, 0.5);
    cairo_save(cr);
    cairo_translate(cr, ox + 18, fr->y0 + fr->h / 2);
    cairo_rotate(cr, -M_PI / 2);
    snprintf(buf, sizeof buf, "%s (mean, 95%% CI)", f->metric);
    text_at(cr, 0, 0, buf, 0.5);
    cairo_restore(cr);
    cairo_set_font_size(cr, 13);
    text_at(cr, fr->x0 + fr->w / 2, oy + 22, title, 0.5);
}

static void draw_panel(cairo_t *cr, const struct figure *f, const struct panel *p, double ox,
                       double oy)
{
    struct frame fr = {ox + LEFT, oy + TOP, PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM,
                       INFINITY, -INFINITY, INFINITY, -INFINITY, p->probe[0] != '\0'};
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->lines[i].n; k++) {
            fr.lx0 = fmin(fr.lx0, xval(&fr, p->lines[i].shots[k]));
            fr.lx1 = fmax(fr.lx1, xval(&fr, p->lines[i].shots[k]));
        }
    if (fr.lx1 == fr.lx0)
        fr.lx0 -= 0.5, fr.lx1 += 0.5;
    y_limits(f, p, &fr);
    char buf[64], title[600], robust[200] = "";
    cairo_set_font_size(cr, 11);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    for (int i = 0; i < p->n; i++)   /* an x tick at every evaluated shot count */
        for (int k = 0; k < p->lines[i].n; k++) {
            snprintf(buf, sizeof buf, "%g", p->lines[i].shots[k]);
            text_at(cr, px(&fr, p->lines[i].shots[k]), fr.y0 + fr.h + 16, buf, 0.5);
        }
    if (p->probe[0])
        snprintf(robust, sizeof robust, ", under %s at %g shots", p->probe, p->at);
    snprintf(title, sizeof title, "%s%s%s%s", p->target,
             strcmp(p->variant, "base") ? " — " : "", strcmp(p->variant, "base") ? p->variant : "",
             robust);
    draw_axes(cr, f, &fr, ox, oy,
              fr.linear ? "the probe's size (param: ε, σ or pixels, in input units after scale)"
                        : "shots (examples per class; points for regression), log2 scale",
              title);
    /* bands, then lines and markers, one colour per learner, inside the frame */
    clip_to(cr, &fr);
    for (int i = 0; i < p->n; i++) {
        const struct line *l = &p->lines[i];
        set_colour(cr, f, l->learner, 0.18);
        cairo_new_path(cr);
        for (int k = 0; k < l->n; k++)
            cairo_line_to(cr, px(&fr, l->shots[k]), py(&fr, l->mean[k] + l->ci[k]));
        for (int k = l->n - 1; k >= 0; k--)
            cairo_line_to(cr, px(&fr, l->shots[k]), py(&fr, l->mean[k] - l->ci[k]));
        cairo_close_path(cr);
        cairo_fill(cr);
    }
    for (int i = 0; i < p->n; i++) {
        const struct line *l = &p->lines[i];
        set_colour(cr, f, l->learner, 1);
        cairo_set_line_width(cr, 2);
        cairo_new_path(cr);
        for (int k = 0; k < l->n; k++)
            cairo_line_to(cr, px(&fr, l->shots[k]), py(&fr, l->mean[k]));
        cairo_stroke(cr);
        for (int k = 0; k < l->n; k++) {
            cairo_new_sub_path(cr);
            cairo_arc(cr, px(&fr, l->shots[k]), py(&fr, l->mean[k]), 3.5, 0, 2 * M_PI);
            cairo_fill(cr);
        }
    }
    cairo_restore(cr);
}

/* The efficiency scatter of a learning-curve panel: each learner's points
 * (one per shot count, its mean with the 95% CI as a bar) against the cost
 * of an adapted episode on a log10 axis — joules when every unit's energy
 * was measured (RAPL), else FLOPs — joined in order of shots by a thin
 * line. Returns whether anything was drawn. */
static bool draw_efficiency(cairo_t *cr, const struct figure *f, const struct panel *p, double ox,
                            double oy)
{
    struct frame fr = {ox + LEFT, oy + TOP, PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM,
                       INFINITY, -INFINITY, INFINITY, -INFINITY, true};
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->lines[i].n; k++) {
            const struct line *l = &p->lines[i];
            double x = cost_of(f, p, l, l->shots[k]);
            if (isfinite(x) && isfinite(l->mean[k]))
                fr.lx0 = fmin(fr.lx0, log10(x)), fr.lx1 = fmax(fr.lx1, log10(x));
        }
    if (!isfinite(fr.lx0))
        return false;
    fr.lx0 = floor(fr.lx0 - 0.1), fr.lx1 = ceil(fr.lx1 + 0.1);
    y_limits(f, p, &fr);
    char buf[160];
    cairo_set_font_size(cr, 11);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    for (double d = fr.lx0; d <= fr.lx1 + 1e-9; d += 1) {   /* a tick per power of ten */
        snprintf(buf, sizeof buf, "1e%g", d);
        text_at(cr, px(&fr, d), fr.y0 + fr.h + 16, buf, 0.5);
    }
    snprintf(buf, sizeof buf, "%s: %s against cost", p->target, f->metric);
    draw_axes(cr, f, &fr, ox, oy,
              f->joules ? "energy per adapted episode (joules, measured by RAPL), log10 scale"
                        : "FLOPs per adapted episode (energy not measured), log10 scale", buf);
    clip_to(cr, &fr);
    for (int i = 0; i < p->n; i++) {
        const struct line *l = &p->lines[i];
        set_colour(cr, f, l->learner, 1);
        cairo_set_line_width(cr, 1.5);
        cairo_new_path(cr);
        for (int k = 0; k < l->n; k++) {
            double x = cost_of(f, p, l, l->shots[k]);
            if (isfinite(x))
                cairo_line_to(cr, px(&fr, log10(x)), py(&fr, l->mean[k]));
        }
        cairo_stroke(cr);
        cairo_set_line_width(cr, 1);
        for (int k = 0; k < l->n; k++) {
            double x = cost_of(f, p, l, l->shots[k]);
            if (!isfinite(x))
                continue;
            cairo_new_path(cr);   /* the CI as a bar, then the point */
            cairo_move_to(cr, px(&fr, log10(x)), py(&fr, l->mean[k] - l->ci[k]));
            cairo_line_to(cr, px(&fr, log10(x)), py(&fr, l->mean[k] + l->ci[k]));
            cairo_stroke(cr);
            cairo_new_sub_path(cr);
            cairo_rectangle(cr, px(&fr, log10(x)) - 3.5, py(&fr, l->mean[k]) - 3.5, 7, 7);
            cairo_fill(cr);
        }
    }
    cairo_restore(cr);
    return true;
}

/* The legend: a short line in each learner's colour and its name. */
static void draw_legend(cairo_t *cr, const struct figure *f, double ox, double oy)
{
    cairo_set_font_size(cr, 12);
    for (int i = 0; i < f->n_names; i++) {
        const double *c = palette[i % N_COLOURS];
        double y = oy + TOP + 12 + 20 * i;
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_set_line_width(cr, 2);
        cairo_new_path(cr);
        cairo_move_to(cr, ox + 8, y - 4), cairo_line_to(cr, ox + 32, y - 4);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, ox + 40, y, f->names[i], 0);
    }
}

static const char *extension(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : "";
}

int plot_curves(const char *summary_path, const char *out_path, struct err *e)
{
    struct figure *f = calloc(1, sizeof *f);
    if (!f)
        return err_set(e, ERR_NOMEM, "out of memory for a figure");
    const char *ext = extension(out_path);
    int rc = ERR_OK;
    if (strcmp(ext, "svg") && strcmp(ext, "png") && strcmp(ext, "pdf")) {
        rc = err_set(e, ERR_USAGE, "%s: a figure is .svg, .png or .pdf", out_path);
        goto done;
    }
    f->path = summary_path, f->metric = "accuracy";
    if ((rc = columns_read(summary_path, &columns_summary, 0, add_row, f, e)))
        goto done;
    if (!f->has_accuracy) {   /* a regression run: read again for mse */
        memset(f, 0, sizeof *f);
        f->path = summary_path, f->metric = "mse";
        if ((rc = columns_read(summary_path, &columns_summary, 0, add_row, f, e)))
            goto done;
    }
    if (f->n == 0) {
        rc = err_set(e, ERR_USAGE, "%s: no pooled rows of %s over shot counts to draw",
                     summary_path, f->metric);
        goto done;
    }
    for (int i = 0; i < f->n; i++)
        if (f->panels[i].probe[0])
            robustness_points(f, &f->panels[i]);
    for (int i = 0; i < f->n; i++)
        for (int k = 0; k < f->panels[i].n; k++)
            sort_line(&f->panels[i].lines[k]);
    /* the efficiency scatters' costs: cost_summary.csv beside summary.csv
     * (none, and no scatter, when it is not there) */
    char costs[4200];
    snprintf(costs, sizeof costs, "%s", summary_path);
    char *slash = strrchr(costs, '/');
    snprintf(slash ? slash + 1 : costs, sizeof costs - (size_t)(slash ? slash + 1 - costs : 0),
             "cost_summary.csv");
    if (access(costs, F_OK) == 0 &&
        (rc = columns_read(costs, &columns_cost_summary, 0, add_cost, f, e)))
        goto done;
    f->joules = f->n_costs > 0;
    for (int i = 0; i < f->n_costs; i++)
        f->joules &= f->costs[i].measured;
    int scatters = 0;
    for (int i = 0; f->n_costs && i < f->n; i++)
        scatters += !f->panels[i].probe[0];
    const double width = PANEL_W * (f->n + scatters) + LEGEND_W, height = PANEL_H;
    char tmp[4400], host[FSUTIL_HOST_MAX];
    fsutil_host(host, sizeof host);   /* the temporaries' naming: fsutil_clean_stale finds it */
    snprintf(tmp, sizeof tmp, "%s.tmp.%s.%ld.0", out_path, host, (long)getpid());
    cairo_surface_t *s = !strcmp(ext, "svg")   ? cairo_svg_surface_create(tmp, width, height)
                         : !strcmp(ext, "pdf") ? cairo_pdf_surface_create(tmp, width, height)
                                               : cairo_image_surface_create(CAIRO_FORMAT_RGB24,
                                                                            (int)width, (int)height);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    int drawn = 0;
    for (int i = 0; i < f->n; i++)
        draw_panel(cr, f, &f->panels[i], PANEL_W * drawn++, 0);
    for (int i = 0; f->n_costs && i < f->n; i++)
        if (!f->panels[i].probe[0])
            draw_efficiency(cr, f, &f->panels[i], PANEL_W * drawn++, 0);
    draw_legend(cr, f, PANEL_W * (f->n + scatters), 0);
    cairo_destroy(cr);
    cairo_status_t st = cairo_surface_status(s);
    if (st == CAIRO_STATUS_SUCCESS && !strcmp(ext, "png"))
        st = cairo_surface_write_to_png(s, tmp);
    cairo_surface_finish(s);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    /* cairo and fontconfig keep font caches for the process's life; a
     * figure is drawn at the end of a run, so release them (leak checkers
     * would otherwise report them) */
    cairo_debug_reset_static_data();
    FcFini();
    if (st != CAIRO_STATUS_SUCCESS) {
        unlink(tmp);
        rc = err_set(e, ERR_IO, "%s: cannot draw the figure: %s", out_path,
                     cairo_status_to_string(st));
    } else if (rename(tmp, out_path) != 0) {
        rc = err_set(e, ERR_IO, "%s: cannot write the figure: %s", out_path, strerror(errno));
        unlink(tmp);
    }
done:
    free(f);
    return rc;
}
