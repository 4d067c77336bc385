/* plot.c: PNG figures on PLplot's pngcairo driver (plot.h).
 *
 * Why: the preprocessing and forecasting stages leave figures beside their CSV files so that a
 * person can check the cleaning and the fits at a glance. Each call makes its own PLplot stream
 * (plmkstrm) and ends only that stream (plend1), so any number of plots per process work and a
 * caller's own stream is left current afterwards. PLplot calls exit() when it cannot open its
 * output file, and asks on stdin when the driver is missing, so both are checked before plinit.
 */
#include "hyscale/plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <plplot.h>

enum { HS_PLOT_WIDTH = 1400, HS_PLOT_HEIGHT = 900 };

/* Text heights as multiples of PLplot's default, which is large at this page size. */
#define HS_TEXT_TICK 0.5
#define HS_TEXT_LABEL 0.55
#define HS_TEXT_PANEL 0.6
#define HS_TEXT_PAGE 0.75
#define HS_TEXT_LEGEND 0.55 /* pllegend scales the default height, not the current one */

/* Room above the data for a legend, as a fraction of the data's span. */
#define HS_HEADROOM 0.15

/* Colour map 0: index 0 is the background, hs_color c is index 1 + c, then two helpers. */
enum { HS_COL_BG = 0, HS_COL_FIRST = 1, HS_COL_BAND = 8, HS_COL_GRID = 9, HS_COL_N = 10 };

/* Above this many points the series panel is min/max-decimated per column: the picture is the
 * same at 1400 px wide and a 40k-point series still renders in well under a second. */
enum { HS_SERIES_MAX_POINTS = 6000 };

typedef struct hs_range {
    double lo, hi;
} hs_range;

typedef struct hs_plot_session {
    PLINT prev; /* the caller's current stream, restored at the end */
    PLINT strm; /* ours */
} hs_plot_session;

static PLINT hs_plot_col(hs_color c)
{
    return HS_COL_FIRST + (PLINT)c;
}

static int hs_plot_have_pngcairo(void)
{
    enum { CAP = 256 };
    const char *menu[CAP], *names[CAP];
    const char **pm = menu, **pn = names;
    int n = CAP;
    plgDevs(&pm, &pn, &n);
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], "pngcairo") == 0)
            return 1;
    return 0;
}

/* Opens a fresh stream writing a PNG to path. On failure nothing is left open. */
static hs_status hs_plot_begin(hs_plot_session *ps, const char *path)
{
    static const PLINT r[HS_COL_N] = {255, 0, 31, 214, 44, 148, 255, 127, 173, 220};
    static const PLINT g[HS_COL_N] = {255, 0, 119, 39, 160, 103, 127, 127, 216, 220};
    static const PLINT b[HS_COL_N] = {255, 0, 180, 40, 44, 189, 14, 127, 240, 220};

    HS_ASSERT(path);
    FILE *f = fopen(path, "wb");
    if (!f)
        return hs_error_set(HS_ERR_IO, "%s: cannot write plot: %s", path, strerror(errno));
    fclose(f);
    if (!hs_plot_have_pngcairo()) {
        remove(path);
        return hs_error_set(HS_ERR_IO, "%s: PLplot's pngcairo driver is not installed (plplot-driver-cairo)",
                            path);
    }

    plgstrm(&ps->prev);
    plmkstrm(&ps->strm);
    if (ps->strm < 0) {
        plsstrm(ps->prev);
        remove(path);
        return hs_error_set(HS_ERR_INTERNAL, "%s: PLplot has no free stream", path);
    }
    plsdev("pngcairo");
    /* PLplot reads a file name of "-" as standard output. */
    plsfnam(strcmp(path, "-") == 0 ? "./-" : path);
    plspage(0, 0, HS_PLOT_WIDTH, HS_PLOT_HEIGHT, 0, 0);
    plscmap0(r, g, b, HS_COL_N);
    plscolbg(255, 255, 255);
    plinit();
    pladv(0);
    return HS_OK;
}

/* Ends our stream (which writes the PNG), restores the caller's and checks the file. */
static hs_status hs_plot_end(hs_plot_session *ps, const char *path)
{
    plend1();
    plsstrm(ps->prev);
    struct stat sb;
    if (stat(path, &sb) != 0 || sb.st_size == 0)
        return hs_error_set(HS_ERR_IO, "%s: PLplot wrote no image", path);
    /* PLplot and cairo ignore write errors (a full disk, a file size limit): a PNG is complete
     * only when it ends with its IEND chunk (length 0, "IEND", CRC AE 42 60 82). */
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    unsigned char tail[12];
    FILE *f = fopen(path, "rb");
    int whole = f && fseek(f, -12, SEEK_END) == 0 && fread(tail, 1, 12, f) == 12 && !memcmp(tail, iend, 12);
    if (f)
        fclose(f);
    if (!whole)
        return hs_error_set(HS_ERR_IO, "%s: write failed: the PNG is incomplete (%lld bytes; disk full or file size "
                            "limit?)", path, (long long)sb.st_size);
    return HS_OK;
}

static hs_range hs_range_empty(void)
{
    hs_range r = {INFINITY, -INFINITY};
    return r;
}

/* Widens r by the finite y[i] whose x[i] lies in [xlo, xhi] (x may be NULL: every point). */
static void hs_range_add(hs_range *r, const double *x, const double *y, int64_t n, double xlo, double xhi)
{
    if (!y)
        return;
    for (int64_t i = 0; i < n; i++) {
        if (x && !(x[i] >= xlo && x[i] <= xhi))
            continue;
        if (isfinite(y[i])) {
            r->lo = fmin(r->lo, y[i]);
            r->hi = fmax(r->hi, y[i]);
        }
    }
}

/* A range for an axis: padded by 5% (and `top` more above); kept at 0 when the data are
 * non-negative; [0, 1] when empty. */
static hs_range hs_range_axis(hs_range r, double top)
{
    if (!(r.lo <= r.hi))
        return (hs_range){0, 1};
    if (r.hi == r.lo) {
        double d = r.lo == 0 ? 1 : 0.5 * fabs(r.lo);
        return (hs_range){r.lo - d, r.hi + d};
    }
    double pad = 0.05 * (r.hi - r.lo);
    hs_range o = {r.lo - pad, r.hi + pad + top * (r.hi - r.lo)};
    if (r.lo >= 0 && o.lo < 0)
        o.lo = 0;
    return o;
}

/* Draws the runs of points with finite x and y as lines; a run of one point as a dot. */
static void hs_plot_polyline(const double *x, const double *y, int64_t n)
{
    int64_t i = 0;
    while (i < n) {
        while (i < n && !(isfinite(x[i]) && isfinite(y[i])))
            i++;
        int64_t j = i;
        while (j < n && isfinite(x[j]) && isfinite(y[j]))
            j++;
        if (j - i == 1)
            plstring(1, x + i, y + i, "•");
        else if (j - i > 1)
            plline((PLINT)(j - i), x + i, y + i);
        i = j;
    }
}

/* Fills the band between lo and hi over the runs where all three are finite. poly holds 2n. */
static void hs_plot_band(const double *x, const double *lo, const double *hi, int64_t n, double *px, double *py)
{
    int64_t i = 0;
    while (i < n) {
        while (i < n && !(isfinite(x[i]) && isfinite(lo[i]) && isfinite(hi[i])))
            i++;
        int64_t j = i;
        while (j < n && isfinite(x[j]) && isfinite(lo[j]) && isfinite(hi[j]))
            j++;
        int64_t m = j - i;
        if (m > 1) {
            for (int64_t k = 0; k < m; k++) {
                px[k] = x[i + k];
                py[k] = hi[i + k];
                px[2 * m - 1 - k] = x[i + k];
                py[2 * m - 1 - k] = lo[i + k];
            }
            plfill((PLINT)(2 * m), px, py);
        }
        i = j;
    }
}

/* Sets the viewport and window, draws a light grid, the black frame and the labels. */
static void hs_plot_panel(double vx0, double vx1, double vy0, double vy1, hs_range xr, hs_range yr, double xtick,
                          PLINT nxsub, const char *xlabel, const char *ylabel, const char *title)
{
    plvpor(vx0, vx1, vy0, vy1);
    plwind(xr.lo, xr.hi, yr.lo, yr.hi);
    plschr(0, HS_TEXT_TICK);
    plwidth(1);
    plcol0(HS_COL_GRID);
    plbox("g", xtick, nxsub, "g", 0, 0);
    plcol0(hs_plot_col(HS_COLOR_BLACK));
    plsyax(7, 0);
    plbox("bcnst", xtick, nxsub, "bcnstv", 0, 0);
    plschr(0, HS_TEXT_LABEL);
    pllab(xlabel, ylabel, "");
    plschr(0, HS_TEXT_PANEL);
    plmtex("t", 0.8, 0.5, 0.5, title);
    plschr(0, HS_TEXT_TICK);
}

/* The figure's title, centred above every panel. */
static void hs_plot_page_title(const char *title)
{
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plcol0(hs_plot_col(HS_COLOR_BLACK));
    plschr(0, HS_TEXT_PAGE);
    plptex(0.5, 0.962, 1, 0, 0.5, title);
    plschr(0, HS_TEXT_TICK);
}

/* A one-row legend inside the current viewport's top-right corner, over the headroom that
 * hs_range_axis leaves. kinds[i] is PL_LEGEND_LINE, PL_LEGEND_SYMBOL or PL_LEGEND_COLOR_BOX;
 * n <= 8. */
static void hs_plot_legend_grid(int n, int rows, const PLINT *kinds, const PLINT *colors, const char *const *text);

static void hs_plot_legend(int n, const PLINT *kinds, const PLINT *colors, const char *const *text)
{
    hs_plot_legend_grid(n, 1, kinds, colors, text);
}

/* As hs_plot_legend, in `rows` rows (1: one row of n entries; n: one column). */
static void hs_plot_legend_grid(int n, int rows, const PLINT *kinds, const PLINT *colors, const char *const *text)
{
    enum { MAXN = 12 };
    PLINT text_colors[MAXN], styles[MAXN], patterns[MAXN], numbers[MAXN];
    PLFLT widths[MAXN], scales[MAXN], box_widths[MAXN];
    const char *symbols[MAXN];
    HS_ASSERT(n > 0 && n <= MAXN);
    for (int i = 0; i < n; i++) {
        text_colors[i] = hs_plot_col(HS_COLOR_BLACK);
        styles[i] = 1;
        patterns[i] = 0;
        numbers[i] = 3;
        widths[i] = 2;
        scales[i] = 1;
        box_widths[i] = 1;
        symbols[i] = "•";
    }
    PLFLT lw, lh;
    plschr(0, HS_TEXT_TICK);
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE, 0.01, 0.02, 0.04, HS_COL_BG,
             hs_plot_col(HS_COLOR_BLACK), 1, rows, (n + rows - 1) / rows, n, kinds, 0.8, HS_TEXT_LEGEND, 2.0, 0.0, text_colors, text, colors,
             patterns, scales, box_widths, colors, styles, widths, colors, scales, numbers, symbols);
}

/* Writes "YYYY-MM-DD HH:MM" (UTC) into buf (>= 32 bytes). */
static void hs_plot_format_time(int64_t unix_seconds, char *buf, size_t cap)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buf, cap, "%Y-%m-%d %H:%M", &tm);
    else
        snprintf(buf, cap, "%lld s", (long long)unix_seconds);
}

/* Copies y (n, step dx from x0) into (ox, oy), keeping each of cap/2 columns' minimum and maximum
 * in time order so spikes survive; a column with no finite value becomes NaN (a break). Returns
 * the number of points written (<= cap). */
static int64_t hs_plot_decimate(const float *y, int64_t n, double x0, double dx, int64_t cap, double *ox, double *oy)
{
    if (n <= cap) {
        for (int64_t i = 0; i < n; i++) {
            ox[i] = x0 + dx * (double)i;
            oy[i] = y[i];
        }
        return n;
    }
    int64_t cols = cap / 2, m = 0;
    for (int64_t c = 0; c < cols; c++) {
        int64_t a = n * c / cols, e = n * (c + 1) / cols, imin = -1, imax = -1;
        for (int64_t i = a; i < e; i++) {
            if (!isfinite(y[i]))
                continue;
            if (imin < 0 || y[i] < y[imin])
                imin = i;
            if (imax < 0 || y[i] > y[imax])
                imax = i;
        }
        if (imin < 0) {
            ox[m] = x0 + dx * (double)a;
            oy[m++] = NAN;
            continue;
        }
        int64_t first = imin < imax ? imin : imax, second = imin < imax ? imax : imin;
        ox[m] = x0 + dx * (double)first;
        oy[m++] = y[first];
        if (second != first) {
            ox[m] = x0 + dx * (double)second;
            oy[m++] = y[second];
        }
    }
    return m;
}

hs_status hs_plot_series_png(const char *path, const hs_series *s, const hs_series_profiles *prof, const char *title)
{
    enum { DAY = 86400, WEEK = 7 * 86400 };
    HS_ASSERT(path && s && prof && prof->daily.period == DAY && prof->weekly.period == WEEK);
    if (s->n <= 0)
        return hs_error_set(HS_ERR_INPUT, "%s: cannot plot an empty series", path);
    HS_ASSERT(s->invocations && s->clipped && s->step_seconds > 0);

    const int64_t n = s->n, step = s->step_seconds;
    const int64_t cap = n < HS_SERIES_MAX_POINTS ? n : HS_SERIES_MAX_POINTS;
    const int64_t nbd = prof->daily.nb, nbw = prof->weekly.nb, wfilled = prof->weekly.filled;
    const double *dy = prof->daily.mean, *wy = prof->weekly.mean;
    int64_t nspike = 0;
    for (int64_t i = 0; i < n; i++)
        if (s->invocations[i] > s->clipped[i])
            nspike++;

    double *rx = malloc((size_t)cap * sizeof *rx), *ry = malloc((size_t)cap * sizeof *ry);
    double *cx = malloc((size_t)cap * sizeof *cx), *cy = malloc((size_t)cap * sizeof *cy);
    double *sx = malloc((size_t)(nspike ? nspike : 1) * sizeof *sx);
    double *sy = malloc((size_t)(nspike ? nspike : 1) * sizeof *sy);
    double *dx = malloc((size_t)nbd * sizeof *dx), *wx = malloc((size_t)nbw * sizeof *wx);
    hs_status st = HS_OK;
    if (!rx || !ry || !cx || !cy || !sx || !sy || !dx || !wx) {
        st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory for a plot of %lld points", path, (long long)n);
        goto done;
    }

    const double dday = (double)step / DAY;
    const int64_t nr = hs_plot_decimate(s->invocations, n, 0, dday, cap, rx, ry);
    const int64_t nc = hs_plot_decimate(s->clipped, n, 0, dday, cap, cx, cy);
    nspike = 0;
    for (int64_t i = 0; i < n; i++)
        if (s->invocations[i] > s->clipped[i]) {
            sx[nspike] = dday * (double)i;
            sy[nspike++] = s->invocations[i];
        }
    for (int64_t b = 0; b < nbd; b++)
        dx[b] = 24.0 * (double)b / (double)nbd;
    for (int64_t b = 0; b < nbw; b++)
        wx[b] = 7.0 * (double)b / (double)nbw;

    char buf[512], when[64], ylabel[96], dtitle[160], wtitle[160], slot[48];
    const double span_days = (double)n * dday;
    hs_plot_format_time(s->start_unix, when, sizeof when);
    if (step == 60)
        snprintf(ylabel, sizeof ylabel, "invocations per minute");
    else
        snprintf(ylabel, sizeof ylabel, "invocations per %lld s", (long long)step);
    if (nbd == DAY / 60)
        snprintf(slot, sizeof slot, "minute");
    else
        snprintf(slot, sizeof slot, "%lld-s slot", (long long)(DAY / nbd));
    if (n * step >= DAY)
        snprintf(dtitle, sizeof dtitle, "mean daily profile (clipped, by %s of day)", slot);
    else
        snprintf(dtitle, sizeof dtitle, "mean daily profile (by %s): only %.1f hours of data, partial day", slot,
                 24 * span_days);
    if (nbw == WEEK / 3600)
        snprintf(slot, sizeof slot, "hour");
    else
        snprintf(slot, sizeof slot, "%lld-s slot", (long long)(WEEK / nbw));
    if (n * step >= WEEK && wfilled == nbw)
        snprintf(wtitle, sizeof wtitle, "mean weekly profile (clipped, by %s of week)", slot);
    else
        snprintf(wtitle, sizeof wtitle, "mean weekly profile (by %s): only %.1f days of data, partial week", slot,
                 span_days);

    hs_plot_session ps;
    st = hs_plot_begin(&ps, path);
    if (st)
        goto done;

    snprintf(buf, sizeof buf, "%s: %lld points every %lld s from %s UTC (%.1f days)", title ? title : "series",
             (long long)n, (long long)step, when, span_days);
    hs_plot_page_title(buf);

    hs_range yr = hs_range_empty();
    hs_range_add(&yr, NULL, ry, nr, 0, 0);
    hs_range_add(&yr, NULL, cy, nc, 0, 0);
    const hs_range xr = {0, span_days};
    const int daily_ticks = span_days >= 2 && span_days <= 21;
    snprintf(buf, sizeof buf, "invocations: raw and spike-clipped (%lld of %lld points clipped)",
             (long long)nspike, (long long)n);
    hs_plot_panel(0.07, 0.97, 0.57, 0.90, xr, hs_range_axis(yr, HS_HEADROOM), daily_ticks ? 1.0 : 0.0,
                  daily_ticks ? 4 : 0, "days since start", ylabel, buf);
    plwidth(1.0);
    plcol0(hs_plot_col(HS_COLOR_GREY));
    hs_plot_polyline(rx, ry, nr);
    plcol0(hs_plot_col(HS_COLOR_BLUE));
    hs_plot_polyline(cx, cy, nc);
    plcol0(hs_plot_col(HS_COLOR_RED));
    if (nspike)
        plstring((PLINT)nspike, sx, sy, "•");
    {
        const PLINT kinds[3] = {PL_LEGEND_LINE, PL_LEGEND_LINE, PL_LEGEND_SYMBOL};
        const PLINT colors[3] = {hs_plot_col(HS_COLOR_GREY), hs_plot_col(HS_COLOR_BLUE), hs_plot_col(HS_COLOR_RED)};
        const char *text[3] = {"raw", "clipped", "clipped points (raw value)"};
        hs_plot_legend(3, kinds, colors, text);
    }

    yr = hs_range_empty();
    hs_range_add(&yr, NULL, dy, nbd, 0, 0);
    hs_plot_panel(0.07, 0.48, 0.08, 0.43, (hs_range){0, 24}, hs_range_axis(yr, 0), 3, 3, "hour of day (UTC)", ylabel,
                  dtitle);
    plwidth(1.5);
    plcol0(hs_plot_col(HS_COLOR_BLUE));
    hs_plot_polyline(dx, dy, nbd);

    yr = hs_range_empty();
    hs_range_add(&yr, NULL, wy, nbw, 0, 0);
    hs_plot_panel(0.56, 0.97, 0.08, 0.43, (hs_range){0, 7}, hs_range_axis(yr, 0), 1, 4,
                  "days since Monday 00:00 UTC", ylabel, wtitle);
    plwidth(1.5);
    plcol0(hs_plot_col(HS_COLOR_PURPLE));
    hs_plot_polyline(wx, wy, nbw);

    st = hs_plot_end(&ps, path);
done:
    free(rx);
    free(ry);
    free(cx);
    free(cy);
    free(sx);
    free(sy);
    free(dx);
    free(wx);
    return st;
}

/* Draws one panel of lines in the viewport [vy0, vy1] (full width), with its legend. */
static void hs_plot_lines_panel(double vy0, double vy1, const char *title, const char *xlabel, const char *ylabel,
                                const hs_plot_line *lines, int nlines)
{
    enum { MAXLEG = 8 };
    HS_ASSERT((lines || nlines == 0) && nlines >= 0);
    hs_range xr = hs_range_empty(), yr = hs_range_empty();
    for (int k = 0; k < nlines; k++) {
        HS_ASSERT(lines[k].n == 0 || (lines[k].x && lines[k].y));
        hs_range_add(&xr, NULL, lines[k].x, lines[k].n, 0, 0);
        hs_range_add(&yr, NULL, lines[k].y, lines[k].n, 0, 0);
    }
    if (!(xr.lo < xr.hi))
        xr = hs_range_axis(xr, 0);
    PLINT kinds[MAXLEG], colors[MAXLEG];
    const char *text[MAXLEG];
    int nleg = 0;
    for (int k = 0; k < nlines && nleg < MAXLEG; k++)
        if (lines[k].label) {
            kinds[nleg] = PL_LEGEND_LINE;
            colors[nleg] = hs_plot_col(lines[k].color);
            text[nleg++] = lines[k].label;
        }
    hs_plot_panel(0.08, 0.96, vy0, vy1, xr, hs_range_axis(yr, nleg ? HS_HEADROOM : 0), 0, 0, xlabel ? xlabel : "",
                  ylabel ? ylabel : "", title ? title : "");
    plwidth(1.5);
    for (int k = 0; k < nlines; k++) {
        plcol0(hs_plot_col(lines[k].color));
        hs_plot_polyline(lines[k].x, lines[k].y, lines[k].n);
    }
    if (nleg)
        hs_plot_legend(nleg, kinds, colors, text);
}

hs_status hs_plot_lines_png(const char *path, const char *title, const char *xlabel, const char *ylabel,
                            const hs_plot_line *lines, int nlines)
{
    HS_ASSERT(path);
    hs_plot_session ps;
    HS_TRY(hs_plot_begin(&ps, path));
    hs_plot_page_title(title ? title : "");
    hs_plot_lines_panel(0.10, 0.90, "", xlabel, ylabel, lines, nlines);
    return hs_plot_end(&ps, path);
}

hs_status hs_plot_panels_png(const char *path, const char *title, const hs_plot_panel_spec *panels, int npanels)
{
    HS_ASSERT(path && panels && npanels > 0);
    hs_plot_session ps;
    HS_TRY(hs_plot_begin(&ps, path));
    hs_plot_page_title(title ? title : "");
    /* panels stacked from the top, each with room for its title and axis labels */
    double top = 0.90, bottom = 0.06, h = (top - bottom) / npanels;
    for (int p = 0; p < npanels; p++) {
        double y1 = top - p * h, y0 = y1 - h + 0.07;
        hs_plot_lines_panel(y0, y1 - 0.02, panels[p].title, panels[p].xlabel, panels[p].ylabel, panels[p].lines,
                            panels[p].nlines);
    }
    return hs_plot_end(&ps, path);
}

/* One forecast panel over the x range xr; y is scaled to what falls inside it. */
static void hs_plot_forecast_panel(double vy0, double vy1, hs_range xr, const char *title, const double *x,
                                   const double *y, int64_t na, const double *xf, const double *yhat,
                                   const double *lo, const double *hi, int64_t nf, double *px, double *py)
{
    hs_range yr = hs_range_empty();
    hs_range_add(&yr, x, y, na, xr.lo, xr.hi);
    hs_range_add(&yr, xf, yhat, nf, xr.lo, xr.hi);
    hs_range_add(&yr, xf, lo, nf, xr.lo, xr.hi);
    hs_range_add(&yr, xf, hi, nf, xr.lo, xr.hi);
    hs_plot_panel(0.07, 0.97, vy0, vy1, xr, hs_range_axis(yr, HS_HEADROOM), 0, 0, "time", "value", title);
    if (lo && hi) {
        plcol0(HS_COL_BAND);
        hs_plot_band(xf, lo, hi, nf, px, py);
    }
    plwidth(1.2);
    plcol0(hs_plot_col(HS_COLOR_BLACK));
    hs_plot_polyline(x, y, na);
    plwidth(1.8);
    plcol0(hs_plot_col(HS_COLOR_BLUE));
    hs_plot_polyline(xf, yhat, nf);

    const PLINT kinds[3] = {PL_LEGEND_LINE, PL_LEGEND_LINE, PL_LEGEND_COLOR_BOX};
    const PLINT colors[3] = {hs_plot_col(HS_COLOR_BLACK), hs_plot_col(HS_COLOR_BLUE), HS_COL_BAND};
    const char *text[3] = {"actual", "forecast", "interval"};
    hs_plot_legend(lo && hi ? 3 : 2, kinds, colors, text);
}

hs_status hs_plot_forecast_png(const char *path, const char *title, const double *x, const double *y_actual,
                               int64_t n_actual, const double *x_fc, const double *yhat, const double *lower,
                               const double *upper, int64_t n_fc)
{
    HS_ASSERT(path && n_actual >= 0 && n_fc >= 0);
    HS_ASSERT(n_actual == 0 || (x && y_actual));
    HS_ASSERT(n_fc == 0 || (x_fc && yhat));
    HS_ASSERT((lower == NULL) == (upper == NULL));
    if (n_actual == 0 && n_fc == 0)
        return hs_error_set(HS_ERR_INPUT, "%s: nothing to plot (no actuals and no forecast)", path);

    hs_range all = hs_range_empty(), fc = hs_range_empty();
    hs_range_add(&all, NULL, x, n_actual, 0, 0);
    hs_range_add(&fc, NULL, x_fc, n_fc, 0, 0);
    all.lo = fmin(all.lo, fc.lo);
    all.hi = fmax(all.hi, fc.hi);
    if (!(all.lo < all.hi))
        all = hs_range_axis(all, 0);
    hs_range zoom = all, act = hs_range_empty();
    hs_range_add(&act, NULL, x, n_actual, 0, 0);
    if (fc.lo < fc.hi && act.lo < act.hi && fc.hi > act.hi && fc.lo < act.hi) {
        /* a forecast that covers the history too: zoom on its end, past the actuals, with twice
         * that span of history before it */
        zoom.hi = fc.hi;
        zoom.lo = fmax(all.lo, act.hi - 2 * (fc.hi - act.hi));
    } else if (fc.lo < fc.hi) {
        zoom.hi = fc.hi;
        zoom.lo = fmax(all.lo, fc.lo - (fc.hi - fc.lo));
    }

    double *px = NULL, *py = NULL;
    if (lower) {
        px = malloc((size_t)(2 * n_fc + 1) * sizeof *px);
        py = malloc((size_t)(2 * n_fc + 1) * sizeof *py);
        if (!px || !py) {
            free(px);
            free(py);
            return hs_error_set(HS_ERR_NOMEM, "%s: out of memory for a forecast plot", path);
        }
    }

    hs_plot_session ps;
    hs_status st = hs_plot_begin(&ps, path);
    if (st == HS_OK) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s: forecast of %lld points", title ? title : "forecast", (long long)n_fc);
        hs_plot_page_title(buf);
        hs_plot_forecast_panel(0.57, 0.90, all, "whole span", x, y_actual, n_actual, x_fc, yhat, lower, upper, n_fc,
                               px, py);
        hs_plot_forecast_panel(0.08, 0.43, zoom, "forecast window", x, y_actual, n_actual, x_fc, yhat, lower, upper,
                               n_fc, px, py);
        st = hs_plot_end(&ps, path);
    }
    free(px);
    free(py);
    return st;
}

hs_status hs_plot_pareto_png(const char *path, const char *title, const char *xlabel, const char *ylabel,
                             const double *x, const double *y, const char *const *labels, const int *highlight,
                             const unsigned char *front, int n)
{
    HS_ASSERT(path && x && y && labels && front && n > 0);
    hs_range xr = hs_range_empty(), yr = hs_range_empty();
    hs_range_add(&xr, NULL, x, n, 0, 0);
    hs_range_add(&yr, NULL, y, n, 0, 0);
    xr = hs_range_axis(xr, 0.15);
    yr = hs_range_axis(yr, 0.10);
    /* the front's points that can be placed, joined in order of x */
    int *order = malloc((size_t)n * sizeof *order);
    double *fx = malloc((size_t)(2 * n) * sizeof *fx), *fy = malloc((size_t)n * sizeof *fy);
    if (!order || !fx || !fy) {
        free(order);
        free(fx);
        free(fy);
        return hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    }
    int nf = 0;
    for (int i = 0; i < n; i++)
        if (front[i] && isfinite(x[i]) && isfinite(y[i]))
            order[nf++] = i;
    for (int a = 1; a < nf; a++) /* insertion sort by x */
        for (int b = a; b > 0 && x[order[b]] < x[order[b - 1]]; b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    for (int k = 0; k < nf; k++) {
        fx[k] = x[order[k]];
        fy[k] = y[order[k]];
    }
    hs_plot_session ps;
    hs_status st = hs_plot_begin(&ps, path);
    if (st == HS_OK) {
        hs_plot_page_title(title ? title : "");
        hs_plot_panel(0.10, 0.96, 0.10, 0.88, xr, yr, 0, 0, xlabel, ylabel, "");
        plwidth(1.5);
        plcol0(hs_plot_col(HS_COLOR_GREY));
        pllsty(2);
        if (nf > 1)
            plline(nf, fx, fy);
        pllsty(1);
        /* labels beside their points, moved down in steps of a line while they would overlap
         * one placed before (positions as fractions of the axes; ~0.0075 of the width a
         * character, 0.03 of the height a line) */
        double *lx = fx, *ly = fy; /* reused: the front is drawn */
        int placed = 0;
        for (int i = 0; i < n; i++) {
            if (!(isfinite(x[i]) && isfinite(y[i])))
                continue;
            plcol0(hs_plot_col(highlight && highlight[i] ? HS_COLOR_RED : HS_COLOR_BLUE));
            plschr(0, highlight && highlight[i] ? 3.0 * HS_TEXT_LABEL : 2.0 * HS_TEXT_LABEL);
            plstring(1, x + i, y + i, "•");
            plschr(0, HS_TEXT_TICK);
            plcol0(hs_plot_col(HS_COLOR_BLACK));
            double u = (x[i] - xr.lo) / (xr.hi - xr.lo) + 0.01, v = (y[i] - yr.lo) / (yr.hi - yr.lo) + 0.015;
            double w = 0.0075 * (double)strlen(labels[i]);
            for (int moved = 1, tries = 0; moved && tries < 40; tries++) {
                moved = 0;
                for (int k = 0; k < placed; k++)
                    if (fabs(ly[k] - v) < 0.03 && u < lx[2 * k + 1] && lx[2 * k] < u + w) {
                        v -= 0.03;
                        moved = 1;
                    }
            }
            lx[2 * placed] = u; /* the label's left and right edges, then its baseline */
            lx[2 * placed + 1] = u + w;
            ly[placed++] = v;
            plptex(xr.lo + u * (xr.hi - xr.lo), yr.lo + v * (yr.hi - yr.lo), 1, 0, 0, labels[i]);
        }
        st = hs_plot_end(&ps, path);
    }
    free(order);
    free(fx);
    free(fy);
    return st;
}

/* A label's box in axis fractions, to keep labels apart. */
typedef struct hs_label_box {
    double u0, u1, v;
} hs_label_box;

/* Places a label near (u, v) (axis fractions) where it overlaps no earlier box: v itself, else
 * a line below, a line above, two below, ... inside the axes; returns the v chosen. */
static double hs_label_place(const hs_label_box *placed, int np, double u, double w, double v)
{
    for (int i = 0; i < 80; i++) {
        int step = (i + 1) / 2; /* 0, 1, 1, 2, 2, ... lines away: below first, then above */
        double c = v + 0.034 * (i % 2 ? -(double)step : (double)step);
        if (c < 0.02 || c > 0.95)
            continue;
        int clash = 0;
        for (int k = 0; k < np && !clash; k++)
            clash = fabs(placed[k].v - c) < 0.032 && u < placed[k].u1 && placed[k].u0 < u + w;
        if (!clash)
            return c;
    }
    return v;
}

hs_status hs_plot_front_png(const char *path, const char *title, const char *xlabel, const char *ylabel,
                            const hs_plot_line *curves, int ncurves, const double *hx, const double *hy, int nh,
                            const double *x, const double *y, const char *const *labels, const int *highlight, int n)
{
    enum { MAXLEG = 12 };
    HS_ASSERT(path && (n == 0 || (x && y && labels)) && ncurves >= 0 && ncurves < MAXLEG);
    double xmax = 0.5;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && 1.6 * x[i] > xmax)
            xmax = 1.6 * x[i];
    hs_range xr = {0, xmax}, yr = hs_range_empty();
    hs_range_add(&yr, x, y, n, 0, xmax);
    for (int k = 0; k < ncurves; k++)
        hs_range_add(&yr, curves[k].x, curves[k].y, curves[k].n, 0, xmax);
    yr = hs_range_axis(yr, 0.30);
    hs_label_box *box = malloc((size_t)(n > 0 ? n : 1) * sizeof *box);
    if (!box)
        return hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    hs_plot_session ps;
    hs_status st = hs_plot_begin(&ps, path);
    if (st != HS_OK) {
        free(box);
        return st;
    }
    hs_plot_page_title(title ? title : "");
    hs_plot_panel(0.10, 0.96, 0.10, 0.88, xr, yr, 0, 0, xlabel ? xlabel : "", ylabel ? ylabel : "", "");
    PLINT kinds[MAXLEG], colors[MAXLEG];
    const char *text[MAXLEG];
    int nleg = 0;
    for (int k = 0; k < ncurves; k++) {
        plwidth(1.5);
        plcol0(hs_plot_col(curves[k].color));
        hs_plot_polyline(curves[k].x, curves[k].y, curves[k].n);
        plschr(0, 0.8 * HS_TEXT_LABEL);
        for (int64_t i = 0; i < curves[k].n; i++)
            if (isfinite(curves[k].x[i]) && isfinite(curves[k].y[i]) && curves[k].x[i] <= xmax)
                plstring(1, curves[k].x + i, curves[k].y + i, "•");
        if (curves[k].label) {
            kinds[nleg] = PL_LEGEND_LINE | PL_LEGEND_SYMBOL;
            colors[nleg] = hs_plot_col(curves[k].color);
            text[nleg++] = curves[k].label;
        }
    }
    if (nh > 1) {
        plcol0(hs_plot_col(HS_COLOR_GREY));
        pllsty(2);
        plwidth(2.0);
        plline(nh, hx, hy);
        pllsty(1);
        kinds[nleg] = PL_LEGEND_LINE;
        colors[nleg] = hs_plot_col(HS_COLOR_GREY);
        text[nleg++] = "classic hull (best pick or mix)";
    }
    int placed = 0;
    for (int pass = 0; pass < 2; pass++) /* the agents' labels first: they matter most */
        for (int i = 0; i < n; i++) {
            int hl = highlight && highlight[i];
            if (hl != (pass == 0) || !(isfinite(x[i]) && isfinite(y[i])) || x[i] > xmax)
                continue;
            plcol0(hs_plot_col(hl ? HS_COLOR_RED : HS_COLOR_BLACK));
            plschr(0, hl ? 3.0 * HS_TEXT_LABEL : 2.0 * HS_TEXT_LABEL);
            plstring(1, x + i, y + i, "•");
            double u0 = (x[i] - xr.lo) / (xr.hi - xr.lo), v0 = (y[i] - yr.lo) / (yr.hi - yr.lo);
            double u = u0 + 0.012, w = 0.0075 * (double)strlen(labels[i]);
            if (u + w > 0.98) /* keep it inside: put it to the left of its point */
                u = u0 - 0.012 - w;
            double v = hs_label_place(box, placed, u, w, v0 + 0.012);
            box[placed++] = (hs_label_box){u, u + w, v};
            plschr(0, HS_TEXT_TICK);
            double lx = xr.lo + u * (xr.hi - xr.lo), ly = yr.lo + v * (yr.hi - yr.lo);
            if (fabs(v - (v0 + 0.012)) > 1e-9) { /* moved: a thin line back to its point */
                double sx[2] = {x[i], lx + (u < u0 ? w * (xr.hi - xr.lo) : 0)}, sy[2] = {y[i], ly};
                plwidth(0.5);
                plline(2, sx, sy);
            }
            plcol0(hs_plot_col(HS_COLOR_BLACK));
            plptex(lx, ly, 1, 0, 0, labels[i]);
        }
    if (nleg)
        hs_plot_legend_grid(nleg, nleg, kinds, colors, text);
    free(box);
    return hs_plot_end(&ps, path);
}
