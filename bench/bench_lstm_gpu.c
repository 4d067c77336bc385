/* bench_lstm_gpu.c: throughput of the LSTM's CUDA backends (lstm.h), the hyscale side of
 * bench/gpu_check.sh (the PyTorch side is bench/lstm_gpu_peer.py; see bench/README.md).
 *
 *     bench_lstm_gpu --hidden 64 --layers 1 [--batch 256] [--models 1] [--window 60] [--features 1]
 *                    [--horizon 1] [--impl cublas|persistent|cudnn|auto[,...]]
 *                    [--mode train|infer|recursive[,...]] [--steps 20] [--warmup 3] [--reps 5]
 *                    [--forecast 1440] [--seed 1] [--json FILE]
 *
 * --impl and --mode take a comma-separated list: one process runs every (impl, mode) pair, one
 * after the other, so that the CUDA context, cuBLAS and cuDNN load once. One JSON object per
 * line per pair goes to --json FILE (or stdout), written as soon as the pair is done.
 *
 * train and infer run on the device-resident path (be->resident: bind, set_ends, train, eval,
 * take_losses, finish), what `hyscale forecast lstm --device cuda` runs. The data: N synthetic
 * series (two sines and noise, normalised) of M = W + K + S*B points, the S*B window ends
 * [W, W + S*B) shuffled and uploaded once with set_ends; rep step s trains on ends[s*B, s*B + B)
 * (every window of a rep distinct), infer step s evaluates the windows ending at W + s*B ...
 *   train: one step = gather, forward, MSE, backward, clip_grad_norm(1.0) per model, Adam
 *          (lr 1e-3), all on the GPU and asynchronous; a repetition of S steps ends with
 *          take_losses (the device synchronises), CLOCK_MONOTONIC around it.
 *   infer: one step = gather, forward and MSE (eval) on B windows per model.
 *   recursive: hs_lstm_predict_cuda, the --forecast step recursive forecast of every model from
 *          the end of its series, in one persistent launch; the device time it reports and the
 *          wall time around the call (parameters and series copied in, forecasts out).
 *
 * Validates before it times (a failed validation fails that pair, exit 1):
 *   - the device forward against the CPU backend: before any training, eval of the first
 *     min(B, 256) windows against be_cpu->forward + hs_lstm_mse of the same windows and weights,
 *     per model |gpu - cpu| <= 1e-3 |cpu| + 1e-6 (float32 with another summation order agrees to
 *     about 1e-6 relative; TF32 GEMMs, 10-bit mantissas, would be off by about 1e-3);
 *   - train: the warm-up steps all run on the first batch (first = 0), every loss finite and the
 *     mean loss over the models lower at the last warm-up step than at the first, as bench_lstm;
 *   - recursive: the first forecast against hs_lstm_predict (CPU) of the same model, every value
 *     within 5e-3 + 5e-3 |cpu| (1440 steps fed back through float32 math in another order; a
 *     wrong kernel is off by O(0.1)).
 *
 * Reported, median of R repetitions:
 *   windows_per_second = N * B * S / seconds   (recursive: N * ceil(steps / K) / device seconds)
 *   seconds_per_step   = seconds / S           (recursive: device seconds / ceil(steps / K))
 *   flops_per_window   = forward: sum over layers of W * 2 * 4H * (F_l + H), plus 2 * H * K
 *                        (F_0 = F, F_l = H above); training counts 3 x forward
 *   flops_per_second   = windows_per_second * flops_per_window
 * Exit: 0 every pair ok; 1 no CUDA build, no GPU, a validation or a device failure; 2 bad
 * command line, or an implementation that declines the shape (HS_ERR_USAGE, e.g. persistent
 * for H > hs_lstm_cuda_persist_max_hidden()): its JSON line says "status": "usage". */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hyscale/backend.h"
#include "bench_util.h"
#include "backend/lstm_seam.h"
#include "hyscale/lstm.h"
#include "hyscale/math/rng.h"

#define MAX_LIST 8
#define MAX_ENDS (1LL << 24)  /* window ends uploaded at most; more steps reuse them cyclically */
#define REF_WINDOWS 256       /* windows checked against the CPU backend */
#define START_UNIX 1700000000 /* the series' first minute (calendar features only) */

typedef struct bench_opts {
    int hidden, layers, batch, models, window, features, horizon, steps, warmup, reps, forecast;
    uint64_t seed;
    const char *json;
    int n_impl, n_mode;
    char impl[MAX_LIST][16]; /* cublas | persistent | cudnn | auto */
    char mode[MAX_LIST][16]; /* train | infer | recursive */
} bench_opts;

/* One (impl, mode) pair's outcome: one JSON line. */
typedef struct bench_result {
    const char *impl, *mode;
    const char *impl_ran; /* hs_lstm_impl_name after the run, NULL when it never ran */
    hs_status st;         /* HS_OK, or the failure */
    int valid;            /* 0: the validation failed */
    char error[512];
    double *rep_s;   /* (reps) seconds: wall for train and infer, device for recursive */
    double *rep_w;   /* (reps) recursive: wall seconds around each call */
    double *warm;    /* (warmup) train: mean loss over the models per warm-up step */
    double ref_diff; /* the worst |gpu - cpu| / (atol/rtol bound) seen: <= 1 passes */
    double ref_abs;  /* and that worst |gpu - cpu| */
    double *loss0;   /* (N) train: each model's loss at the first warm-up step */
    double final_loss;
    int decreased;
} bench_result;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_lstm_gpu --hidden H --layers L [--batch 256] [--models 1] [--window 60] [--features 1]\n"
               "                      [--horizon 1] [--impl cublas|persistent|cudnn|auto[,...]]\n"
               "                      [--mode train|infer|recursive[,...]] [--steps 20] [--warmup 3] [--reps 5]\n"
               "                      [--forecast 1440] [--seed 1] [--json FILE]\n");
}

/* Splits a comma-separated list into out (at most MAX_LIST words), each one of allowed. */
static int parse_list(const char *name, const char *s, const char *const *allowed, char out[][16], int *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= len == strlen(*a) && !strncmp(p, *a, len);
        if (!ok || *n == MAX_LIST) {
            fprintf(stderr, "bench_lstm_gpu: %s: '%.*s' is not one of", name, (int)len, p);
            for (const char *const *a = allowed; *a; a++)
                fprintf(stderr, " %s", *a);
            fprintf(stderr, " (at most %d)\n", MAX_LIST);
            return 0;
        }
        memcpy(out[*n], p, len);
        out[(*n)++][len] = 0;
        p += len + (p[len] == ',');
    }
    if (!*n) {
        fprintf(stderr, "bench_lstm_gpu: %s: empty list\n", name);
        return 0;
    }
    return 1;
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    static const char *const impls[] = {"cublas", "persistent", "cudnn", "auto", NULL};
    static const char *const modes[] = {"train", "infer", "recursive", NULL};
    *o = (bench_opts){.batch = 256, .models = 1, .window = 60, .features = 1, .horizon = 1, .steps = 20,
                      .warmup = 3, .reps = 5, .forecast = 1440, .seed = 1, .n_impl = 1, .n_mode = 1};
    strcpy(o->impl[0], "auto");
    strcpy(o->mode[0], "train");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_lstm_gpu: %s needs a value\n", a);
            return 0;
        }
        const char *v = argv[++i];
        int ok = 1, s;
        if (!strcmp(a, "--hidden"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->hidden);
        else if (!strcmp(a, "--layers"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->layers);
        else if (!strcmp(a, "--batch"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->batch);
        else if (!strcmp(a, "--models"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->models);
        else if (!strcmp(a, "--window"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->window);
        else if (!strcmp(a, "--features"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->features);
        else if (!strcmp(a, "--horizon"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->horizon);
        else if (!strcmp(a, "--steps"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->steps);
        else if (!strcmp(a, "--warmup"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 2, &o->warmup); /* a decrease needs two losses */
        else if (!strcmp(a, "--reps"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->reps);
        else if (!strcmp(a, "--forecast"))
            ok = bench_parse_int("bench_lstm_gpu", a, v, 1, &o->forecast);
        else if (!strcmp(a, "--seed")) {
            ok = bench_parse_int("bench_lstm_gpu", a, v, 0, &s);
            o->seed = (uint64_t)s;
        } else if (!strcmp(a, "--impl"))
            ok = parse_list(a, v, impls, o->impl, &o->n_impl);
        else if (!strcmp(a, "--mode"))
            ok = parse_list(a, v, modes, o->mode, &o->n_mode);
        else if (!strcmp(a, "--json"))
            o->json = v;
        else {
            fprintf(stderr, "bench_lstm_gpu: unknown option %s\n", a);
            return 0;
        }
        if (!ok)
            return 0;
    }
    if (!o->hidden || !o->layers) {
        fprintf(stderr, "bench_lstm_gpu: --hidden and --layers are required\n");
        return 0;
    }
    if (o->layers > 2) {
        fprintf(stderr, "bench_lstm_gpu: --layers must be 1 or 2 (what hs_lstm supports)\n");
        return 0;
    }
    if (o->features != 1 && o->features != 5) {
        fprintf(stderr, "bench_lstm_gpu: --features must be 1 (values) or 5 (values and the calendar)\n");
        return 0;
    }
    return 1;
}

static void json_nums(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; v && i < n; i++) {
        fprintf(f, "%s", i ? ", " : "");
        bench_json_num(f, v[i]);
    }
    fputc(']', f);
}

/* Forward FLOPs of one window: per layer W steps of the 4H x (F_l + H) gate GEMM (2 per
 * multiply-add), plus the head. */
static double forward_flops(const bench_opts *o)
{
    double H = o->hidden, fl = 0;
    for (int l = 0; l < o->layers; l++)
        fl += (double)o->window * 2.0 * 4.0 * H * ((l ? H : (double)o->features) + H);
    return fl + 2.0 * H * o->horizon;
}

/* N series of M points: two sines of per-series periods and phases plus noise, then
 * (v - mean) / std per series, as hs_lstm_data expects. */
static float *make_series(const bench_opts *o, int N, int64_t M)
{
    float *v = malloc((size_t)N * (size_t)M * sizeof *v);
    if (!v)
        return NULL;
    for (int n = 0; n < N; n++) {
        float *s = v + (int64_t)n * M;
        double p1 = 24.0 + (n * 7) % 40, p2 = 200.0 + (n * 13) % 300;
        double ph = 6.283185307179586 * hs_rng_uniform(o->seed, 10, (uint64_t)n, 0);
        double sum = 0, sq = 0;
        for (int64_t t = 0; t < M; t++) {
            double x = sin(6.283185307179586 * (double)t / p1 + ph) + 0.5 * sin(6.283185307179586 * (double)t / p2) +
                       0.3 * bench_normal(o->seed, 11 + (uint64_t)n, (uint64_t)t);
            s[t] = (float)x;
            sum += x;
            sq += x * x;
        }
        double mean = sum / (double)M, var = sq / (double)M - mean * mean;
        double sd = var > 1e-12 ? sqrt(var) : 1.0;
        for (int64_t t = 0; t < M; t++)
            s[t] = (float)(((double)s[t] - mean) / sd);
    }
    return v;
}

static void fail(bench_result *r, hs_status st, const char *what)
{
    r->st = st;
    snprintf(r->error, sizeof r->error, "%s: %s", what, hs_error_message());
}

static void fail_validation(bench_result *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void fail_validation(bench_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->valid = 0;
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
}

/* The device forward against the CPU backend on the nv windows ending at W, W + 1, ... (eval's
 * contiguous windows), with the weights the model has now. Fills r->ref_diff (the worst
 * |gpu - cpu| over its bound: <= 1 passes) and r->ref_abs. */
static hs_status check_forward(hs_lstm *m, const hs_lstm_resident *res, const hs_lstm_data *d, const bench_opts *o,
                               int nv, bench_result *r)
{
    int N = o->models, W = o->window, F = o->features, K = o->horizon;
    hs_lstm_config rc = *hs_lstm_get_config(m);
    rc.batch = nv;
    hs_lstm *ref;
    HS_TRY(hs_lstm_init(&rc, o->seed, &ref));
    memcpy(hs_lstm_params(ref), hs_lstm_params(m), (size_t)N * (size_t)hs_lstm_param_count(&rc) * sizeof(float));
    float *x = malloc((size_t)N * W * nv * F * sizeof *x), *t = malloc((size_t)N * nv * K * sizeof *t);
    float *dy = malloc((size_t)N * nv * K * sizeof *dy), *loss = malloc((size_t)N * sizeof *loss);
    double *val = malloc((size_t)N * sizeof *val);
    hs_status st = x && t && dy && loss && val ? HS_OK : hs_error_set(HS_ERR_NOMEM, "bench_lstm_gpu: reference");
    for (int b = 0; st == HS_OK && b < nv; b++)
        hs_lstm_gather_window(d, W, nv, o->horizon, b, W + b, x, t);
    if (st == HS_OK)
        st = hs_lstm_backend_cpu()->forward(ref, x, nv);
    if (st == HS_OK) {
        hs_lstm_mse(ref, t, nv, loss, dy);
        st = res->take_losses(m, NULL, NULL); /* nothing before this check counts */
    }
    if (st == HS_OK)
        st = res->eval(m, W, nv);
    if (st == HS_OK)
        st = res->take_losses(m, NULL, val);
    r->ref_diff = 0;
    r->ref_abs = 0;
    for (int n = 0; st == HS_OK && n < N; n++) {
        double g = val[n] / nv, c = loss[n];
        double bound = 1e-3 * fabs(c) + 1e-6, ad = fabs(g - c);
        if (!(ad / bound <= r->ref_diff)) /* NaN counts as the worst */
            r->ref_diff = isfinite(ad) ? ad / bound : INFINITY;
        if (!(ad <= r->ref_abs))
            r->ref_abs = isfinite(ad) ? ad : INFINITY;
    }
    hs_lstm_free(ref);
    free(x);
    free(t);
    free(dy);
    free(loss);
    free(val);
    return st;
}

/* The timed part of train and infer on a bound model (see run_resident). */
static void time_resident(const bench_opts *o, hs_lstm *m, const hs_lstm_resident *res, int64_t nends, double *sums,
                          bench_result *rt, bench_result *ri)
{
    const int N = o->models, W = o->window, B = o->batch, S = o->steps;
    const int64_t nbatch = nends / B;
    const hs_adam_hparams adam = {1e-3f, HS_ADAM_BETA1, HS_ADAM_BETA2, 1e-8f};
    hs_status st = HS_OK;

    /* --- train: warm-up on the first batch (the validation), then R reps of S steps --- */
    if (rt) {
        int finite = 1;
        for (int s = 0; st == HS_OK && s < o->warmup; s++) {
            st = res->train(m, 0, B, 1.0f, &adam);
            if (st == HS_OK)
                st = res->take_losses(m, sums, NULL);
            double mean = 0;
            for (int n = 0; st == HS_OK && n < N; n++) {
                double l = sums[n] / B;
                finite &= isfinite(l) != 0;
                mean += l / N;
                if (s == 0)
                    rt->loss0[n] = l;
                else if (s == o->warmup - 1)
                    rt->decreased += l < rt->loss0[n];
            }
            rt->warm[s] = mean;
        }
        if (st != HS_OK)
            fail(rt, st, "train (warm-up)");
        else if (!finite || !(rt->warm[o->warmup - 1] < rt->warm[0]))
            fail_validation(rt,
                            "mean loss %.6g at warm-up step 1, %.6g at step %d (%s; %d of %d models decreased)",
                            rt->warm[0], rt->warm[o->warmup - 1], o->warmup, finite ? "all finite" : "NOT finite",
                            rt->decreased, N);
        for (int rep = 0; st == HS_OK && rt->valid && rep < o->reps; rep++) {
            double t0 = bench_now();
            for (int s = 0; st == HS_OK && s < S; s++)
                st = res->train(m, (int64_t)(s % nbatch) * B, B, 1.0f, &adam);
            if (st == HS_OK)
                st = res->take_losses(m, sums, NULL);
            rt->rep_s[rep] = bench_now() - t0;
            rt->final_loss = 0;
            for (int n = 0; n < N; n++)
                rt->final_loss += sums[n] / ((double)S * B) / N;
            if (st == HS_OK && !isfinite(rt->final_loss))
                fail_validation(rt, "the mean loss went non-finite in repetition %d", rep + 1);
        }
        if (st != HS_OK && rt->st == HS_OK)
            fail(rt, st, "train");
        rt->impl_ran = hs_lstm_impl_name(m);
        st = HS_OK; /* infer still runs */
    }

    /* --- infer: warm-up evals (finite losses), then R reps of S evals of B windows --- */
    if (ri) {
        for (int s = 0; st == HS_OK && s < o->warmup; s++)
            st = res->eval(m, W + (int64_t)(s % nbatch) * B, B);
        if (st == HS_OK)
            st = res->take_losses(m, NULL, sums);
        for (int n = 0; st == HS_OK && n < N; n++)
            if (!isfinite(sums[n])) {
                fail_validation(ri, "model %d: a non-finite loss in the warm-up", n);
                break;
            }
        for (int rep = 0; st == HS_OK && ri->valid && rep < o->reps; rep++) {
            double t0 = bench_now();
            for (int s = 0; st == HS_OK && s < S; s++)
                st = res->eval(m, W + (int64_t)(s % nbatch) * B, B);
            if (st == HS_OK)
                st = res->take_losses(m, NULL, sums);
            ri->rep_s[rep] = bench_now() - t0;
            ri->final_loss = 0;
            for (int n = 0; n < N; n++)
                ri->final_loss += sums[n] / ((double)S * B) / N;
        }
        if (st != HS_OK)
            fail(ri, st, "eval");
        ri->impl_ran = hs_lstm_impl_name(m);
    }
}

/* train and/or infer with one implementation: data, bind, the check against the CPU backend,
 * then time_resident. rt and ri (either NULL when that mode is not asked for) get the outcomes. */
static void run_resident(const bench_opts *o, const char *impl, bench_result *rt, bench_result *ri)
{
    bench_result *rs[2] = {rt, ri};
    const int N = o->models, W = o->window, B = o->batch, K = o->horizon;
    const hs_lstm_backend *be = NULL;
    const char *stage = "hs_lstm_backend_cuda";
    hs_status st = hs_lstm_backend_cuda(impl, &be);
    if (st == HS_OK && !be->resident)
        st = hs_error_set(HS_ERR_INTERNAL, "backend '%s' has no resident path", impl);

    /* the S*B window ends (at most MAX_ENDS, a multiple of B), shuffled */
    int64_t nends = (int64_t)o->steps * B;
    if (nends > MAX_ENDS)
        nends = MAX_ENDS / B > 0 ? MAX_ENDS / B * B : B;
    int64_t M = W + K + nends;
    float *v = NULL;
    int64_t *ends = NULL;
    double *sums = NULL;
    unsigned char *active = NULL;
    hs_lstm *m = NULL;
    if (st == HS_OK) {
        stage = "data";
        v = make_series(o, N, M);
        ends = malloc((size_t)nends * sizeof *ends);
        sums = malloc((size_t)N * sizeof *sums);
        active = malloc((size_t)N);
        if (!v || !ends || !sums || !active)
            st = hs_error_set(HS_ERR_NOMEM, "bench_lstm_gpu: out of memory for %lld points", (long long)N * M);
    }
    hs_lstm_data d = {.N = N, .M = M, .start_unix = START_UNIX, .step_seconds = 60, .v = v,
                      .calendar = o->features == 5};
    hs_lstm_config cfg = {.models = N, .layers = o->layers, .hidden = o->hidden, .features = o->features,
                          .window = W, .horizon = K, .batch = B};
    if (st == HS_OK) {
        for (int64_t i = 0; i < nends; i++)
            ends[i] = W + i;
        hs_rng rng = hs_rng_make(o->seed, 20);
        for (int64_t i = nends - 1; i > 0; i--) {
            int64_t j = (int64_t)(hs_rng_next_double(&rng) * (double)(i + 1));
            int64_t tmp = ends[i];
            ends[i] = ends[j];
            ends[j] = tmp;
        }
        memset(active, 1, (size_t)N);
        stage = "hs_lstm_init";
        st = hs_lstm_init(&cfg, o->seed, &m);
    }
    if (st == HS_OK) {
        stage = "bind";
        st = be->resident->bind(m, &d, nends);
    }
    if (st == HS_OK) {
        stage = "set_ends";
        st = be->resident->set_ends(m, ends, nends);
    }
    if (st == HS_OK && be->resident->set_active) {
        stage = "set_active";
        st = be->resident->set_active(m, active);
    }

    /* --- the forward against the CPU backend, before any training --- */
    bench_result chk = {0};
    int nv = B < REF_WINDOWS ? B : REF_WINDOWS;
    if (st == HS_OK) {
        stage = "the check against the CPU backend";
        st = check_forward(m, be->resident, &d, o, nv, &chk);
    }
    if (st != HS_OK) {
        for (int i = 0; i < 2; i++)
            if (rs[i])
                fail(rs[i], st, stage);
    } else {
        for (int i = 0; i < 2; i++)
            if (rs[i]) {
                rs[i]->ref_diff = chk.ref_diff;
                rs[i]->ref_abs = chk.ref_abs;
                if (!(chk.ref_diff <= 1.0))
                    fail_validation(rs[i],
                                    "the forward's loss differs from the CPU backend's by %.3g (%.3g times the "
                                    "bound 1e-3 |cpu| + 1e-6) on %d windows",
                                    chk.ref_abs, chk.ref_diff, nv);
            }
        time_resident(o, m, be->resident, nends, sums, rt && rt->valid ? rt : NULL, ri && ri->valid ? ri : NULL);
        st = be->resident->finish(m, 0);
        for (int i = 0; st != HS_OK && i < 2; i++)
            if (rs[i] && rs[i]->st == HS_OK)
                fail(rs[i], st, "finish");
    }
    hs_lstm_free(m);
    free(v);
    free(ends);
    free(sums);
    free(active);
}

/* The recursive forecast: every model from the end of its series, on the GPU, checked once
 * against the CPU's hs_lstm_predict. */
static void run_recursive(const bench_opts *o, bench_result *r)
{
    const int N = o->models, W = o->window, steps = o->forecast;
    const int64_t M = 4 * (int64_t)W, end = M;
    hs_lstm_config cfg = {.models = N, .layers = o->layers, .hidden = o->hidden, .features = o->features,
                          .window = W, .horizon = o->horizon, .batch = 1};
    float *v = make_series(o, N, M);
    float *out = malloc((size_t)N * steps * sizeof *out), *ref = malloc((size_t)N * steps * sizeof *ref);
    hs_lstm *m = NULL;
    hs_status st = v && out && ref ? HS_OK : hs_error_set(HS_ERR_NOMEM, "bench_lstm_gpu: out of memory");
    hs_lstm_data d = {.N = N, .M = M, .start_unix = START_UNIX, .step_seconds = 60, .v = v,
                      .calendar = o->features == 5};
    if (st == HS_OK)
        st = hs_lstm_init(&cfg, o->seed, &m);
    if (st == HS_OK)
        st = hs_lstm_predict(m, &d, &end, 1, steps, 0.0f, ref);
    if (st != HS_OK)
        fail(r, st, "hs_lstm_predict (the CPU reference)");
    double dev_s = 0;
    for (int w = 0; st == HS_OK && w < o->warmup; w++) {
        st = hs_lstm_predict_cuda(m, &d, end, steps, 0.0f, out, &dev_s);
        if (st != HS_OK || w)
            continue;
        r->ref_diff = 0;
        r->ref_abs = 0;
        for (int64_t i = 0; i < (int64_t)N * steps; i++) {
            double ad = fabs((double)out[i] - ref[i]), bound = 5e-3 + 5e-3 * fabs(ref[i]);
            if (!(ad / bound <= r->ref_diff)) /* NaN counts as the worst */
                r->ref_diff = isfinite(ad) ? ad / bound : INFINITY;
            if (!(ad <= r->ref_abs))
                r->ref_abs = isfinite(ad) ? ad : INFINITY;
        }
        if (!(r->ref_diff <= 1.0))
            fail_validation(r,
                            "the forecast differs from hs_lstm_predict (CPU) by up to %.3g (%.3g times the bound "
                            "5e-3 + 5e-3 |cpu|) over %d steps",
                            r->ref_abs, r->ref_diff, steps);
    }
    for (int rep = 0; st == HS_OK && r->valid && rep < o->reps; rep++) {
        double t0 = bench_now();
        st = hs_lstm_predict_cuda(m, &d, end, steps, 0.0f, out, &dev_s);
        r->rep_w[rep] = bench_now() - t0;
        r->rep_s[rep] = dev_s;
    }
    if (st != HS_OK && r->st == HS_OK)
        fail(r, st, "hs_lstm_predict_cuda");
    if (m && r->st == HS_OK)
        r->impl_ran = "recursive";
    hs_lstm_free(m);
    free(v);
    free(out);
    free(ref);
}

/* One JSON line for r. */
static void emit(FILE *f, const bench_opts *o, const bench_result *r)
{
    int rec = !strcmp(r->mode, "recursive"), train = !strcmp(r->mode, "train");
    int ok = r->st == HS_OK && r->valid;
    double fpw = forward_flops(o) * (train ? 3.0 : 1.0);
    double med = NAN, wall = NAN, wps = NAN, sps = NAN;
    int64_t per_call = rec ? ((int64_t)o->forecast + o->horizon - 1) / o->horizon : o->steps;
    if (ok) {
        med = bench_median(r->rep_s, o->reps);
        wall = rec ? bench_median(r->rep_w, o->reps) : med;
        wps = (double)o->models * (rec ? 1.0 : (double)o->batch) * (double)per_call / med;
        sps = med / (double)per_call;
    }
    hs_lstm_config cfg = {.models = o->models, .layers = o->layers, .hidden = o->hidden, .features = o->features,
                          .window = o->window, .horizon = o->horizon, .batch = rec ? 1 : o->batch};
    const char *rev = getenv("HS_GIT_REV");
    fprintf(f, "{\"tool\": \"hyscale\", \"mode\": ");
    bench_json_str(f, r->mode);
    fprintf(f, ", \"impl\": ");
    bench_json_str(f, rec ? "recursive" : r->impl);
    fprintf(f, ", \"impl_ran\": ");
    bench_json_str(f, r->impl_ran);
    fprintf(f, ", \"ok\": %s, \"status\": ", ok ? "true" : "false");
    bench_json_str(f, r->st != HS_OK ? hs_status_name(r->st) : (r->valid ? "ok" : "validation"));
    fprintf(f, ", \"error\": ");
    bench_json_str(f, ok ? NULL : r->error);
    fprintf(f, ", \"config\": {\"models\": %d, \"layers\": %d, \"hidden\": %d, \"features\": %d, \"window\": %d, "
               "\"horizon\": %d, \"batch\": %d, \"steps\": %d, \"warmup\": %d, \"reps\": %d, \"seed\": %llu, "
               "\"forecast_steps\": %d, \"params_per_model\": %lld}",
            o->models, o->layers, o->hidden, o->features, o->window, o->horizon, cfg.batch, o->steps, o->warmup,
            o->reps, (unsigned long long)o->seed, rec ? o->forecast : 0, (long long)hs_lstm_param_count(&cfg));
    fprintf(f, ", \"windows_per_second\": ");
    bench_json_num(f, wps);
    fprintf(f, ", \"seconds_per_step\": ");
    bench_json_num(f, sps);
    fprintf(f, ", \"flops_per_window\": ");
    bench_json_num(f, fpw);
    fprintf(f, ", \"flops_per_second\": ");
    bench_json_num(f, wps * fpw);
    fprintf(f, ", \"rep_seconds\": ");
    json_nums(f, ok ? r->rep_s : NULL, o->reps);
    fprintf(f, ", \"rep_seconds_median\": ");
    bench_json_num(f, med);
    if (rec) {
        fprintf(f, ", \"seconds\": ");
        bench_json_num(f, med);
        fprintf(f, ", \"wall_seconds\": ");
        bench_json_num(f, wall);
        fprintf(f, ", \"wall_rep_seconds\": ");
        json_nums(f, ok ? r->rep_w : NULL, o->reps);
    }
    fprintf(f, ", \"validation\": {\"ok\": %s, \"ref_abs_diff\": ", r->valid ? "true" : "false");
    bench_json_num(f, r->ref_abs);
    fprintf(f, ", \"ref_diff_over_bound\": ");
    bench_json_num(f, r->ref_diff);
    if (train) {
        fprintf(f, ", \"warmup_mean_loss\": ");
        json_nums(f, r->warm, o->warmup);
        fprintf(f, ", \"models_decreased\": %d", r->decreased);
    }
    if (!rec) {
        fprintf(f, ", \"final_mean_loss\": ");
        bench_json_num(f, r->final_loss);
    }
    fprintf(f, "}, \"timing\": ");
    bench_json_str(f, rec ? "device seconds of the launch (hs_lstm_predict_cuda), median; wall seconds around the call"
                    : "CLOCK_MONOTONIC around S asynchronous steps and take_losses (synchronises), median");
    fprintf(f, ", \"device\": ");
    bench_json_str(f, hs_device_describe(HS_DEVICE_CUDA));
    fprintf(f, ", \"git_revision\": ");
    bench_json_str(f, rev && *rev ? rev : "unknown");
#ifdef HS_GIT_REV
    fprintf(f, ", \"build_git_revision\": ");
    bench_json_str(f, HS_GIT_REV);
#endif
    fprintf(f, "}\n");
    fflush(f);
}

static int exit_code(const bench_result *r)
{
    if (r->st != HS_OK)
        return hs_status_exit_code(r->st);
    return r->valid ? 0 : 1;
}

static bench_result result_new(const bench_opts *o, const char *impl, const char *mode)
{
    bench_result r = {.impl = impl, .mode = mode, .st = HS_OK, .valid = 1, .ref_diff = NAN, .ref_abs = NAN,
                      .final_loss = NAN};
    r.rep_s = calloc((size_t)o->reps, sizeof *r.rep_s);
    r.rep_w = calloc((size_t)o->reps, sizeof *r.rep_w);
    r.warm = calloc((size_t)o->warmup, sizeof *r.warm);
    r.loss0 = calloc((size_t)o->models, sizeof *r.loss0);
    for (int i = 0; r.warm && i < o->warmup; i++)
        r.warm[i] = NAN;
    if (!r.rep_s || !r.rep_w || !r.warm || !r.loss0) {
        fprintf(stderr, "bench_lstm_gpu: out of memory\n");
        exit(1);
    }
    return r;
}

static void result_free(bench_result *r)
{
    free(r->rep_s);
    free(r->rep_w);
    free(r->warm);
    free(r->loss0);
}

/* Prints r's failure to stderr, one line; returns its exit code. */
static int report(const bench_opts *o, const bench_result *r)
{
    int rc = exit_code(r);
    if (rc)
        fprintf(stderr, "bench_lstm_gpu: %s %s H=%d L=%d B=%d N=%d: %s%s\n", r->impl, r->mode, o->hidden, o->layers,
                o->batch, o->models, r->st == HS_OK ? "VALIDATION FAILED: " : "", r->error);
    return rc;
}

int main(int argc, char **argv)
{
    bench_opts o;
    if (!parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    if (!hs_cuda_built()) {
        fprintf(stderr, "bench_lstm_gpu: this build has no CUDA backend (configure with -DHS_CUDA=ON where nvcc is "
                        "installed)\n");
        return 1;
    }
    if (hs_cuda_device_count() <= 0) {
        fprintf(stderr, "bench_lstm_gpu: no CUDA device answers on this machine\n");
        return 1;
    }
    FILE *f = stdout;
    if (o.json && !(f = fopen(o.json, "w"))) {
        fprintf(stderr, "bench_lstm_gpu: cannot write %s: %s\n", o.json, strerror(errno));
        return 1;
    }
    int want_train = 0, want_infer = 0, want_rec = 0, failed = 0, declined = 0;
    for (int i = 0; i < o.n_mode; i++) {
        want_train |= !strcmp(o.mode[i], "train");
        want_infer |= !strcmp(o.mode[i], "infer");
        want_rec |= !strcmp(o.mode[i], "recursive");
    }
    for (int i = 0; (want_train || want_infer) && i < o.n_impl; i++) {
        bench_result rt = result_new(&o, o.impl[i], "train"), ri = result_new(&o, o.impl[i], "infer");
        run_resident(&o, o.impl[i], want_train ? &rt : NULL, want_infer ? &ri : NULL);
        for (int k = 0; k < 2; k++) {
            const bench_result *r = k ? &ri : &rt;
            if (!(k ? want_infer : want_train))
                continue;
            emit(f, &o, r);
            int c = report(&o, r);
            failed |= c == 1;
            declined |= c == 2;
        }
        result_free(&rt);
        result_free(&ri);
    }
    if (want_rec) {
        bench_result rr = result_new(&o, "recursive", "recursive");
        run_recursive(&o, &rr);
        emit(f, &o, &rr);
        int c = report(&o, &rr);
        failed |= c == 1;
        declined |= c == 2;
        result_free(&rr);
    }
    if (f != stdout && fclose(f)) {
        fprintf(stderr, "bench_lstm_gpu: cannot write %s\n", o.json);
        return 1;
    }
    return failed ? 1 : declined ? 2 : 0;
}
