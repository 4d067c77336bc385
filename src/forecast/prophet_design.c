/* prophet_design.c: Prophet's design: the changepoint grid, Fourier features, the automatic
 * seasonality rules and the design matrix of a history (prophet.h, prophet_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/prophet.h"
#include "prophet_internal.h"

int hs_prophet_changepoint_index(int64_t n, int want, double range, int64_t *idx)
{
    int64_t hist = (int64_t)floor((double)n * range);
    int S = want;
    if (S + 1 > hist)
        S = (int)(hist - 1);
    if (S <= 0)
        return 0;
    /* numpy: linspace(0, hist - 1, S + 1) = i * step, last exactly hist - 1; round() is
     * round-half-to-even, which nearbyint does in the default rounding mode */
    double step = (double)(hist - 1) / (double)S;
    for (int i = 1; i <= S; i++) {
        double v = i == S ? (double)(hist - 1) : (double)i * step;
        idx[i - 1] = (int64_t)nearbyint(v);
    }
    return S;
}

void hs_prophet_fourier(int64_t ds, double period, int order, double *out)
{
    double d = (double)ds / 86400.0;
    for (int i = 0; i < order; i++) {
        double c = 2.0 * M_PI * d * (double)(i + 1) / period;
        out[2 * i] = sin(c);
        out[2 * i + 1] = cos(c);
    }
}

static void hs_add_builtin(hs_seasonality *out, int *ns, const hs_prophet_config *cfg, const char *name,
                           double period, int want, int default_order, int disable)
{
    for (int i = 0; i < *ns; i++)
        if (strcmp(out[i].name, name) == 0)
            return; /* a user seasonality of that name replaces the built-in one */
    int order = want < 0 ? (disable ? 0 : default_order) : want;
    if (order <= 0 || *ns >= HS_PROPHET_MAX_SEASONALITIES)
        return;
    hs_seasonality *s = &out[(*ns)++];
    memset(s, 0, sizeof *s);
    strncpy(s->name, name, sizeof s->name - 1);
    s->period = period;
    s->order = order;
    s->prior_scale = cfg->seasonality_prior_scale;
    s->multiplicative = cfg->multiplicative;
}

int hs_prophet_seasonalities(const hs_prophet_config *cfg, const int64_t *ds, int64_t n,
                             hs_seasonality out[HS_PROPHET_MAX_SEASONALITIES])
{
    int ns = 0;
    for (int i = 0; i < cfg->n_extra && ns < HS_PROPHET_MAX_SEASONALITIES; i++)
        out[ns++] = cfg->extra[i];
    double span = n > 0 ? (double)(ds[n - 1] - ds[0]) : 0;
    int64_t min_dt = 0;
    for (int64_t i = 1; i < n; i++) {
        int64_t d = ds[i] - ds[i - 1];
        if (d > 0 && (min_dt == 0 || d < min_dt))
            min_dt = d;
    }
    const double day = 86400.0;
    hs_add_builtin(out, &ns, cfg, "yearly", 365.25, cfg->yearly, 10, span < 730 * day);
    hs_add_builtin(out, &ns, cfg, "weekly", 7.0, cfg->weekly, 3, span < 14 * day || (double)min_dt >= 7 * day);
    hs_add_builtin(out, &ns, cfg, "daily", 1.0, cfg->daily, 4, span < 2 * day || (double)min_dt >= day);
    return ns;
}

int hs_prophet_columns(const hs_prophet_model *m)
{
    int K = 0;
    for (int s = 0; s < m->ns; s++)
        K += 2 * m->seas[s].order;
    return K > 0 ? K : 1; /* Prophet's "zeros" column when nothing seasonal is modelled */
}

void hs_prophet_features(const hs_prophet_model *m, int64_t ds, double *x)
{
    int c = 0;
    for (int s = 0; s < m->ns; s++) {
        hs_prophet_fourier(ds, m->seas[s].period, m->seas[s].order, x + c);
        c += 2 * m->seas[s].order;
    }
    if (c == 0)
        x[0] = 0.0;
}

double hs_prophet_t(const hs_prophet_model *m, int64_t ds) { return (double)(ds - m->start) / m->t_scale; }

hs_status hs_prophet_design(const hs_prophet_model *m, const int64_t *ds, int64_t n, double **out)
{
    int P = 2 + m->S + m->K;
    double *D = malloc((size_t)n * (size_t)P * sizeof *D);
    if (!D)
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory for the (%lld, %d) design matrix", (long long)n, P);
    for (int64_t i = 0; i < n; i++) {
        double *row = D + i * P, t = hs_prophet_t(m, ds[i]);
        row[0] = t;
        row[1] = 1.0;
        for (int j = 0; j < m->S; j++)
            row[2 + j] = t >= m->cp_t[j] ? t - m->cp_t[j] : 0.0;
        hs_prophet_features(m, ds[i], row + 2 + m->S);
    }
    *out = D;
    return HS_OK;
}

double hs_prophet_trend(const hs_prophet_model *m, double t)
{
    double v = m->k * t + m->m;
    for (int j = 0; j < m->S; j++)
        if (t >= m->cp_t[j])
            v += m->delta[j] * (t - m->cp_t[j]);
    return v;
}
