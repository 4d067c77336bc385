/* cmd_backtest.c: `hyscale backtest`: Prophet's cross_validation and performance_metrics for
 * Prophet, the LSTM or their average (backtest.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hyscale/backtest.h"
#include "hyscale/lstm_stage.h"
#include "hyscale/manifest.h"

/* A duration option into *out (seconds); 0, or 2 after a message. */
static int hs_duration_opt(const char *name, const char *text, int64_t *out)
{
    if (!text)
        return 0;
    if (hs_backtest_parse_duration(text, out) == 0)
        return 0;
    fprintf(stderr, "hyscale backtest: --%s '%s': expected a duration such as 3d, 12h, 90min, 30s or 1440 (minutes)\n",
            name, text);
    return 2;
}

int hs_cmd_backtest(int argc, char **argv)
{
    hs_backtest_config c = HS_BACKTEST_DEFAULTS;
    const char *model = "prophet", *horizon = NULL, *period = NULL, *initial = NULL, *device = "auto", *impl = "auto";
    int no_plot = 0, no_calendar = 0;
    double lr = c.lstm.lr;
    hs_opt opts[] = {
        {"model", HS_OPT_STR, &model, "prophet|lstm|hybrid", "the forecaster to backtest (prophet)"},
        {"input", HS_OPT_STR, &c.input, "SERIES", "a preprocessed series.csv (log1p modelled) or a ds,y file"},
        {"out", HS_OPT_STR, &c.out_dir, "DIR", "output folder (required)"},
        {"horizon", HS_OPT_STR, &horizon, "DUR", "how far each cutoff forecasts (minute data: 1 day; else required)"},
        {"period", HS_OPT_STR, &period, "DUR", "spacing of the cutoffs (horizon / 2)"},
        {"initial", HS_OPT_STR, &initial, "DUR", "data before the first cutoff (max(3 horizons, longest seasonality))"},
        {"rolling-window", HS_OPT_DOUBLE, &c.rolling_window, "R", "share of the forecasts each metric averages (0.1)"},
        {"changepoints", HS_OPT_INT, &c.prophet.n_changepoints, "N", "Prophet: potential changepoints (25)"},
        {"changepoint-prior-scale", HS_OPT_DOUBLE, &c.prophet.changepoint_prior_scale, "TAU",
         "Prophet: Laplace scale of the deltas (0.05)"},
        {"seasonality-prior-scale", HS_OPT_DOUBLE, &c.prophet.seasonality_prior_scale, "S",
         "Prophet: normal scale of the betas (10)"},
        {"uncertainty-samples", HS_OPT_INT, &c.prophet.uncertainty_samples, "N",
         "Prophet's simulated futures for the interval (1000; 0: none, no coverage)"},
        {"interval-width", HS_OPT_DOUBLE, &c.prophet.interval_width, "W", "Prophet's interval width (0.8)"},
        {"seed", HS_OPT_U64, &c.prophet.seed, "S", "seed of the interval simulation (0)"},
        {"epochs", HS_OPT_INT, &c.lstm.epochs, "E", "LSTM: most epochs (30)"},
        {"hidden", HS_OPT_INT, &c.lstm.hidden, "H", "LSTM: hidden size (64)"},
        {"window", HS_OPT_INT, &c.lstm.window, "W", "LSTM: input window in points (60)"},
        {"batch", HS_OPT_INT, &c.lstm.batch, "B", "LSTM: batch size (256)"},
        {"lr", HS_OPT_DOUBLE, &lr, "LR", "LSTM: Adam learning rate (1e-3)"},
        {"calendar", HS_OPT_FLAG, &c.lstm.calendar, NULL,
         "LSTM: sin/cos of minute of day and day of week as inputs (default from 2 days before the first cutoff)"},
        {"no-calendar", HS_OPT_FLAG, &no_calendar, NULL, "LSTM: no calendar inputs"},
        {"outputs", HS_OPT_INT, &c.lstm.horizon, "K",
         "LSTM: values the head predicts at once (default: an hour's points from 2 days of training, else 1)"},
        {"lstm-seed", HS_OPT_U64, &c.lstm.seed, "S", "LSTM: seed of the initialisation and shuffles (1)"},
        {"device", HS_OPT_STR, &device, "auto|cpu|cuda", "where the LSTM trains (auto)"},
        {"lstm-impl", HS_OPT_STR, &impl, "auto|cublas|persistent|cudnn", "the LSTM's GPU implementation (auto)"},
        {"no-plot", HS_OPT_FLAG, &no_plot, NULL, "do not write backtest_metrics.png"},
        {"quiet", HS_OPT_FLAG, &c.quiet, NULL, "no progress or summary"},
    };
    hs_cli cli = {"backtest", "--input SERIES --out DIR [--model prophet|lstm|hybrid] [--horizon D] [--period D] "
                              "[--initial D] [options]",
                  "Prophet's cross_validation and performance_metrics: forecasts from cutoffs every period (the last\n"
                  "at the end minus the horizon), each from the data before it, scored by horizon. Prophet is\n"
                  "refitted at every cutoff; the LSTM is trained once on the data before the first cutoff; hybrid\n"
                  "averages the two. Writes backtest.csv, backtest_metrics.csv, backtest_metrics.png and\n"
                  "backtest.manifest.json into DIR.",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (!c.input || !c.out_dir) {
        fprintf(stderr, "hyscale backtest: --input and --out are required (see --help)\n");
        return 2;
    }
    if ((rc = hs_cli_calendar(&cli, &c.lstm.calendar, no_calendar)) >= 0)
        return rc;
    if (!strcmp(model, "prophet"))
        c.model = HS_BT_PROPHET;
    else if (!strcmp(model, "lstm"))
        c.model = HS_BT_LSTM;
    else if (!strcmp(model, "hybrid"))
        c.model = HS_BT_HYBRID;
    else {
        fprintf(stderr, "hyscale backtest: --model '%s': prophet, lstm or hybrid\n", model);
        return 2;
    }
    if (hs_duration_opt("horizon", horizon, &c.horizon) || hs_duration_opt("period", period, &c.period) ||
        hs_duration_opt("initial", initial, &c.initial))
        return 2;
    c.lstm.lr = (float)lr;
    if (hs_backtest_check(&c))
        return hs_cli_usage_fail(&cli);
    hs_device dev = HS_DEVICE_CPU;
    if (c.model != HS_BT_PROPHET) {
        hs_status pst = hs_lstm_pick_backend(device, impl, c.quiet, &c.lstm.backend, &dev);
        if (pst)
            return hs_cli_fail(pst);
    }
    c.plot = !no_plot;
    cJSON *m = hs_manifest_new("backtest", argc, argv);
    cJSON_AddItemToObject(m, "config", hs_cli_config_json(&cli));
    hs_manifest_set_device(m, dev);
    hs_backtest_result r;
    hs_status st = hs_backtest_run(&c, m, &r);
    cJSON_Delete(m);
    if (st)
        return st == HS_ERR_USAGE ? hs_cli_usage_fail(&cli) : hs_cli_fail(st);
    if (!c.quiet) {
        printf("backtest %s: %lld cutoffs (horizon %lld s, period %lld s, initial %lld s), %lld forecasts in %.2f s; "
               "MAE %.4g, RMSE %.4g over all of them\n"
               "  outputs      %s/ (backtest.csv, backtest_metrics.csv (%lld horizons), backtest_metrics.png)\n",
               model, (long long)r.cutoffs, (long long)r.horizon, (long long)r.period, (long long)r.initial,
               (long long)r.rows, r.seconds, r.mae, r.rmse, c.out_dir, (long long)r.horizons);
    }
    return 0;
}
