/* plot.h: PNG plots on PLplot's cairo driver (pngcairo).
 *
 *     hs_plot_series_png(tmp_path, &series, &profiles, "Azure 2019 (synthetic)");  // profile.h
 *     hs_plot_line ln[2] = {{x, y, n, "actual", HS_COLOR_BLACK}, {x, yhat, n, "fit", HS_COLOR_BLUE}};
 *     hs_plot_lines_png(tmp_path, "title", "minute", "invocations", ln, 2);
 *
 *     hs_plot_forecast_png(tmp_path, "LSTM", x, y, n, x_fc, yhat, lo, hi, k);
 *
 * Every function writes one PNG at `path` (the caller passes a temporary path from
 * hs_outset_path) and returns HS_ERR_IO with a message when the path cannot be written or PLplot
 * produced no file, HS_ERR_INPUT for an empty series. Each call opens and ends its own PLplot
 * stream, so many plots per process are fine; PLplot's state is process-wide, so call these from
 * one thread at a time. Non-finite values are skipped (lines break there).
 */
#ifndef HYSCALE_PLOT_H
#define HYSCALE_PLOT_H

#include <stdint.h>

#include "hyscale/profile.h"
#include "hyscale/series.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hs_color {
    HS_COLOR_BLACK = 0,
    HS_COLOR_BLUE,
    HS_COLOR_RED,
    HS_COLOR_GREEN,
    HS_COLOR_PURPLE,
    HS_COLOR_ORANGE,
    HS_COLOR_GREY
} hs_color;

typedef struct hs_plot_line {
    const double *x; /* (n) */
    const double *y; /* (n) */
    int64_t n;
    const char *label; /* legend text; NULL for none */
    hs_color color;
} hs_plot_line;

/* One panel of a multi-panel figure. */
typedef struct hs_plot_panel_spec {
    const char *title, *xlabel, *ylabel;
    const hs_plot_line *lines;
    int nlines;
} hs_plot_panel_spec;

/* Panels stacked top to bottom, each a set of lines with a legend (e.g. forecast components). */
hs_status hs_plot_panels_png(const char *path, const char *title, const hs_plot_panel_spec *panels, int npanels);

/* One panel of lines with a legend. */
hs_status hs_plot_lines_png(const char *path, const char *title, const char *xlabel, const char *ylabel,
                            const hs_plot_line *lines, int nlines);

/* The preprocessing figure: top, the invocation series over time with the clipped points
 * marked; bottom left, the mean daily profile (by minute of day); bottom right, the mean weekly
 * profile (by hour of week): prof, the caller's hs_series_profiles_init of s (profile.h). */
hs_status hs_plot_series_png(const char *path, const hs_series *s, const hs_series_profiles *prof, const char *title);

/* A forecast against actuals, two panels: top, the whole span; bottom, the forecast window
 * zoomed (with one window's width of history before it). Actuals (x, y_actual: n_actual) in
 * black, the forecast (x_fc, yhat: n_fc) in blue, and [lower, upper] (n_fc) as a light-blue
 * band; lower and upper may both be NULL for no band. x is in whatever unit the caller uses
 * (labelled "time"); x_fc should be increasing for the band to be drawn sensibly. */
hs_status hs_plot_forecast_png(const char *path, const char *title, const double *x, const double *y_actual,
                               int64_t n_actual, const double *x_fc, const double *yhat, const double *lower,
                               const double *upper, int64_t n_fc);

/* A scatter of n labelled points (x, y), lower being better on both axes, with the points whose
 * front[i] is set (the caller's hs_pareto_front, pareto.h) joined in order of x by a dashed grey
 * line; points with highlight[i] (may be NULL) drawn larger in red. Points with a non-finite
 * coordinate are left out of the picture. */
hs_status hs_plot_pareto_png(const char *path, const char *title, const char *xlabel, const char *ylabel,
                             const double *x, const double *y, const char *const *labels, const int *highlight,
                             const unsigned char *front, int n);

/* The scaling trade-off: each swept classic policy a line of its settings (curves, in their
 * colours, in the legend), the classic hull dashed grey (hx, hy: nh; pareto.h), and n labelled
 * points (the agents highlighted in red, bigger), each label beside its point or, when it would
 * overlap one placed before, moved down with a thin line back to its point. The x axis covers the
 * points with room to spare (1.6 x the largest point's x, at least 0.5), so the region where the
 * agents sit is readable; curves run on past its edge. */
hs_status hs_plot_front_png(const char *path, const char *title, const char *xlabel, const char *ylabel,
                            const hs_plot_line *curves, int ncurves, const double *hx, const double *hy, int nh,
                            const double *x, const double *y, const char *const *labels, const int *highlight, int n);

#ifdef __cplusplus
}
#endif
#endif
