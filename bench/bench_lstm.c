/* bench_lstm.c: training throughput of the LSTM's CPU backend (lstm.h), the hyscale side of
 * bench/lstm_bench.sh (the PyTorch side is bench/lstm_peer.py; see bench/README.md).
 *
 *     bench_lstm --hidden 64 --layers 1 --batch 256 --models 1 [--window 60] [--features 1]
 *                [--horizon 1] [--steps 20] [--warmup 3] [--reps 5] [--seed 1] [--json FILE]
 *
 * One training step = be->forward + hs_lstm_mse + be->backward + hs_lstm_clip_grad_norm(1.0)
 * + hs_lstm_adam_step(lr 1e-3, betas 0.9/0.999, eps 1e-8), on one fixed batch of inputs
 * x (N, W, B, F) ~ N(0, 1) and targets (N, B, K) = 0.8 * the last input value + 0.6 * N(0, 1)
 * (learnable, never exactly zero).
 *
 * Validates before it times: the warm-up steps run on that fixed batch and every model's loss
 * must be finite at every warm-up step, and the mean loss over the models must be lower after
 * the warm-up than at its first step (exit 1 otherwise). Then times R repetitions of S steps
 * each on CLOCK_MONOTONIC and reports the median repetition:
 *   windows_per_second = N * B * S / seconds   (every model's windows count)
 *   seconds_per_step   = seconds / S
 *   epoch_seconds      = seconds_per_step * ceil(18000 / B)   (18,000 windows per model)
 * One JSON object goes to --json FILE (or stdout). Exit 0 ok, 1 validation or runtime failure,
 * 2 bad command line. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench_util.h"
#include "backend/lstm_seam.h"
#include "hyscale/lstm.h"
#include "hyscale/math/rng.h"

#define EPOCH_WINDOWS 18000

typedef struct bench_opts {
    int hidden, layers, batch, models, window, features, horizon, steps, warmup, reps;
    uint64_t seed;
    const char *json;
} bench_opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_lstm --hidden H --layers L --batch B --models N [--window 60] [--features 1]\n"
               "                  [--horizon 1] [--steps 20] [--warmup 3] [--reps 5] [--seed 1] [--json FILE]\n");
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){.hidden = 0, .layers = 0, .batch = 0, .models = 0, .window = 60, .features = 1,
                      .horizon = 1, .steps = 20, .warmup = 3, .reps = 5, .seed = 1, .json = NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_lstm: %s needs a value\n", a);
            return 0;
        }
        const char *v = argv[++i];
        int ok = 1, s;
        if (!strcmp(a, "--hidden"))
            ok = bench_parse_int("bench_lstm", a, v, 1, &o->hidden);
        else if (!strcmp(a, "--layers"))
            ok = bench_parse_int("bench_lstm", a, v, 1, &o->layers);
        else if (!strcmp(a, "--batch"))
            ok = bench_parse_int("bench_lstm", a, v, 1, &o->batch);
        else if (!strcmp(a, "--models"))
            ok = bench_parse_int("bench_lstm", a, v, 1, &o->models);
        else if (!strcmp(a, "--window"))
            ok = bench_parse_int("bench_lstm", a, v, 1, &o->window);
        else if (!strcmp(a, "--features"))
            ok = bench_parse_int("bench_lstm", a, v, 1, &o->features);
        else if (!strcmp(a, "--horizon"))
            ok = bench_parse_int("bench_lstm", a, v, 1, &o->horizon);
        else if (!strcmp(a, "--steps"))
            ok = bench_parse_int("bench_lstm", a, v, 1, &o->steps);
        else if (!strcmp(a, "--warmup"))
            ok = bench_parse_int("bench_lstm", a, v, 2, &o->warmup); /* a decrease needs two losses */
        else if (!strcmp(a, "--reps"))
            ok = bench_parse_int("bench_lstm", a, v, 1, &o->reps);
        else if (!strcmp(a, "--seed")) {
            ok = bench_parse_int("bench_lstm", a, v, 0, &s);
            o->seed = (uint64_t)s;
        } else if (!strcmp(a, "--json"))
            o->json = v;
        else {
            fprintf(stderr, "bench_lstm: unknown option %s\n", a);
            return 0;
        }
        if (!ok)
            return 0;
    }
    if (!o->hidden || !o->layers || !o->batch || !o->models) {
        fprintf(stderr, "bench_lstm: --hidden, --layers, --batch and --models are required\n");
        return 0;
    }
    if (o->layers > 2) {
        fprintf(stderr, "bench_lstm: --layers must be 1 or 2 (what hs_lstm supports)\n");
        return 0;
    }
    return 1;
}

/* A standard normal draw (Box-Muller on two Philox uniforms), never exactly zero. */
static float normal_draw(uint64_t seed, uint64_t stream, uint64_t index)
{
    float z = bench_normal(seed, stream, index);
    if (fabsf(z) < 1e-3f)
        z = z < 0 ? -1e-3f : 1e-3f;
    return z;
}

/* The CPU model name from /proc/cpuinfo, or "unknown". */
static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t')
                    c++;
                c[strcspn(c, "\n")] = 0;
                snprintf(out, cap, "%s", c);
            }
            break;
        }
    }
    fclose(f);
}

static hs_status train_step(hs_lstm *m, const hs_lstm_backend *be, const float *x, const float *target, int B,
                            const hs_adam_hparams *adam, float *loss, float *dy)
{
    HS_TRY(be->forward(m, x, B));
    hs_lstm_mse(m, target, B, loss, dy);
    HS_TRY(be->backward(m, dy, B));
    hs_lstm_clip_grad_norm(m, 1.0f, NULL);
    hs_lstm_adam_step(m, adam);
    return HS_OK;
}

int main(int argc, char **argv)
{
    bench_opts o;
    if (!parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    const int N = o.models, W = o.window, B = o.batch, F = o.features, K = o.horizon;
    hs_lstm_config cfg = {.models = N, .layers = o.layers, .hidden = o.hidden, .features = F, .window = W,
                          .horizon = K, .batch = B};

    /* inputs (N, W, B, F) and targets (N, B, K), fixed for the whole run */
    size_t nx = (size_t)N * W * B * F, nt = (size_t)N * B * K;
    float *x = malloc(nx * sizeof *x), *target = malloc(nt * sizeof *target);
    float *dy = malloc(nt * sizeof *dy), *loss = malloc((size_t)N * sizeof *loss);
    float *loss0 = malloc((size_t)N * sizeof *loss0);
    double *warm_mean = calloc((size_t)o.warmup, sizeof *warm_mean);
    double *rep_s = calloc((size_t)o.reps, sizeof *rep_s);
    if (!x || !target || !dy || !loss || !loss0 || !warm_mean || !rep_s) {
        fprintf(stderr, "bench_lstm: out of memory for the inputs\n");
        return 1;
    }
    for (size_t i = 0; i < nx; i++)
        x[i] = normal_draw(o.seed, 1, i);
    for (int n = 0; n < N; n++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++) {
                size_t it = ((size_t)n * B + b) * K + k;
                float last = x[(((size_t)n * W + (W - 1)) * B + b) * F]; /* feature 0 of the last step */
                target[it] = 0.8f * last + 0.6f * normal_draw(o.seed, 2, it);
            }

    hs_lstm *m;
    if (hs_lstm_init(&cfg, o.seed, &m) != HS_OK) {
        fprintf(stderr, "bench_lstm: %s\n", hs_error_message());
        return 1;
    }
    const hs_lstm_backend *be = hs_lstm_backend_cpu();
    const hs_adam_hparams adam = {1e-3f, HS_ADAM_BETA1, HS_ADAM_BETA2, 1e-8f};

    /* --- validate (these are the warm-up steps): finite losses, mean loss decreasing --- */
    int finite = 1, decreased_models = 0;
    for (int s = 0; s < o.warmup; s++) {
        if (train_step(m, be, x, target, B, &adam, loss, dy) != HS_OK) {
            fprintf(stderr, "bench_lstm: %s\n", hs_error_message());
            return 1;
        }
        double sum = 0;
        for (int n = 0; n < N; n++) {
            if (!isfinite(loss[n]))
                finite = 0;
            sum += loss[n];
        }
        warm_mean[s] = sum / N;
        if (s == 0)
            memcpy(loss0, loss, (size_t)N * sizeof *loss);
    }
    for (int n = 0; n < N; n++)
        decreased_models += loss[n] < loss0[n];
    double first = warm_mean[0], last = warm_mean[o.warmup - 1];
    int valid = finite && last < first;
    if (!valid) {
        fprintf(stderr,
                "bench_lstm: VALIDATION FAILED (H=%d L=%d B=%d N=%d): mean loss %.6g at warm-up step 1, %.6g at "
                "step %d (%s; %d of %d models decreased)\n",
                o.hidden, o.layers, B, N, first, last, o.warmup, finite ? "all finite" : "NOT finite",
                decreased_models, N);
        return 1;
    }

    /* --- time R repetitions of S steps, median --- */
    for (int r = 0; r < o.reps; r++) {
        double t0 = bench_now();
        for (int s = 0; s < o.steps; s++)
            if (train_step(m, be, x, target, B, &adam, loss, dy) != HS_OK) {
                fprintf(stderr, "bench_lstm: %s\n", hs_error_message());
                return 1;
            }
        rep_s[r] = bench_now() - t0;
    }
    double final_mean = 0;
    for (int n = 0; n < N; n++)
        final_mean += loss[n];
    final_mean /= N;
    double med = bench_median(rep_s, o.reps), mn = rep_s[0], mx = rep_s[0];
    for (int r = 1; r < o.reps; r++) {
        mn = rep_s[r] < mn ? rep_s[r] : mn;
        mx = rep_s[r] > mx ? rep_s[r] : mx;
    }
    double sps = med / o.steps;
    double wps = (double)N * B * o.steps / med;
    long steps_per_epoch = (EPOCH_WINDOWS + B - 1) / B;

    /* --- report --- */
    FILE *f = stdout;
    if (o.json && !(f = fopen(o.json, "w"))) {
        fprintf(stderr, "bench_lstm: cannot write %s: %s\n", o.json, strerror(errno));
        return 1;
    }
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    const char *rev = getenv("HS_GIT_REV");
    int omp_threads = 1;
#ifdef _OPENMP
    omp_threads = omp_get_max_threads();
#endif
    fprintf(f, "{\n  \"tool\": \"hyscale\",\n  \"backend\": ");
    bench_json_str(f, be->name);
    fprintf(f, ",\n  \"config\": {\"models\": %d, \"layers\": %d, \"hidden\": %d, \"features\": %d, \"window\": %d, "
               "\"horizon\": %d, \"batch\": %d, \"steps\": %d, \"warmup\": %d, \"reps\": %d, \"seed\": %llu, "
               "\"params_per_model\": %lld},\n",
            N, o.layers, o.hidden, F, W, K, B, o.steps, o.warmup, o.reps, (unsigned long long)o.seed,
            (long long)hs_lstm_param_count(&cfg));
    fprintf(f, "  \"step\": \"forward + mse + backward + clip_grad_norm(1.0) per model + adam(lr 1e-3)\",\n");
    fprintf(f, "  \"windows_per_second\": ");
    bench_json_num(f, wps);
    fprintf(f, ",\n  \"seconds_per_step\": ");
    bench_json_num(f, sps);
    fprintf(f, ",\n  \"epoch_windows_per_model\": %d,\n  \"steps_per_epoch\": %ld,\n  \"epoch_seconds\": ",
            EPOCH_WINDOWS, steps_per_epoch);
    bench_json_num(f, sps * (double)steps_per_epoch);
    fprintf(f, ",\n  \"rep_seconds\": [");
    for (int r = 0; r < o.reps; r++) {
        fprintf(f, "%s", r ? ", " : "");
        bench_json_num(f, rep_s[r]);
    }
    fprintf(f, "],\n  \"rep_seconds_median\": ");
    bench_json_num(f, med);
    fprintf(f, ", \"rep_seconds_min\": ");
    bench_json_num(f, mn);
    fprintf(f, ", \"rep_seconds_max\": ");
    bench_json_num(f, mx);
    fprintf(f, ",\n  \"validation\": {\"ok\": true, \"warmup_mean_loss\": [");
    for (int s = 0; s < o.warmup; s++) {
        fprintf(f, "%s", s ? ", " : "");
        bench_json_num(f, warm_mean[s]);
    }
    fprintf(f, "], \"models_decreased\": %d, \"models\": %d, \"final_mean_loss\": ", decreased_models, N);
    bench_json_num(f, final_mean);
    fprintf(f, "},\n  \"git_revision\": ");
    bench_json_str(f, rev && *rev ? rev : "unknown");
#ifdef HS_GIT_REV
    fprintf(f, ",\n  \"build_git_revision\": ");
    bench_json_str(f, HS_GIT_REV);
#endif
    fprintf(f, ",\n  \"cpu\": ");
    bench_json_str(f, cpu);
    fprintf(f, ",\n  \"threads\": {\"OPENBLAS_NUM_THREADS\": ");
    bench_json_str(f, getenv("OPENBLAS_NUM_THREADS"));
    fprintf(f, ", \"OMP_NUM_THREADS\": ");
    bench_json_str(f, getenv("OMP_NUM_THREADS"));
    fprintf(f, ", \"omp_max_threads\": %d, \"openblas_threads\": %d, \"openblas_config\": ", omp_threads,
            openblas_get_num_threads());
    bench_json_str(f, openblas_get_config());
    fprintf(f, "}\n}\n");
    if (f != stdout && fclose(f)) {
        fprintf(stderr, "bench_lstm: cannot write %s\n", o.json);
        return 1;
    }
    hs_lstm_free(m);
    free(x);
    free(target);
    free(dy);
    free(loss);
    free(loss0);
    free(warm_mean);
    free(rep_s);
    return 0;
}
