/* progress.h: progress reporting on stderr, and timing helpers.
 *
 * On a TTY, one live line rewritten in place (at most ~10 times a second); otherwise plain
 * lines, at most one every 5 seconds plus the final one. Nothing when quiet.
 *
 *     hs_progress p;
 *     hs_progress_start(&p, "preprocess", total_bytes, quiet);
 *     hs_progress_update(&p, done_bytes, "%d files", nfiles);
 *     hs_progress_finish(&p, "done");
 */
#ifndef HYSCALE_PROGRESS_H
#define HYSCALE_PROGRESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_progress {
    const char *label;
    double total; /* 0 when unknown */
    double t0, last;
    int quiet, tty, drawn;
} hs_progress;

void hs_progress_start(hs_progress *p, const char *label, double total, int quiet);
void hs_progress_update(hs_progress *p, double done, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void hs_progress_finish(hs_progress *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Monotonic clock in seconds. */
double hs_time_now(void);
/* Wall-clock time as seconds since the epoch. */
double hs_time_wall(void);
/* Peak resident set size of this process in KiB (getrusage). */
int64_t hs_peak_rss_kib(void);

#ifdef __cplusplus
}
#endif
#endif
