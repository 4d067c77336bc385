/* progress.c: a live progress line on a TTY, plain lines otherwise (progress.h). */
#include "hyscale/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double hs_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double hs_time_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int64_t hs_peak_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (int64_t)ru.ru_maxrss; /* KiB on Linux */
}

void hs_progress_start(hs_progress *p, const char *label, double total, int quiet)
{
    p->label = label;
    p->total = total;
    p->t0 = hs_time_now();
    p->last = p->t0;
    p->quiet = quiet;
    p->tty = isatty(fileno(stderr));
    p->drawn = 0;
}

static void hs_progress_draw(hs_progress *p, double done, const char *fmt, va_list ap, int final)
{
    double el = hs_time_now() - p->t0;
    if (p->tty)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "%s: ", p->label);
    if (p->total > 0 && !final)
        fprintf(stderr, "%5.1f%% ", 100.0 * done / p->total);
    if (fmt)
        vfprintf(stderr, fmt, ap);
    fprintf(stderr, " [%.1fs]", el);
    if (!p->tty || final)
        fputc('\n', stderr);
    fflush(stderr);
    p->drawn = 1;
}

void hs_progress_update(hs_progress *p, double done, const char *fmt, ...)
{
    if (p->quiet)
        return;
    double now = hs_time_now();
    double every = p->tty ? 0.1 : 5.0;
    if (now - p->last < every)
        return;
    p->last = now;
    va_list ap;
    va_start(ap, fmt);
    hs_progress_draw(p, done, fmt, ap, 0);
    va_end(ap);
}

void hs_progress_finish(hs_progress *p, const char *fmt, ...)
{
    if (p->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    hs_progress_draw(p, p->total, fmt, ap, 1);
    va_end(ap);
}
