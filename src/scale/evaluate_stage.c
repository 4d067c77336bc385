/* evaluate_stage.c: `hyscale evaluate`: every classic policy, the hybrid-histogram policy (per
 * function) and every trained agent found in the output folder replay the holdout span of the
 * same environment; scaling_eval.csv, scaling_report.md and pareto.png. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hyscale/env_rules.h"
#include "hyscale/hist_policy.h"
#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "hyscale/pareto.h"
#include "hyscale/plot.h"
#include "hyscale/policy.h"
#include "hyscale/progress.h"
#include "hyscale/scale_stage.h"
#include "scale/evaluate_internal.h"

const char *const hs_forecasters[4] = {"none", "prophet", "lstm", "hybrid"};

static int hs_file_exists(const char *dir, const char *name)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
        return 0;
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The folder holding a forecaster's files (out first, then the series folder), or NULL. */
static const char *hs_forecast_dir(const hs_evaluate_config *c, const char *fc)
{
    if (!strcmp(fc, "none"))
        return c->series_dir;
    if (c->source == HS_ENV_FUNCTIONS && strcmp(fc, "lstm") != 0)
        return NULL; /* only the LSTM forecasts per function */
    const char *file = c->source == HS_ENV_FUNCTIONS ? "lstm_functions_forecast8.safetensors" : hs_env_forecast_file(fc);
    if (hs_file_exists(c->out_dir, file))
        return c->out_dir;
    if (hs_file_exists(c->series_dir, file))
        return c->series_dir;
    return NULL;
}

static const char *const hs_policy_names[7] = {"reactive",   "forecast",         "forecast+margin", "keepalive-10",
                                               "static-p99", "hybrid-histogram", "ppo"};

/* The first name of a comma-separated list into *len; the rest after it, or NULL at the end. */
static const char *hs_list_next(const char *p, size_t *len)
{
    const char *e = strchr(p, ',');
    *len = e ? (size_t)(e - p) : strlen(p);
    return e ? e + 1 : NULL;
}

static int hs_name_is(const char *p, size_t len, const char *name)
{
    return len == strlen(name) && !strncmp(p, name, len);
}

/* 1 when the comma-separated list (NULL: all) names policy. */
static int hs_selected(const char *list, const char *policy)
{
    if (!list)
        return 1;
    for (const char *p = list; p;) {
        size_t len;
        const char *next = hs_list_next(p, &len);
        if (hs_name_is(p, len, policy))
            return 1;
        p = next;
    }
    return 0;
}

int hs_eval_selected(const char *list, const char *policy)
{
    return hs_selected(list, policy);
}

hs_status hs_evaluate_check_policies(const char *list)
{
    for (const char *p = list; p;) {
        size_t len;
        const char *next = hs_list_next(p, &len);
        int ok = 0;
        for (int i = 0; i < 7; i++)
            ok |= hs_name_is(p, len, hs_policy_names[i]);
        if (!ok)
            return hs_error_set(HS_ERR_USAGE, "--policies: unknown policy '%.*s' (reactive, forecast, "
                                              "forecast+margin, keepalive-10, static-p99, hybrid-histogram, ppo)",
                                (int)len, p);
        p = next;
    }
    return HS_OK;
}

hs_status hs_evaluate_check(const hs_evaluate_config *c)
{
    HS_TRY(hs_evaluate_check_policies(c->policies));
    if (c->holdout < 1)
        return hs_error_set(HS_ERR_USAGE, "--holdout %lld: must be positive", (long long)c->holdout);
    return HS_OK;
}

int hs_evaluate_fits(int64_t n, int64_t holdout) { return hs_env_span_fits(n, holdout); }

hs_status hs_eval_add_row(hs_evaluate_result *r, const char *policy, const char *fc, const char *source,
                          const char *parameter, int sweep, const hs_env_metrics *m)
{
    if (r->n >= HS_EVAL_MAX_ROWS)
        return hs_error_set(HS_ERR_INPUT, "evaluate: more than %d policies", HS_EVAL_MAX_ROWS);
    hs_eval_row *row = &r->rows[r->n++];
    memset(row, 0, sizeof *row);
    snprintf(row->policy, sizeof row->policy, "%s", policy);
    snprintf(row->forecaster, sizeof row->forecaster, "%s", fc);
    snprintf(row->source, sizeof row->source, "%s", source);
    snprintf(row->parameter, sizeof row->parameter, "%s", parameter ? parameter : "");
    row->sweep = sweep;
    row->env_version = HS_ENV_VERSION;
    row->hull_cold_rate = NAN;
    row->m = *m;
    return HS_OK;
}

static hs_status hs_eval_add(hs_evaluate_result *r, const char *policy, const char *fc, const char *source,
                             const hs_env_metrics *m)
{
    return hs_eval_add_row(r, policy, fc, source, "", 0, m);
}

double hs_eval_vs_hull(const hs_eval_row *w)
{
    double h = w->hull_cold_rate;
    return isfinite(h) && h > 0 ? 1.0 - hs_env_metrics_cold_rate(&w->m) / h : NAN;
}

/* Policy files: out/ppo_policy.safetensors and out/<folder>/ppo_policy.safetensors, sorted;
 * -1 when there are more than cap or a folder name is too long. */
static int hs_find_policies(const char *out, char paths[][512], int cap)
{
    int n = 0;
    if (hs_file_exists(out, "ppo_policy.safetensors"))
        snprintf(paths[n++], 512, "ppo_policy.safetensors");
    DIR *d = opendir(out);
    if (!d)
        return n;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", out, e->d_name);
        if (!hs_file_exists(sub, "ppo_policy.safetensors"))
            continue;
        if (n >= cap || strlen(e->d_name) >= 400) { /* none is dropped unsaid */
            closedir(d);
            return -1;
        }
        snprintf(paths[n++], 512, "%s/ppo_policy.safetensors", e->d_name);
    }
    closedir(d);
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && strcmp(paths[b], paths[b - 1]) < 0; b--) {
            char t[512];
            memcpy(t, paths[b], 512);
            memcpy(paths[b], paths[b - 1], 512);
            memcpy(paths[b - 1], t, 512);
        }
    return n;
}

hs_status hs_eval_histogram(const hs_env_series *s, const hs_hist_config *cfg, int64_t t_start, int64_t t_end,
                            uint8_t *warm, hs_hist_stats *tot)
{
    memset(tot, 0, sizeof *tot);
    uint8_t *active = malloc((size_t)s->n);
    if (!active)
        return hs_error_set(HS_ERR_NOMEM, "evaluate: out of memory");
    hs_hist_config hc = *cfg;
    hs_status st = HS_OK;
    for (int64_t j = 0; st == HS_OK && j < s->k; j++) {
        for (int64_t t = 0; t < s->n; t++)
            active[t] = s->d[j * s->n + t] > 0.0f;
        memset(warm + j * s->n, 0, (size_t)s->n);
        hs_hist_stats hs;
        st = hs_hist_policy_run(&hc, active, s->n, t_start, t_end, warm + j * s->n, &hs);
        tot->decisions_hist += hs.decisions_hist;
        tot->decisions_fixed += hs.decisions_fixed;
        tot->decisions_ts += hs.decisions_ts;
        tot->idle_times += hs.idle_times;
        tot->idle_oob += hs.idle_oob;
    }
    free(active);
    return st;
}

/* Each row's front flag (pareto.h, on over-provisioning ratio and cold-start rate) and whether a
 * classic policy dominates it. */
static void hs_mark_dominated(hs_evaluate_result *r)
{
    double x[HS_EVAL_MAX_ROWS], y[HS_EVAL_MAX_ROWS];
    unsigned char front[HS_EVAL_MAX_ROWS];
    for (int i = 0; i < r->n; i++) {
        x[i] = hs_env_metrics_overprov(&r->rows[i].m);
        y[i] = hs_env_metrics_cold_rate(&r->rows[i].m);
    }
    hs_pareto_front(x, y, r->n, front);
    for (int i = 0; i < r->n; i++) {
        r->rows[i].front = front[i];
        r->rows[i].dominated = 0;
        for (int j = 0; j < r->n; j++)
            if (j != i && strcmp(r->rows[j].policy, "ppo") != 0 && hs_pareto_dominates(x[j], y[j], x[i], y[i]))
                r->rows[i].dominated = 1;
    }
    /* the lower convex hull of every classic row, and each row's distance to it */
    int nc = 0;
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->rows[i].policy, "ppo") != 0) {
            x[nc] = hs_env_metrics_overprov(&r->rows[i].m);
            y[nc++] = hs_env_metrics_cold_rate(&r->rows[i].m);
        }
    r->n_hull = hs_pareto_hull(x, y, nc, r->hull_x, r->hull_y);
    for (int i = 0; i < r->n; i++)
        r->rows[i].hull_cold_rate =
            hs_pareto_hull_at(r->hull_x, r->hull_y, r->n_hull, hs_env_metrics_overprov(&r->rows[i].m));
}

static double hs_mean_reward(const hs_env_metrics *m) { return m->steps ? m->reward / (double)m->steps : 0.0; }

static hs_status hs_write_eval_csv(hs_outset *os, const hs_evaluate_result *r)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "scaling_eval.csv", &f, &tmp));
    fputs("policy,forecaster,cold_starts,cold_rate,idle_minutes,overprov_ratio,scaling_volume,mean_reward,"
          "env_version,source,dominated,front,parameter,sweep,hull_cold_rate,vs_hull\n",
          f);
    for (int i = 0; i < r->n; i++) {
        const hs_eval_row *w = &r->rows[i];
        static const char *const names[3] = {"cold_rate", "overprov_ratio", "mean_reward"};
        double v[3] = {hs_env_metrics_cold_rate(&w->m), hs_env_metrics_overprov(&w->m), hs_mean_reward(&w->m)};
        for (int k = 0; k < 3; k++) /* columns 4, 6 and 8 */
            HS_TRY(hs_out_check_finite(tmp, i + 2, 4 + 2 * k, names + k, v + k, 1));
        fprintf(f, "%s,%s,%lld,%.6f,%lld,%.6f,%lld,%.6f,%d,%s,%d,%d,%s,%d,", w->policy, w->forecaster,
                (long long)w->m.cold, hs_env_metrics_cold_rate(&w->m), (long long)w->m.idle,
                hs_env_metrics_overprov(&w->m), (long long)w->m.change, hs_mean_reward(&w->m), w->env_version,
                w->source, w->dominated, w->front, w->parameter, w->sweep);
        /* empty where the hull does not reach this row's over-provisioning */
        double vs = hs_eval_vs_hull(w);
        if (isfinite(w->hull_cold_rate))
            fprintf(f, "%.6f", w->hull_cold_rate);
        fputc(',', f);
        if (isfinite(vs))
            fprintf(f, "%.6f", vs);
        fputc('\n', f);
    }
    return ferror(f) ? hs_error_set(HS_ERR_IO, "%s: write failed", tmp) : HS_OK;
}

/* The swept classic front and each agent against its hull (scaling_report.md). */
static void hs_write_front(FILE *f, const hs_evaluate_result *r)
{
    int swept = 0;
    for (int i = 0; i < r->n; i++)
        swept += r->rows[i].sweep;
    if (!swept && !r->n_hull)
        return;
    fprintf(f, "\n## The classic front, swept\n\n%d settings of the classic policies were replayed besides the rows "
               "above (forecast+margin's headroom 0-100%% in 5%% steps for each forecaster, keep-alive 1-60 minutes, "
               "static at the 50th-100th percentile of need, and per function the histogram's keep-alive "
               "percentile); `scaling_eval.csv` holds each as a row (`parameter` says which, `sweep` is 1) and "
               "`pareto.png` draws them as curves. Their lower convex hull, over every classic row and forecaster, is "
               "what an operator could pick or mix (a mix of two settings over time lands on the segment between "
               "them):\n\n| over-provisioning | cold rate | policy | forecaster | setting |\n|---:|---:|---|---|---|\n",
            swept);
    for (int k = 0; k < r->n_hull; k++)
        for (int i = 0; i < r->n; i++) { /* the first row at that vertex */
            const hs_eval_row *w = &r->rows[i];
            if (strcmp(w->policy, "ppo") != 0 && hs_env_metrics_overprov(&w->m) == r->hull_x[k] &&
                hs_env_metrics_cold_rate(&w->m) == r->hull_y[k]) {
                fprintf(f, "| %.4f | %.4f | %s | %s | %s |\n", r->hull_x[k], r->hull_y[k], w->policy, w->forecaster,
                        w->parameter);
                break;
            }
        }
    if (!r->ppo_rows)
        return;
    fprintf(f, "\nEach agent against the hull at its own over-provisioning (the goal: at least 20%% fewer cold starts "
               "than the hull there):\n\n| agent | forecaster | over-provisioning | cold rate | hull's cold rate "
               "there | cold starts vs hull |\n|---|---|---:|---:|---:|---|\n");
    for (int i = 0; i < r->n; i++) {
        const hs_eval_row *w = &r->rows[i];
        if (strcmp(w->policy, "ppo") != 0)
            continue;
        double vs = hs_eval_vs_hull(w);
        char verdict[96];
        if (isfinite(vs))
            snprintf(verdict, sizeof verdict, "%s%.1f%% (%s)", vs >= 0 ? "-" : "+", 100 * fabs(vs),
                     vs >= 0.2 ? "goal met" : vs > 0 ? "better, short of the goal" : "worse than the hull");
        else if (!isfinite(w->hull_cold_rate))
            snprintf(verdict, sizeof verdict, "less idle capacity than any classic setting");
        else
            snprintf(verdict, sizeof verdict, "the hull has no cold starts there");
        fprintf(f, "| %s%s%s | %s | %.4f | %.4f | %.4f | %s |\n", w->source, w->parameter[0] ? " " : "", w->parameter,
                w->forecaster, hs_env_metrics_overprov(&w->m),
                hs_env_metrics_cold_rate(&w->m), w->hull_cold_rate, verdict);
    }
}

static hs_status hs_write_report(hs_outset *os, const hs_evaluate_config *c, const hs_evaluate_result *r,
                                 const hs_env_series *s, int64_t t_start, int64_t t_end, int skipped,
                                 const hs_hist_stats *hs)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "scaling_report.md", &f, &tmp));
    fprintf(f, "# Scaling evaluation\n\n");
    fprintf(f, "Environment: ENV.md version %d, %s series (%lld series of %lld minutes). Holdout replayed: minutes "
               "%lld..%lld (%lld transitions per series), deterministic, the agent's most likely action.\n\n",
            HS_ENV_VERSION, c->source == HS_ENV_FUNCTIONS ? "per-function" : "aggregate", (long long)s->k,
            (long long)s->n, (long long)t_start, (long long)t_end, (long long)(t_end - t_start));
    if (s->k == 1)
        fprintf(f, "Scales from the training span: c = %.4g invocations per instance-minute, S = %.4g instances, "
                   "P_max = %d.\n\n",
                s->c[0], (double)s->S[0], s->pmax[0]);
    fprintf(f, "Reward weights: cold %.3g, idle %.3g, change %.3g. Lower is better for cold-start rate and "
               "over-provisioning ratio; a policy is dominated when another is no worse on both and better on "
               "one.\n\n",
            (double)c->env.w.w_cold, (double)c->env.w.w_idle, (double)c->env.w.w_change);
    fprintf(f, "| policy | forecaster | cold starts | cold rate | idle minutes | over-provisioning | scaling volume "
               "| mean reward | Pareto |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < r->n; i++) {
        const hs_eval_row *w = &r->rows[i];
        if (w->sweep)
            continue;
        fprintf(f, "| %s | %s | %lld | %.4f | %lld | %.4f | %lld | %.5f | %s |\n", w->policy, w->forecaster, (long long)w->m.cold,
                hs_env_metrics_cold_rate(&w->m), (long long)w->m.idle, hs_env_metrics_overprov(&w->m),
                (long long)w->m.change, hs_mean_reward(&w->m),
                w->front ? "front" : w->dominated ? "dominated by a classic policy" : "dominated by an agent");
    }
    if (r->ppo_rows)
        fprintf(f, "\n%d trained agent(s) evaluated; %d of them dominated by a classic policy.\n", r->ppo_rows,
                r->ppo_dominated);
    else
        fprintf(f, "\nNo trained agent found (ppo_policy.safetensors in the folder or one level down).\n");
    if (skipped)
        fprintf(f, "%d policy file(s) skipped: trained on another series kind (see the manifest).\n", skipped);
    hs_write_front(f, r);
    if (c->source == HS_ENV_FUNCTIONS)
        fprintf(f, "\nhybrid-histogram (Shahrad et al., ATC 2020) on each function's binary activity: %lld idle "
                   "times seen (%lld beyond the 4-hour range); decisions by histogram %lld, fixed keep-alive %lld, "
                   "time-series prediction %lld. Its target is max(1, need[t]) while the function is kept warm, "
                   "else 0.\n",
                (long long)hs->idle_times, (long long)hs->idle_oob, (long long)hs->decisions_hist,
                (long long)hs->decisions_fixed, (long long)hs->decisions_ts);
    return ferror(f) ? hs_error_set(HS_ERR_IO, "%s: write failed", tmp) : HS_OK;
}

/* pareto.png: each swept classic policy a curve, the classic hull dashed, reactive and the agents
 * as labelled points. */
static hs_status hs_plot_eval(hs_outset *os, const hs_evaluate_result *r)
{
    enum { NC = 6, NA = 4 }; /* classic curves, ENV v2 agents' fronts */
    static const char *const names[NC] = {"forecast+margin (prophet)", "forecast+margin (lstm)",
                                           "forecast+margin (hybrid)", "keep-alive 1-60 min", "static p50-p100",
                                           "hybrid-histogram"};
    static const hs_color colors[NC] = {HS_COLOR_BLUE,   HS_COLOR_GREEN, HS_COLOR_PURPLE,
                                        HS_COLOR_ORANGE, HS_COLOR_BLACK, HS_COLOR_GREY};
    const char *tmp;
    HS_TRY(hs_outset_path(os, "pareto.png", &tmp));
    double *buf = malloc((size_t)(2 * (NC + NA) + 2) * HS_EVAL_MAX_ROWS * sizeof *buf);
    if (!buf)
        return hs_error_set(HS_ERR_NOMEM, "evaluate: out of memory for the plot");
    double *cx[NC + NA], *cy[NC + NA], *px = buf + 2 * (NC + NA) * HS_EVAL_MAX_ROWS, *py = px + HS_EVAL_MAX_ROWS;
    int cn[NC + NA] = {0}, np = 0, hl[HS_EVAL_MAX_ROWS], na = 0;
    char aname[NA][96];
    const char *apath[NA] = {NULL};
    char lab[HS_EVAL_MAX_ROWS][64];
    const char *labels[HS_EVAL_MAX_ROWS];
    for (int k = 0; k < NC + NA; k++) {
        cx[k] = buf + 2 * k * HS_EVAL_MAX_ROWS;
        cy[k] = cx[k] + HS_EVAL_MAX_ROWS;
    }
    for (int i = 0; i < r->n; i++) {
        const hs_eval_row *w = &r->rows[i];
        double x = hs_env_metrics_overprov(&w->m), y = hs_env_metrics_cold_rate(&w->m);
        int k = -1;
        if (w->sweep && !strcmp(w->policy, "forecast+margin"))
            k = !strcmp(w->forecaster, "prophet") ? 0 : !strcmp(w->forecaster, "lstm") ? 1 : 2;
        else if (w->sweep && !strncmp(w->policy, "keepalive-", 10))
            k = 3;
        else if (w->sweep && !strncmp(w->policy, "static-p", 8))
            k = 4;
        else if (w->sweep && !strcmp(w->policy, "hybrid-histogram"))
            k = 5;
        else if (w->env_version == HS_ENV_V2 && !strcmp(w->policy, "ppo")) { /* one curve per v2 agent */
            for (k = NC; k < NC + na && strcmp(apath[k - NC], w->source) != 0; k++)
                ;
            if (k == NC + na && na == NA)
                k = -1;
            else if (k == NC + na) {
                apath[na] = w->source;
                snprintf(aname[na], sizeof aname[na], "ppo v2 (%s), w_idle 0.5 .. 0.02", w->forecaster);
                na++;
            }
        }
        if (k >= 0) {
            cx[k][cn[k]] = x;
            cy[k][cn[k]++] = y;
        } else if (!strcmp(w->policy, "ppo") || !strcmp(w->policy, "reactive") ||
                   (!w->sweep && !strcmp(w->policy, "hybrid-histogram"))) {
            px[np] = x;
            py[np] = y;
            hl[np] = !strcmp(w->policy, "ppo");
            if (hl[np] && w->parameter[0])
                snprintf(lab[np], sizeof lab[np], "ppo v2 (%s) %s", w->forecaster, w->parameter);
            else if (hl[np])
                snprintf(lab[np], sizeof lab[np], "ppo (%s)", w->forecaster);
            else
                snprintf(lab[np], sizeof lab[np], "%s", w->policy);
            labels[np] = lab[np];
            np++;
        }
    }
    hs_plot_line curves[NC + NA];
    int nc = 0;
    for (int k = 0; k < NC; k++)
        if (cn[k])
            curves[nc++] = (hs_plot_line){cx[k], cy[k], cn[k], names[k], colors[k]};
    for (int k = 0; k < na; k++)
        curves[nc++] = (hs_plot_line){cx[NC + k], cy[NC + k], cn[NC + k], aname[k], HS_COLOR_RED};
    hs_status st = hs_plot_front_png(tmp, "Cold starts against idle capacity on the holdout (lower left is better)",
                                     "over-provisioning ratio (idle instance-minutes / needed)",
                                     "cold-start rate (cold starts / needed)", curves, nc, r->hull_x, r->hull_y,
                                     r->n_hull, px, py, labels, hl, np);
    free(buf);
    return st;
}

static void hs_eval_plan_free(hs_eval_plan *p)
{
    free(p->warm);
    for (int i = 0; i < 4; i++)
        hs_env_series_free(&p->s[i]);
}

/* Plan: the series and every forecaster found, the holdout span to replay. */
static hs_status hs_eval_load(const hs_evaluate_config *c, hs_eval_plan *p)
{
    int64_t start;
    for (int i = 0; i < 4; i++) {
        const char *dir = hs_forecast_dir(c, hs_forecasters[i]);
        if (!dir)
            continue;
        HS_TRY(hs_env_input_load(c->series_dir, dir, hs_forecasters[i], c->source, c->holdout, &p->s[i], &start));
        p->have[i] = 1;
    }
    /* per function, the LSTM forecasts the top N functions only: every policy replays those */
    if (p->have[2] && p->s[2].k < p->s[0].k)
        hs_env_series_keep(&p->s[0], p->s[2].k);
    p->t_start = p->s[0].n_train;
    p->t_end = p->s[0].n - 1;
    p->v0 = p->s[0].n_train - p->s[0].n_train / 10;
    if (p->t_end <= p->t_start)
        return hs_error_set(HS_ERR_INPUT, "evaluate: a holdout of %lld minutes leaves nothing to replay",
                            (long long)c->holdout);
    return HS_OK;
}

/* Compute: the classic policies (reactive, keep-alive, static, the histogram per function, and
 * forecast and forecast+margin for each forecaster), in the rows' order. */
static hs_status hs_eval_classic(const hs_evaluate_config *c, hs_eval_plan *p, hs_evaluate_result *r)
{
    hs_env_metrics m;
    hs_policy base[3] = {{.kind = HS_POLICY_REACTIVE}, {.kind = HS_POLICY_KEEPALIVE, .keepalive = 10},
                         {.kind = HS_POLICY_STATIC}};
    static const char *const params[3] = {"", "minutes=10", "quantile=99"};
    for (int i = 0; i < 3; i++) {
        if (!hs_selected(c->policies, hs_policy_name(&base[i])))
            continue;
        HS_TRY(hs_policy_evaluate(&base[i], &p->s[0], &c->env, p->t_start, p->t_end, &m));
        HS_TRY(hs_eval_add_row(r, hs_policy_name(&base[i]), "none", "", params[i], 0, &m));
    }
    if (c->source == HS_ENV_FUNCTIONS && hs_selected(c->policies, "hybrid-histogram")) {
        p->warm = malloc((size_t)(p->s[0].k * p->s[0].n));
        if (!p->warm)
            return hs_error_set(HS_ERR_NOMEM, "evaluate: out of memory");
        hs_hist_config hc = HS_HIST_DEFAULTS;
        HS_TRY(hs_eval_histogram(&p->s[0], &hc, p->t_start, p->t_end, p->warm, &p->hs));
        hs_policy hp = {.kind = HS_POLICY_HISTOGRAM, .warm = p->warm};
        HS_TRY(hs_policy_evaluate(&hp, &p->s[0], &c->env, p->t_start, p->t_end, &m));
        char par[48];
        snprintf(par, sizeof par, "percentiles=%g/%g", hc.prewarm_pct, hc.keepalive_pct);
        HS_TRY(hs_eval_add_row(r, hs_policy_name(&hp), "none", "", par, 0, &m));
    }
    for (int i = 1; i < 4; i++) {
        if (!p->have[i])
            continue;
        hs_policy fp = {.kind = HS_POLICY_FORECAST};
        if (hs_selected(c->policies, "forecast")) {
            HS_TRY(hs_policy_evaluate(&fp, &p->s[i], &c->env, p->t_start, p->t_end, &m));
            HS_TRY(hs_eval_add(r, "forecast", hs_forecasters[i], "", &m));
        }
        if (!hs_selected(c->policies, "forecast+margin"))
            continue;
        hs_policy mp = {.kind = HS_POLICY_MARGIN};
        HS_TRY(hs_policy_best_margin(&p->s[i], &c->env, p->v0, p->t_start - 1, &mp.headroom_pct));
        HS_TRY(hs_policy_evaluate(&mp, &p->s[i], &c->env, p->t_start, p->t_end, &m));
        char src[64], par[48];
        snprintf(src, sizeof src, "headroom %+d%%", mp.headroom_pct);
        snprintf(par, sizeof par, "headroom=%+d%%", mp.headroom_pct);
        HS_TRY(hs_eval_add_row(r, "forecast+margin", hs_forecasters[i], src, par, 0, &m));
    }
    return HS_OK;
}

/* The idle weights an ENV v2 agent is replayed with (its front). */
static const float hs_eval_idle_weights[] = {0.02f, 0.03f, 0.05f, 0.07f, 0.1f, 0.15f, 0.2f, 0.3f, 0.5f};

/* Compute: one trained agent (the policy file at out_dir/path) replayed greedily on the series of
 * its forecaster, in the action mode it was trained in. */
static hs_status hs_eval_agent(const hs_evaluate_config *c, hs_eval_plan *p, const char *path,
                               hs_evaluate_result *r)
{
    const char *want_src = c->source == HS_ENV_FUNCTIONS ? "functions" : "aggregate";
    char full[4096];
    if (snprintf(full, sizeof full, "%s/%s", c->out_dir, path) >= (int)sizeof full)
        return hs_error_set(HS_ERR_INPUT, "%s/%s: the path is too long", c->out_dir, path);
    hs_ppo_policy_file pf;
    HS_TRY(hs_ppo_policy_read(full, &pf));
    int fi = -1;
    for (int k = 0; k < 4; k++)
        if (!strcmp(pf.forecaster, hs_forecasters[k]))
            fi = k;
    hs_status st = HS_OK;
    if (strcmp(pf.env_series, want_src) != 0) {
        if (!c->quiet)
            fprintf(stderr, "evaluate: %s skipped: trained on the %s series, evaluating %s\n", full, pf.env_series,
                    want_src);
        p->skipped++;
    } else if (fi < 0 || !p->have[fi]) {
        st = hs_error_set(HS_ERR_INPUT, "%s: trained with the %s forecast, which is not in %s or %s", full,
                          pf.forecaster, c->out_dir, c->series_dir);
    } else {
        hs_ppo_config pc = HS_PPO_CONFIG_DEFAULTS;
        pc.hidden = (int)pf.l.hidden;
        pc.actions = (int)pf.l.actions;
        pc.envs = p->s[fi].k > 2 ? p->s[fi].k : 2;
        pc.steps = 8;
        pc.minibatches = 1;
        pc.obs = (int)pf.l.obs;
        hs_ppo *agent = NULL;
        st = hs_ppo_create(&agent, &pc, HS_DEVICE_CPU);
        if (st == HS_OK)
            st = hs_ppo_set_params(agent, pf.params);
        hs_policy pp = {.kind = HS_POLICY_PPO, .agent = agent};
        hs_env_config ac = c->env;
        ac.mode = pf.mode; /* the agent's actions mean what they meant in training */
        ac.version = pf.env_version;
        /* version 2 takes the idle weight as an input: one replay per weight traces its front */
        int nw = pf.env_version == HS_ENV_V2 ? (int)(sizeof hs_eval_idle_weights / sizeof *hs_eval_idle_weights) : 1;
        for (int k = 0; st == HS_OK && k < nw; k++) {
            hs_env_metrics m;
            char par[48] = "";
            if (pf.env_version == HS_ENV_V2) {
                ac.w.w_idle = hs_eval_idle_weights[k];
                snprintf(par, sizeof par, "w_idle=%g", (double)ac.w.w_idle);
            }
            st = hs_policy_evaluate(&pp, &p->s[fi], &ac, p->t_start, p->t_end, &m);
            if (st == HS_OK)
                st = hs_eval_add_row(r, "ppo", pf.forecaster, path, par, 0, &m);
            if (st == HS_OK) {
                r->rows[r->n - 1].env_version = pf.env_version;
                r->ppo_rows++;
            }
        }
        hs_ppo_free(agent);
    }
    hs_ppo_policy_file_free(&pf);
    return st;
}

/* Compute: every ppo_policy.safetensors in out_dir and one folder down. */
static hs_status hs_eval_agents(const hs_evaluate_config *c, hs_eval_plan *p, hs_evaluate_result *r)
{
    if (!hs_selected(c->policies, "ppo"))
        return HS_OK;
    char paths[16][512];
    int np = hs_find_policies(c->out_dir, paths, 16);
    if (np < 0)
        return hs_error_set(HS_ERR_INPUT, "%s: more than 16 policy files (or a folder name of 400+ characters): "
                                          "evaluate them in smaller folders",
                            c->out_dir);
    for (int i = 0; i < np; i++)
        HS_TRY(hs_eval_agent(c, p, paths[i], r));
    return HS_OK;
}

/* The manifest's configuration and metrics of an evaluation. */
static void hs_eval_manifest(const hs_evaluate_config *c, const hs_eval_plan *p, const hs_evaluate_result *r,
                             cJSON *manifest, double seconds)
{
    cJSON *cf = hs_manifest_section(manifest, "config");
    cJSON_AddNumberToObject(cf, "env_version", HS_ENV_VERSION);
    cJSON_AddStringToObject(cf, "env_series", c->source == HS_ENV_FUNCTIONS ? "functions" : "aggregate");
    cJSON_DeleteItemFromObjectCaseSensitive(cf, "holdout"); /* the CLI's option of that name: one key */
    cJSON_AddNumberToObject(cf, "holdout", (double)c->holdout);
    cJSON_AddNumberToObject(cf, "t_start", (double)p->t_start);
    cJSON_AddNumberToObject(cf, "t_end", (double)p->t_end);
    cJSON_AddNumberToObject(cf, "validation_start", (double)p->v0);
    cJSON *mt = hs_manifest_section(manifest, "metrics");
    cJSON *rows = cJSON_AddArrayToObject(mt, "policies");
    for (int i = 0; i < r->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "policy", r->rows[i].policy);
        cJSON_AddStringToObject(o, "forecaster", r->rows[i].forecaster);
        cJSON_AddNumberToObject(o, "cold_rate", hs_env_metrics_cold_rate(&r->rows[i].m));
        cJSON_AddNumberToObject(o, "overprov_ratio", hs_env_metrics_overprov(&r->rows[i].m));
        cJSON_AddNumberToObject(o, "mean_reward", hs_mean_reward(&r->rows[i].m));
        cJSON_AddBoolToObject(o, "dominated_by_classic", r->rows[i].dominated);
        cJSON_AddBoolToObject(o, "pareto_front", r->rows[i].front);
        cJSON_AddStringToObject(o, "parameter", r->rows[i].parameter);
        cJSON_AddBoolToObject(o, "sweep", r->rows[i].sweep);
        double vs = hs_eval_vs_hull(&r->rows[i]);
        if (!strcmp(r->rows[i].policy, "ppo") && isfinite(vs))
            cJSON_AddNumberToObject(o, "vs_hull", vs);
        cJSON_AddItemToArray(rows, o);
    }
    cJSON_AddNumberToObject(mt, "policy_files_skipped", p->skipped);
    cJSON_AddNumberToObject(hs_manifest_section(manifest, "timings"), "total_seconds", seconds);
}

/* Write: scaling_eval.csv, scaling_report.md, pareto.png and the manifest, all or none. */
static hs_status hs_eval_write(const hs_evaluate_config *c, const hs_eval_plan *p, const hs_evaluate_result *r,
                               cJSON *manifest, double t0)
{
    hs_outset *os = NULL;
    hs_status st = hs_outset_open(c->out_dir, &os);
    if (st == HS_OK)
        st = hs_write_eval_csv(os, r);
    if (st == HS_OK)
        st = hs_write_report(os, c, r, &p->s[0], p->t_start, p->t_end, p->skipped, &p->hs);
    if (st == HS_OK && c->plot)
        st = hs_plot_eval(os, r);
    if (st == HS_OK) {
        hs_eval_manifest(c, p, r, manifest, hs_time_now() - t0);
        st = hs_json_write(os, c->manifest_name, manifest);
    }
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    return st;
}

hs_status hs_evaluate_run(const hs_evaluate_config *c, cJSON *manifest, hs_evaluate_result *r)
{
    memset(r, 0, sizeof *r);
    HS_ASSERT(c->series_dir && c->out_dir);
    HS_TRY(hs_evaluate_check(c));
    double t0 = hs_time_now();
    hs_eval_plan p;
    memset(&p, 0, sizeof p);
    hs_status st = hs_eval_load(c, &p);
    if (st == HS_OK)
        st = hs_eval_classic(c, &p, r);
    if (st == HS_OK)
        st = hs_eval_sweep(c, &p, r);
    if (st == HS_OK)
        st = hs_eval_agents(c, &p, r);
    hs_mark_dominated(r);
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->rows[i].policy, "ppo") && r->rows[i].dominated)
            r->ppo_dominated++;
    if (st == HS_OK)
        st = hs_eval_write(c, &p, r, manifest, t0);
    hs_eval_plan_free(&p);
    return st;
}
