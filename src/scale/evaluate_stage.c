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

static const char *const hs_forecasters[4] = {"none", "prophet", "lstm", "hybrid"};

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

static hs_status hs_eval_add(hs_evaluate_result *r, const char *policy, const char *fc, const char *source,
                             const hs_env_metrics *m)
{
    if (r->n >= (int)(sizeof r->rows / sizeof *r->rows))
        return hs_error_set(HS_ERR_INPUT, "evaluate: more than %d policies", (int)(sizeof r->rows / sizeof *r->rows));
    hs_eval_row *row = &r->rows[r->n++];
    memset(row, 0, sizeof *row);
    snprintf(row->policy, sizeof row->policy, "%s", policy);
    snprintf(row->forecaster, sizeof row->forecaster, "%s", fc);
    snprintf(row->source, sizeof row->source, "%s", source);
    row->m = *m;
    return HS_OK;
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

/* The hybrid-histogram policy on every function's binary activity: warm (K, N). */
static hs_status hs_eval_histogram(const hs_env_series *s, int64_t t_start, int64_t t_end, uint8_t *warm,
                                   hs_hist_stats *tot)
{
    memset(tot, 0, sizeof *tot);
    uint8_t *active = malloc((size_t)s->n);
    if (!active)
        return hs_error_set(HS_ERR_NOMEM, "evaluate: out of memory");
    hs_hist_config hc = HS_HIST_DEFAULTS;
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
    double x[64], y[64];
    unsigned char front[64];
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
}

static double hs_mean_reward(const hs_env_metrics *m) { return m->steps ? m->reward / (double)m->steps : 0.0; }

static hs_status hs_write_eval_csv(hs_outset *os, const hs_evaluate_result *r)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "scaling_eval.csv", &f, &tmp));
    fputs("policy,forecaster,cold_starts,cold_rate,idle_minutes,overprov_ratio,scaling_volume,mean_reward,"
          "env_version,source,dominated,front\n",
          f);
    for (int i = 0; i < r->n; i++) {
        const hs_eval_row *w = &r->rows[i];
        static const char *const names[3] = {"cold_rate", "overprov_ratio", "mean_reward"};
        double v[3] = {hs_env_metrics_cold_rate(&w->m), hs_env_metrics_overprov(&w->m), hs_mean_reward(&w->m)};
        for (int k = 0; k < 3; k++) /* columns 4, 6 and 8 */
            HS_TRY(hs_out_check_finite(tmp, i + 2, 4 + 2 * k, names + k, v + k, 1));
        fprintf(f, "%s,%s,%lld,%.6f,%lld,%.6f,%lld,%.6f,%d,%s,%d,%d\n", w->policy, w->forecaster,
                (long long)w->m.cold, hs_env_metrics_cold_rate(&w->m), (long long)w->m.idle,
                hs_env_metrics_overprov(&w->m), (long long)w->m.change, hs_mean_reward(&w->m), HS_ENV_VERSION,
                w->source, w->dominated, w->front);
    }
    return ferror(f) ? hs_error_set(HS_ERR_IO, "%s: write failed", tmp) : HS_OK;
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
    if (c->source == HS_ENV_FUNCTIONS)
        fprintf(f, "\nhybrid-histogram (Shahrad et al., ATC 2020) on each function's binary activity: %lld idle "
                   "times seen (%lld beyond the 4-hour range); decisions by histogram %lld, fixed keep-alive %lld, "
                   "time-series prediction %lld. Its target is max(1, need[t]) while the function is kept warm, "
                   "else 0.\n",
                (long long)hs->idle_times, (long long)hs->idle_oob, (long long)hs->decisions_hist,
                (long long)hs->decisions_fixed, (long long)hs->decisions_ts);
    return ferror(f) ? hs_error_set(HS_ERR_IO, "%s: write failed", tmp) : HS_OK;
}

static hs_status hs_plot_eval(hs_outset *os, const hs_evaluate_result *r)
{
    const char *tmp;
    HS_TRY(hs_outset_path(os, "pareto.png", &tmp));
    double x[64], y[64];
    int hl[64];
    unsigned char front[64];
    char lab[64][64];
    const char *labels[64];
    for (int i = 0; i < r->n; i++) {
        const hs_eval_row *w = &r->rows[i];
        x[i] = hs_env_metrics_overprov(&w->m);
        y[i] = hs_env_metrics_cold_rate(&w->m);
        hl[i] = !strcmp(w->policy, "ppo");
        front[i] = (unsigned char)w->front;
        if (!strcmp(w->forecaster, "none") && !hl[i])
            snprintf(lab[i], sizeof lab[i], "%s", w->policy);
        else
            snprintf(lab[i], sizeof lab[i], "%s (%s)", w->policy, w->forecaster);
        labels[i] = lab[i];
    }
    return hs_plot_pareto_png(tmp, "Cold starts against idle capacity on the holdout (lower left is better)",
                              "over-provisioning ratio (idle instance-minutes / needed)",
                              "cold-start rate (cold starts / needed)", x, y, labels, hl, front, r->n);
}

/* What an evaluation works on: the series with each forecaster's tables, the replayed span and
 * the margin policy's validation start, the histogram policy's warm flags. */
typedef struct hs_eval_plan {
    hs_env_series s[4]; /* none, prophet, lstm, hybrid (hs_forecasters) */
    int have[4];
    int64_t t_start, t_end, v0;
    uint8_t *warm;      /* (K, N) the histogram policy's, or NULL */
    hs_hist_stats hs;
    int skipped;        /* policy files trained on the other series kind */
} hs_eval_plan;

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
    for (int i = 0; i < 3; i++) {
        if (!hs_selected(c->policies, hs_policy_name(&base[i])))
            continue;
        HS_TRY(hs_policy_evaluate(&base[i], &p->s[0], &c->env, p->t_start, p->t_end, &m));
        HS_TRY(hs_eval_add(r, hs_policy_name(&base[i]), "none", "", &m));
    }
    if (c->source == HS_ENV_FUNCTIONS && hs_selected(c->policies, "hybrid-histogram")) {
        p->warm = malloc((size_t)(p->s[0].k * p->s[0].n));
        if (!p->warm)
            return hs_error_set(HS_ERR_NOMEM, "evaluate: out of memory");
        HS_TRY(hs_eval_histogram(&p->s[0], p->t_start, p->t_end, p->warm, &p->hs));
        hs_policy hp = {.kind = HS_POLICY_HISTOGRAM, .warm = p->warm};
        HS_TRY(hs_policy_evaluate(&hp, &p->s[0], &c->env, p->t_start, p->t_end, &m));
        HS_TRY(hs_eval_add(r, hs_policy_name(&hp), "none", "", &m));
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
        HS_TRY(hs_policy_best_margin(&p->s[i], &c->env, p->v0, p->t_start - 1, &mp.action));
        HS_TRY(hs_policy_evaluate(&mp, &p->s[i], &c->env, p->t_start, p->t_end, &m));
        char src[64];
        snprintf(src, sizeof src, "headroom %+d%%", 10 * hs_env_margin_tenths(mp.action));
        HS_TRY(hs_eval_add(r, "forecast+margin", hs_forecasters[i], src, &m));
    }
    return HS_OK;
}

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
        hs_ppo *agent = NULL;
        hs_env_metrics m;
        st = hs_ppo_create(&agent, &pc, HS_DEVICE_CPU);
        if (st == HS_OK)
            st = hs_ppo_set_params(agent, pf.params);
        hs_policy pp = {.kind = HS_POLICY_PPO, .agent = agent};
        hs_env_config ac = c->env;
        ac.mode = pf.mode; /* the agent's actions mean what they meant in training */
        if (st == HS_OK)
            st = hs_policy_evaluate(&pp, &p->s[fi], &ac, p->t_start, p->t_end, &m);
        if (st == HS_OK)
            st = hs_eval_add(r, "ppo", pf.forecaster, path, &m);
        if (st == HS_OK)
            r->ppo_rows++;
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
