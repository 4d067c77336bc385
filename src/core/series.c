/* series.c: the per-minute series: allocation, spike clipping, statistics, time stamps and
 * splits (series.h). */
#include "hyscale/series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/select.h"

hs_status hs_series_init(hs_series *s, int64_t n, int64_t step_seconds, int64_t start_unix)
{
    memset(s, 0, sizeof *s);
    HS_ASSERT(n >= 0 && step_seconds > 0);
    size_t bytes = (size_t)(n ? n : 1) * sizeof(float);
    s->invocations = calloc(1, bytes);
    s->clipped = calloc(1, bytes);
    s->log1p = calloc(1, bytes);
    if (!s->invocations || !s->clipped || !s->log1p) {
        hs_series_free(s);
        return hs_error_set(HS_ERR_NOMEM, "out of memory for a series of %lld points", (long long)n);
    }
    s->n = n;
    s->step_seconds = step_seconds;
    s->start_unix = start_unix;
    return HS_OK;
}

void hs_series_free(hs_series *s)
{
    if (!s)
        return;
    free(s->invocations);
    free(s->clipped);
    free(s->log1p);
    memset(s, 0, sizeof *s);
}

/* Median of w (n), reordering it. */
static double hs_median_inplace(double *w, int n) { return hs_quantile_inplace(w, n, 50.0); }

int64_t hs_clip_spikes(const float *x, int64_t n, const hs_clip_config *cfg, float *out)
{
    int half = cfg->window / 2;
    if (half < 1)
        half = 1;
    int wmax = 2 * half + 1;
    double *w = malloc((size_t)wmax * sizeof *w);
    HS_ASSERT(w);
    int64_t clipped = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t a = i - half < 0 ? 0 : i - half;
        int64_t b = i + half >= n ? n - 1 : i + half;
        int m = (int)(b - a + 1);
        for (int j = 0; j < m; j++)
            w[j] = x[a + j];
        double med = hs_median_inplace(w, m);
        for (int j = 0; j < m; j++)
            w[j] = fabs(w[j] - med);
        double mad = hs_median_inplace(w, m);
        double scale = 1.4826 * mad;
        if (scale < cfg->min_scale)
            scale = cfg->min_scale;
        double thr = med + cfg->k * scale;
        if ((double)x[i] > thr) {
            out[i] = (float)thr;
            clipped++;
        } else {
            out[i] = x[i];
        }
    }
    free(w);
    return clipped;
}

int64_t hs_series_clean(hs_series *s, const hs_clip_config *cfg)
{
    int64_t c = hs_clip_spikes(s->invocations, s->n, cfg, s->clipped);
    for (int64_t i = 0; i < s->n; i++)
        s->log1p[i] = (float)log1p((double)s->clipped[i]);
    return c;
}

double hs_percentile(const float *x, int64_t n, double p)
{
    if (n <= 0)
        return NAN;
    double *s = malloc((size_t)n * sizeof *s);
    HS_ASSERT(s);
    for (int64_t i = 0; i < n; i++)
        s[i] = x[i];
    double v = hs_quantile_inplace(s, n, p);
    free(s);
    return v;
}

void hs_series_stats_compute(const hs_series *s, hs_series_stats *o)
{
    memset(o, 0, sizeof *o);
    if (s->n == 0)
        return;
    o->min = INFINITY;
    o->max = -INFINITY;
    o->log1p_min = INFINITY;
    o->log1p_max = -INFINITY;
    double lsum = 0, lsq = 0;
    for (int64_t i = 0; i < s->n; i++) {
        double v = s->invocations[i], l = s->log1p[i];
        o->total += v;
        o->clipped_total += s->clipped[i];
        o->min = v < o->min ? v : o->min;
        o->max = v > o->max ? v : o->max;
        o->zero_points += v == 0;
        lsum += l;
        o->log1p_min = l < o->log1p_min ? l : o->log1p_min;
        o->log1p_max = l > o->log1p_max ? l : o->log1p_max;
    }
    o->mean = o->total / (double)s->n;
    o->log1p_mean = lsum / (double)s->n;
    for (int64_t i = 0; i < s->n; i++) {
        double d = s->log1p[i] - o->log1p_mean;
        lsq += d * d;
    }
    o->log1p_std = sqrt(lsq / (double)s->n);
    o->median = hs_percentile(s->invocations, s->n, 50);
    o->q99 = hs_percentile(s->invocations, s->n, 99);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t hs_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void hs_format_time(int64_t t, char *buf)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t sod = t - days * 86400;
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    y += m <= 2;
    int hh = (int)(sod / 3600), mm = (int)(sod / 60 % 60), ss = (int)(sod % 60);
    /* buf holds at least 20 bytes by contract; the year stays within 4 digits for our data. */
    buf[0] = (char)('0' + (y / 1000) % 10);
    buf[1] = (char)('0' + (y / 100) % 10);
    buf[2] = (char)('0' + (y / 10) % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = ' ';
    buf[11] = (char)('0' + hh / 10);
    buf[12] = (char)('0' + hh % 10);
    buf[13] = ':';
    buf[14] = (char)('0' + mm / 10);
    buf[15] = (char)('0' + mm % 10);
    buf[16] = ':';
    buf[17] = (char)('0' + ss / 10);
    buf[18] = (char)('0' + ss % 10);
    buf[19] = '\0';
}

static int hs_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int hs_parse_time(const char *text, int64_t *out)
{
    const char *p = text;
    int y, mo, d, hh = 0, mi = 0, ss = 0;
    if (hs_digits(&p, 4, &y) || *p++ != '-' || hs_digits(&p, 2, &mo) || *p++ != '-' || hs_digits(&p, 2, &d))
        return -1;
    if (*p == ' ' || *p == 'T') {
        p++;
        if (hs_digits(&p, 2, &hh) || *p++ != ':' || hs_digits(&p, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (hs_digits(&p, 2, &ss))
                return -1;
            if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                    return -1;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        if (*p == 'Z')
            p++;
    }
    if (*p != '\0')
        return -1;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || hh > 23 || mi > 59 || ss > 60)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -1;
    *out = hs_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
    return 0;
}

hs_status hs_split_make(int64_t n, int64_t holdout, double val_frac, hs_split *out)
{
    if (holdout < 0 || holdout >= n)
        return hs_error_set(HS_ERR_USAGE, "--holdout %lld: must be between 0 and the series length %lld minus 1",
                            (long long)holdout, (long long)n);
    if (!(val_frac >= 0 && val_frac < 1))
        return hs_error_set(HS_ERR_USAGE, "validation fraction %g: must be in [0, 1)", val_frac);
    out->n = n;
    out->val_end = n - holdout;
    out->train_end = out->val_end - (int64_t)floor(val_frac * (double)out->val_end);
    return HS_OK;
}
