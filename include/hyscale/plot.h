/* plot.h: PNG plots on PLplot's cairo driver (pngcairo).
 *
 *     hs_plot_series_png(tmp_path, &series, "Azure 2019 (synthetic)");
 *     hs_plot_line ln[2] = {{x, y, n, "actual", HS_COLOR_BLACK}, {x, yhat, n, "fit", HS_COLOR_BLUE}};
 *     hs_plot_lines_png(tmp_path, "title", "minute", "invocations", ln, 2);
 *
 * Every function writes one PNG at `path` (the caller passes a temporary path from
 * hs_outset_path) and returns HS_ERR_IO with a message when PLplot cannot.
 */
#ifndef HYSCALE_PLOT_H
#define HYSCALE_PLOT_H

#include <stdint.h>

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

/* One panel of lines with a legend. */
hs_status hs_plot_lines_png(const char *path, const char *title, const char *xlabel, const char *ylabel,
                            const hs_plot_line *lines, int nlines);

/* The preprocessing figure: top, the invocation series over time with the clipped points
 * marked; bottom left, the mean daily profile (by minute of day); bottom right, the mean weekly
 * profile (by hour of week), each from the cleaned series. */
hs_status hs_plot_series_png(const char *path, const hs_series *s, const char *title);

#ifdef __cplusplus
}
#endif
#endif
