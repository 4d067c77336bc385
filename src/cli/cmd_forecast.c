/* cmd_forecast.c: `hyscale forecast <model> ...`; today `prophet`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hyscale/backend.h"
#include "hyscale/manifest.h"
#include "hyscale/hybrid.h"
#include "hyscale/lstm_stage.h"
#include "hyscale/prophet_stage.h"

/* "daily=4,weekly=3,yearly=off|auto" into the config's built-in orders. */
static int hs_parse_seasonality(const char *s, hs_prophet_config *m)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        const char *v = eq + 1;
        int order;
        if (!strcmp(v, "auto"))
            order = -1;
        else if (!strcmp(v, "off") || !strcmp(v, "false"))
            order = 0;
        else {
            char *end;
            long o = strtol(v, &end, 10);
            if (*end || o < 0 || o > 100)
                return -1;
            order = (int)o;
        }
        if (!strcmp(tok, "daily"))
            m->daily = order;
        else if (!strcmp(tok, "weekly"))
            m->weekly = order;
        else if (!strcmp(tok, "yearly"))
            m->yearly = order;
        else
            return -1;
    }
    return 0;
}

/* "name:period_days:order[:prior_scale[:additive|multiplicative]]". */
static int hs_parse_extra(const char *s, hs_prophet_config *m)
{
    if (m->n_extra >= HS_PROPHET_MAX_SEASONALITIES)
        return -1;
    hs_seasonality *x = &m->extra[m->n_extra];
    memset(x, 0, sizeof *x);
    char mode[32] = "";
    x->prior_scale = m->seasonality_prior_scale;
    x->multiplicative = m->multiplicative;
    int got = sscanf(s, "%31[^:]:%lf:%d:%lf:%31s", x->name, &x->period, &x->order, &x->prior_scale, mode);
    if (got < 3 || !(x->period > 0) || x->order < 1 || !(x->prior_scale > 0))
        return -1;
    if (got == 5) {
        if (!strcmp(mode, "multiplicative"))
            x->multiplicative = 1;
        else if (!strcmp(mode, "additive"))
            x->multiplicative = 0;
        else
            return -1;
    }
    m->n_extra++;
    return 0;
}

static int hs_cmd_forecast_prophet(int argc, char **argv)
{
    hs_prophet_stage_config c = HS_PROPHET_STAGE_DEFAULTS;
    const char *seas = NULL, *mode = "additive", *device = "auto", *optimizer = "exact";
    hs_strlist extra = {0};
    int no_plot = 0, per_function = 0;
    hs_opt opts[] = {
        {"input", HS_OPT_STR, &c.input, "FILE", "a preprocessed series.csv (log1p modelled) or a ds,y file"},
        {"out", HS_OPT_STR, &c.out_dir, "DIR", "output folder (required)"},
        {"holdout", HS_OPT_I64, &c.holdout, "N", "keep the last N points out of the fit and score them (default 0)"},
        {"horizon", HS_OPT_I64, &c.horizon, "K", "points to forecast after the data (default 1440 per-minute, else 30)"},
        {"seasonality", HS_OPT_STR, &seas, "SPEC", "built-in orders, e.g. daily=4,weekly=3,yearly=off (default auto)"},
        {"seasonality-mode", HS_OPT_STR, &mode, "MODE", "additive (default) or multiplicative"},
        {"add-seasonality", HS_OPT_LIST, &extra, "NAME:PERIOD:ORDER[:PRIOR[:MODE]]", "a user seasonality (period in days)"},
        {"changepoints", HS_OPT_INT, &c.model.n_changepoints, "N", "potential changepoints (default 25)"},
        {"changepoint-range", HS_OPT_DOUBLE, &c.model.changepoint_range, "R", "share of the history with changepoints (0.8)"},
        {"changepoint-prior-scale", HS_OPT_DOUBLE, &c.model.changepoint_prior_scale, "TAU", "Laplace scale of the deltas (0.05)"},
        {"seasonality-prior-scale", HS_OPT_DOUBLE, &c.model.seasonality_prior_scale, "S", "normal scale of the betas (10)"},
        {"uncertainty-samples", HS_OPT_INT, &c.model.uncertainty_samples, "N", "simulated futures for the interval (1000; 0: none)"},
        {"interval-width", HS_OPT_DOUBLE, &c.model.interval_width, "W", "interval width (0.8)"},
        {"optimizer", HS_OPT_STR, &optimizer, "exact|owlqn", "MAP optimizer: exact block solver (default) or OWL-QN"},
        {"max-iterations", HS_OPT_INT, &c.model.max_iterations, "N", "limit of the optimizer's iterations (10000)"},
        {"seed", HS_OPT_U64, &c.model.seed, "S", "seed of the interval simulation (default 0)"},
        {"per-function", HS_OPT_INT, &per_function, "N",
         "fit one model per function for the top N functions beside the series.csv, at once (needs --holdout)"},
        {"no-plot", HS_OPT_FLAG, &no_plot, NULL, "do not write the PNG plots"},
        {"device", HS_OPT_STR, &device, "auto|cpu|cuda", "device (the fit runs on the CPU: it takes milliseconds)"},
        {"quiet", HS_OPT_FLAG, &c.quiet, NULL, "no summary"},
    };
    hs_cli cli = {"forecast prophet", "--input FILE --out DIR [--holdout N] [--horizon K] [options]",
                  "Prophet's additive model (piecewise-linear trend, Fourier seasonalities, MAP fit) in C.\n"
                  "Writes prophet_full.csv, prophet_next.csv, prophet_metrics.json, prophet_model.json,\n"
                  "prophet.png, prophet_components.png and manifest.json into DIR. With --per-function N: one model\n"
                  "per function (prophet_functions.csv, prophet_functions_forecast8.safetensors,\n"
                  "prophet_functions_metrics.json).",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (!c.input || !c.out_dir) {
        fprintf(stderr, "hyscale forecast prophet: --input and --out are required (see --help)\n");
        return 2;
    }
    if (!strcmp(mode, "multiplicative"))
        c.model.multiplicative = 1;
    else if (strcmp(mode, "additive") != 0) {
        fprintf(stderr, "hyscale forecast prophet: --seasonality-mode '%s': additive or multiplicative\n", mode);
        return 2;
    }
    if (!strcmp(optimizer, "owlqn"))
        c.model.optimizer = HS_PROPHET_OWLQN;
    else if (strcmp(optimizer, "exact") != 0) {
        fprintf(stderr, "hyscale forecast prophet: --optimizer '%s': exact or owlqn\n", optimizer);
        return 2;
    }
    if (seas && hs_parse_seasonality(seas, &c.model)) {
        fprintf(stderr, "hyscale forecast prophet: --seasonality '%s': expected e.g. daily=4,weekly=3,yearly=off\n",
                seas);
        return 2;
    }
    for (int i = 0; i < extra.n; i++)
        if (hs_parse_extra(extra.v[i], &c.model)) {
            fprintf(stderr, "hyscale forecast prophet: --add-seasonality '%s': expected NAME:PERIOD:ORDER"
                            "[:PRIOR[:additive|multiplicative]]\n",
                    extra.v[i]);
            return 2;
        }
    if (hs_prophet_stage_check(&c))
        return hs_cli_usage_fail(&cli);
    hs_device dev;
    hs_status st = hs_device_resolve(device, &dev);
    if (st)
        return hs_cli_fail(st);
    c.plot = !no_plot;
    cJSON *m = hs_manifest_new("forecast prophet", argc, argv);
    cJSON_AddItemToObject(m, "config", hs_cli_config_json(&cli));
    cJSON_AddNumberToObject(m, "seed", (double)c.model.seed);
    hs_manifest_set_device(m, HS_DEVICE_CPU);
    if (per_function > 0) {
        hs_prophet_functions_result fr;
        st = hs_prophet_functions_run(&c, per_function, m, &fr);
        cJSON_Delete(m);
        if (st)
            return st == HS_ERR_USAGE ? hs_cli_usage_fail(&cli) : hs_cli_fail(st);
        if (!c.quiet)
            printf("forecast prophet: %d functions fitted at once on %lld points (%lld held out) in %.3f s (%.0f fits/s, "
                   "%d threads; cleaning %.2f s, forecasts %.2f s); holdout mean MAE %.4g, RMSE %.4g\n"
                   "  outputs      %s/ (prophet_functions.csv, prophet_functions_forecast8.safetensors, "
                   "prophet_functions_metrics.json)\n",
                   fr.functions, (long long)(fr.n - fr.holdout), (long long)fr.holdout, fr.fit_seconds,
                   fr.fit_seconds > 0 ? fr.functions / fr.fit_seconds : 0.0, fr.threads, fr.clean_seconds,
                   fr.predict_seconds, fr.mean_mae, fr.mean_rmse, c.out_dir);
        return 0;
    }
    hs_prophet_stage_result r;
    st = hs_prophet_stage_run(&c, m, &r);
    cJSON_Delete(m);
    if (st)
        return hs_cli_fail(st);
    if (!c.quiet) {
        printf("forecast prophet: %lld points (%lld fitted, %lld held out), horizon %lld\n", (long long)r.n,
               (long long)r.n_train, (long long)r.holdout, (long long)r.horizon);
        if (r.holdout > 0)
            printf("  holdout      mae %.4g  rmse %.4g\n", r.mae, r.rmse);
        printf("  fit          %.1f ms (%d iterations), predict %.1f ms\n", 1e3 * r.fit_seconds, r.iterations,
               1e3 * r.predict_seconds);
        printf("  outputs      %s/ (prophet_full.csv, prophet_next.csv, prophet_metrics.json, prophet_model.json, "
               "prophet.png)\n",
               c.out_dir);
    }
    return 0;
}

static int hs_cmd_forecast_lstm(int argc, char **argv)
{
    hs_lstm_stage_config c = HS_LSTM_STAGE_DEFAULTS;
    const char *device = "auto", *impl = "auto";
    int no_plot = 0, per_function = 0, no_calendar = 0;
    double lr = c.train.lr, clip = c.train.clip;
    hs_opt opts[] = {
        {"input", HS_OPT_STR, &c.input, "FILE", "a preprocessed series.csv (log1p modelled) or a ds,y file"},
        {"out", HS_OPT_STR, &c.out_dir, "DIR", "output folder (required)"},
        {"holdout", HS_OPT_I64, &c.holdout, "N", "keep the last N points out of training and score them (default 0)"},
        {"horizon", HS_OPT_I64, &c.horizon, "K", "points to forecast after the data (default 1440 per-minute, else 30)"},
        {"hidden", HS_OPT_INT, &c.train.hidden, "H", "hidden size (64)"},
        {"layers", HS_OPT_INT, &c.train.layers, "L", "stacked LSTM layers, 1 or 2 (1)"},
        {"window", HS_OPT_INT, &c.train.window, "W", "input window in points (60)"},
        {"outputs", HS_OPT_INT, &c.train.horizon, "K",
         "values the head predicts at once (default: an hour's points when the training span covers 2 days, else 1)"},
        {"epochs", HS_OPT_INT, &c.train.epochs, "E", "most epochs (30; early stopping on validation)"},
        {"patience", HS_OPT_INT, &c.train.patience, "P", "epochs without a better validation loss before stopping (5)"},
        {"batch", HS_OPT_INT, &c.train.batch, "B", "batch size (256)"},
        {"lr", HS_OPT_DOUBLE, &lr, "LR", "Adam learning rate (1e-3)"},
        {"clip", HS_OPT_DOUBLE, &clip, "C", "gradient-norm clipping (1.0)"},
        {"calendar", HS_OPT_FLAG, &c.train.calendar, NULL,
         "add sin/cos of minute of day and day of week as inputs (default when the training span covers 2 days)"},
        {"no-calendar", HS_OPT_FLAG, &no_calendar, NULL, "no calendar inputs, however long the series"},
        {"seed", HS_OPT_U64, &c.train.seed, "S", "seed of the initialisation and the shuffles (1)"},
        {"weights", HS_OPT_STR, &c.weights, "FILE", "predict with a saved lstm.safetensors instead of training"},
        {"per-function", HS_OPT_INT, &per_function, "N",
         "train one model per function for the top N functions beside the series.csv, at once"},
        {"device", HS_OPT_STR, &device, "auto|cpu|cuda", "device (auto: the GPU when one answers, else the CPU)"},
        {"lstm-impl", HS_OPT_STR, &impl, "auto|cublas|persistent|cudnn",
         "the GPU implementation (auto: the fastest correct one for the shape)"},
        {"no-plot", HS_OPT_FLAG, &no_plot, NULL, "do not write the PNG plots"},
        {"quiet", HS_OPT_FLAG, &c.quiet, NULL, "no progress or summary"},
    };
    hs_cli cli = {"forecast lstm", "--input FILE --out DIR [--holdout N] [--horizon K] [options]",
                  "An LSTM forecaster (PyTorch's cell and init, Adam, early stopping) trained on the CPU or a GPU.\n"
                  "Writes lstm_full.csv, lstm_recursive.csv, lstm_next.csv, lstm_forecast8.csv,\n"
                  "lstm_metrics.json, lstm.safetensors, lstm.png, lstm_loss.png and manifest.json into DIR.",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (!c.input || !c.out_dir) {
        fprintf(stderr, "hyscale forecast lstm: --input and --out are required (see --help)\n");
        return 2;
    }
    c.train.lr = (float)lr;
    c.train.clip = (float)clip;
    if ((rc = hs_cli_calendar(&cli, &c.train.calendar, no_calendar)) >= 0)
        return rc;
    if (hs_lstm_stage_check(&c))
        return hs_cli_usage_fail(&cli);
    c.train.quiet = c.quiet;
    hs_device dev;
    hs_status pst = hs_lstm_pick_backend(device, impl, c.quiet, &c.train.backend, &dev);
    if (pst)
        return hs_cli_fail(pst);
    c.plot = !no_plot;
    cJSON *m = hs_manifest_new("forecast lstm", argc, argv);
    cJSON_AddItemToObject(m, "config", hs_cli_config_json(&cli));
    cJSON_AddNumberToObject(m, "seed", (double)c.train.seed);
    hs_manifest_set_device(m, dev);
    hs_lstm_stage_result r;
    hs_status st = per_function > 0 ? hs_lstm_functions_run(&c, per_function, m, &r) : hs_lstm_stage_run(&c, m, &r);
    cJSON_Delete(m);
    if (st)
        return hs_cli_fail(st);
    if (!c.quiet && per_function > 0) {
        printf("forecast lstm: %d functions trained at once, %d epochs in %.1f s; holdout mean MAE one step %.4g, "
               "recursive %.4g\n  outputs      %s/ (lstm_functions.csv, lstm_functions.safetensors, "
               "lstm_functions_forecast8.safetensors, lstm_functions_metrics.json)\n",
               per_function, r.epochs, r.train_seconds, r.one_step_mae, r.recursive_mae, c.out_dir);
    } else if (!c.quiet) {
        printf("forecast lstm: %lld points (%lld trained on, %lld held out), %d epochs in %.1f s\n", (long long)r.n,
               (long long)r.n_train, (long long)r.holdout, r.epochs, r.train_seconds);
        if (r.holdout > 0)
            printf("  holdout      one step: mae %.4g rmse %.4g; recursive: mae %.4g rmse %.4g\n", r.one_step_mae,
                   r.one_step_rmse, r.recursive_mae, r.recursive_rmse);
        printf("  outputs      %s/ (lstm_full.csv, lstm_next.csv, lstm_metrics.json, lstm.safetensors, lstm.png)\n",
               c.out_dir);
    }
    return 0;
}

static int hs_cmd_forecast_hybrid(int argc, char **argv)
{
    const char *dir = NULL;
    int quiet = 0, report = 0;
    hs_opt opts[] = {
        {"out", HS_OPT_STR, &dir, "DIR", "the folder holding the Prophet and LSTM outputs (required)"},
        {"report", HS_OPT_FLAG, &report, NULL, "also write forecast_report.md"},
        {"quiet", HS_OPT_FLAG, &quiet, NULL, "no summary"},
    };
    hs_cli cli = {"forecast hybrid", "--out DIR [--report]",
                  "Combines the Prophet and LSTM forecasts found in DIR: their average and a blend weighted on the\n"
                  "validation span. Writes hybrid_full.csv, hybrid_next.csv, hybrid_weighted_*.csv,\n"
                  "hybrid_forecast8.csv, hybrid_metrics.json and hybrid.png.",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (!dir) {
        fprintf(stderr, "hyscale forecast hybrid: --out DIR is required\n");
        return 2;
    }
    cJSON *m = hs_manifest_new("forecast hybrid", argc, argv);
    cJSON_AddItemToObject(m, "config", hs_cli_config_json(&cli));
    hs_manifest_set_device(m, HS_DEVICE_CPU);
    hs_hybrid_result r;
    hs_status st = hs_hybrid_run(dir, quiet, m, &r);
    cJSON_Delete(m);
    if (st == HS_OK && report)
        st = hs_forecast_report_write(dir);
    if (st)
        return hs_cli_fail(st);
    return 0;
}

int hs_cmd_forecast(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "hybrid"))
        return hs_cmd_forecast_hybrid(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "prophet"))
        return hs_cmd_forecast_prophet(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "lstm"))
        return hs_cmd_forecast_lstm(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: hyscale forecast prophet|lstm --input FILE --out DIR | hybrid --out DIR   (--help after the model)\n");
        return 0;
    }
    fprintf(stderr, "hyscale forecast: name the model: hyscale forecast prophet|lstm --input FILE --out DIR\n");
    return 2;
}
