/* test_env_cuda.c: the CUDA environments (src/backend/cuda/env_cuda.c, kernels/env_step.cu)
 * against the CPU's (env_cpu.c), both behind the environment seam: from the same configuration
 * and the same actions, the same integer state at every step (instances, minute, steps into the
 * episode, cold and idle of the step, the episodes drawn), the same episode resets, observations
 * and rewards within float tolerance (below), for ENV versions 1 and 2, both action modes, K
 * series replayed by more environments than series (the `functions` env series mode), training
 * with auto-reset and replay. The GPU cases skip with a message where no device answers; the
 * build without CUDA has no backend (NULL), checked everywhere.
 *
 * Tolerances: integers exactly. The observation's entries are quotients of integers by S, the
 * precomputed time features, and (version 2) log10f(w_idle / 0.1) with w_idle = exp of a double
 * drawn from the same Philox numbers: the device's log10f, exp and log may differ from glibc's
 * by an ulp, so 1e-6 relative, 1e-6 absolute. Rewards are float sums of integer counts times the
 * weights over S: 1e-6 relative. The reward of the finished episodes (a double) is summed per
 * environment on the device and across environments on the host, in another order than the
 * CPU's one running total: 1e-9 relative. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/env_seam.h"
#include "hs_test.h"
#include "hyscale/backend.h"
#include "hyscale/env.h"

static int gpu_or_skip(void)
{
    if (hs_cuda_device_count() > 0)
        return 1;
    cr_skip_test("no CUDA device answers here (%s): the CPU-vs-GPU environment parity runs on a GPU machine",
                 hs_cuda_device_describe());
    return 0;
}

/* K series of N minutes: a daily shape with a per-series level and a deterministic wobble, and a
 * forecast F (K, N, 8) off by a few percent. */
static void make_series(hs_env_series *s, int64_t K, int64_t N, int with_forecast)
{
    float *d = malloc((size_t)(K * N) * sizeof *d), *F = malloc((size_t)(K * N * 8) * sizeof *F);
    cr_assert(d && F);
    for (int64_t k = 0; k < K; k++)
        for (int64_t t = 0; t < N; t++) {
            double level = 40.0 + 25.0 * (double)k;
            double v = level * (1.2 + sin(2 * M_PI * (double)t / 1440.0)) + 9.0 * sin(12.9898 * (double)(t + k));
            d[k * N + t] = (float)(v > 0 ? floor(v) : 0);
            for (int j = 0; j < 8; j++)
                F[(k * N + t) * 8 + j] = (float)(v * (1.0 + 0.03 * sin((double)(t + j))));
        }
    cr_assert_eq(hs_env_series_init(s, d, with_forecast ? F : NULL, K, N, 720, with_forecast ? "hybrid" : "none"),
                 HS_OK, "%s", hs_error_message());
    free(d);
    free(F);
}

static int close_f(float a, float b) { return fabsf(a - b) <= 1e-6f + 1e-6f * fabsf(b); }

/* Every observation of the two, within the observation tolerance. */
static void expect_same_obs(const float *gpu, const float *cpu, int64_t n, const char *what, int step)
{
    for (int64_t i = 0; i < n; i++)
        if (!close_f(gpu[i], cpu[i])) {
            cr_expect(0, "%s, step %d: observation entry %lld: gpu %.9g, cpu %.9g", what, step, (long long)i,
                      (double)gpu[i], (double)cpu[i]);
            return;
        }
}

static void expect_same_sums(const hs_env_metrics *g, const hs_env_metrics *c, int64_t E, const char *what)
{
    for (int64_t e = 0; e < E; e++) {
        cr_expect(g[e].steps == c[e].steps && g[e].cold == c[e].cold && g[e].idle == c[e].idle &&
                      g[e].change == c[e].change && g[e].need == c[e].need,
                  "%s: environment %lld's integer sums differ", what, (long long)e);
        cr_expect(fabs(g[e].reward - c[e].reward) <= 1e-6 * (1 + fabs(c[e].reward)),
                  "%s: environment %lld's reward %.12g vs %.12g", what, (long long)e, g[e].reward, c[e].reward);
    }
}

/* E environments of cfg on the GPU and the CPU through the seam, `steps` steps of the same
 * pseudo-random actions: observations every step, sums and finished episodes at the end. */
static void parity_training(const hs_env_series *s, int64_t E, hs_env_config cfg, int steps, const char *what)
{
    const hs_env_ops *g = hs_env_cuda_ops(), *c = hs_env_cpu_ops();
    cr_assert(g, "a build with CUDA has the CUDA environment");
    void *gc, *cc;
    cr_assert_eq(g->create(&gc, s, E, &cfg), HS_OK, "%s: %s", what, hs_error_message());
    cr_assert_eq(c->create(&cc, s, E, &cfg), HS_OK, "%s: %s", what, hs_error_message());
    int O = hs_env_obs_size(cfg.version);
    float *og = malloc((size_t)(E * O) * sizeof *og), *oc = malloc((size_t)(E * O) * sizeof *oc);
    int32_t *a = malloc((size_t)E * sizeof *a);
    hs_env_metrics *sg = malloc((size_t)E * sizeof *sg), *sc = malloc((size_t)E * sizeof *sc);
    cr_assert(og && oc && a && sg && sc);
    cr_assert_eq(g->observe(gc, og), HS_OK);
    cr_assert_eq(c->observe(cc, oc), HS_OK);
    expect_same_obs(og, oc, E * O, what, -1); /* the first episodes drawn on the device */
    int na = hs_env_action_count(cfg.mode);
    uint64_t x = 88172645463325252ull;
    for (int k = 0; k < steps; k++) {
        for (int64_t e = 0; e < E; e++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            a[e] = (int32_t)(x % (uint64_t)na);
        }
        cr_assert_eq(g->step_actions(gc, a), HS_OK, "%s: %s", what, hs_error_message());
        cr_assert_eq(c->step_actions(cc, a), HS_OK);
        cr_assert_eq(g->observe(gc, og), HS_OK);
        cr_assert_eq(c->observe(cc, oc), HS_OK);
        expect_same_obs(og, oc, E * O, what, k);
    }
    cr_assert_eq(g->sums(gc, sg), HS_OK);
    cr_assert_eq(c->sums(cc, sc), HS_OK);
    expect_same_sums(sg, sc, E, what);
    hs_env_metrics mg, mc;
    int64_t ng, nc;
    cr_assert_eq(g->take_finished(gc, &mg, &ng), HS_OK);
    cr_assert_eq(c->take_finished(cc, &mc, &nc), HS_OK);
    cr_expect(nc > 0, "%s: the test should end episodes", what);
    cr_expect_eq(ng, nc, "%s: %lld episodes ended on the GPU, %lld on the CPU", what, (long long)ng, (long long)nc);
    cr_expect(mg.steps == mc.steps && mg.cold == mc.cold && mg.idle == mc.idle && mg.change == mc.change &&
                  mg.need == mc.need,
              "%s: the finished episodes' integer sums differ", what);
    cr_expect(fabs(mg.reward - mc.reward) <= 1e-9 * (1 + fabs(mc.reward)), "%s: finished reward %.15g vs %.15g",
              what, mg.reward, mc.reward);
    cr_assert_eq(g->take_finished(gc, &mg, &ng), HS_OK);
    cr_expect_eq(ng, 0, "%s: a take zeroes the totals", what);
    /* a reset draws every environment's next episode the same way */
    cr_assert_eq(g->reset(gc), HS_OK);
    cr_assert_eq(c->reset(cc), HS_OK);
    cr_assert_eq(g->observe(gc, og), HS_OK);
    cr_assert_eq(c->observe(cc, oc), HS_OK);
    expect_same_obs(og, oc, E * O, what, steps);
    g->destroy(gc);
    c->destroy(cc);
    free(og);
    free(oc);
    free(a);
    free(sg);
    free(sc);
}

Test(env_cuda, the_backend_exists_where_cuda_is_built)
{
    if (!hs_cuda_built()) {
        cr_expect(hs_env_cuda_ops() == NULL, "a build without CUDA has no CUDA environment");
        return;
    }
    const hs_env_ops *g = hs_env_cuda_ops();
    cr_assert(g != NULL && strcmp(g->name, "cuda") == 0);
    if (hs_cuda_device_count() > 0)
        return;
    /* built but no device answers: a device error naming CUDA, and no context */
    hs_env_series s;
    make_series(&s, 1, 4320, 1);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    void *gc = (void *)&s;
    cr_expect_eq(g->create(&gc, &s, 4, &cfg), HS_ERR_DEVICE);
    cr_expect(strstr(hs_error_message(), "CUDA"), "%s", hs_error_message());
    cr_expect_null(gc);
    cr_expect_eq(g->create_replay(&gc, &s, &cfg, 3600, 4319), HS_ERR_DEVICE);
    cr_expect_null(gc);
    hs_env_series_free(&s);
}

/* 3 series replayed by 1,000 environments for 1,600 steps of 300-minute episodes: five resets
 * each, margin actions, version 1 with a forecaster and without. */
Test(env_cuda, training_matches_the_cpu_version_1, .timeout = 300)
{
    if (!gpu_or_skip())
        return;
    hs_env_series s, none;
    make_series(&s, 3, 4320, 1);
    make_series(&none, 3, 4320, 0);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    cfg.episode = 300;
    cfg.seed = 11;
    parity_training(&s, 1000, cfg, 1600, "v1 margin, hybrid");
    parity_training(&none, 1000, cfg, 700, "v1 margin, no forecaster");
    cfg.mode = HS_ENV_DELTA;
    parity_training(&s, 1000, cfg, 700, "v1 delta");
    hs_env_series_free(&s);
    hs_env_series_free(&none);
}

/* Version 2: the errors, their RMS and the idle weight drawn per episode (exp and log on the
 * device); first_stream offsets the streams as a larger set's slice. */
Test(env_cuda, training_matches_the_cpu_version_2, .timeout = 300)
{
    if (!gpu_or_skip())
        return;
    hs_env_series s;
    make_series(&s, 5, 4320, 1);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    cfg.version = HS_ENV_V2;
    cfg.episode = 240;
    cfg.seed = 3;
    cfg.first_stream = 17;
    parity_training(&s, 4099, cfg, 1000, "v2 margin");
    hs_env_series_free(&s);
}

/* Replay: one environment per series over the holdout with targets, sums equal, a reset back at
 * the start; adopt and release carry the CPU's state to the device and back unchanged by a step
 * taken on each side. */
Test(env_cuda, replay_and_adopt_match_the_cpu, .timeout = 300)
{
    if (!gpu_or_skip())
        return;
    hs_env_series s;
    make_series(&s, 4, 4320, 1);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    const hs_env_ops *g = hs_env_cuda_ops(), *c = hs_env_cpu_ops();
    void *gc, *cc;
    cr_assert_eq(g->create_replay(&gc, &s, &cfg, 3600, 4319), HS_OK, "%s", hs_error_message());
    cr_assert_eq(c->create_replay(&cc, &s, &cfg, 3600, 4319), HS_OK);
    int32_t tg[4];
    for (int k = 0; k < 760; k++) { /* past t_end: a finished replay stays */
        for (int e = 0; e < 4; e++)
            tg[e] = (k * 7 + e * 13) % 300 - 20; /* negative ones clamp to 0 */
        cr_assert_eq(g->step_targets(gc, tg), HS_OK, "%s", hs_error_message());
        cr_assert_eq(c->step_targets(cc, tg), HS_OK);
    }
    hs_env_metrics sg[4], sc[4];
    cr_assert_eq(g->sums(gc, sg), HS_OK);
    cr_assert_eq(c->sums(cc, sc), HS_OK);
    cr_expect_eq(sc[0].steps, 719);
    expect_same_sums(sg, sc, 4, "replay");
    float og[4 * HS_ENV_OBS], oc[4 * HS_ENV_OBS];
    cr_assert_eq(g->reset(gc), HS_OK);
    cr_assert_eq(c->reset(cc), HS_OK);
    cr_assert_eq(g->observe(gc, og), HS_OK);
    cr_assert_eq(c->observe(cc, oc), HS_OK);
    expect_same_obs(og, oc, 4 * HS_ENV_OBS, "replay reset", 0);
    g->destroy(gc);
    c->destroy(cc);

    /* adopt: the CPU's environments after 50 steps go to the device, take 400 steps there (and
     * 400 on the CPU twin), and come back */
    cfg.episode = 100;
    hs_envs h, twin;
    cr_assert_eq(hs_envs_init(&h, &s, 64, &cfg), HS_OK);
    cr_assert_eq(hs_envs_init(&twin, &s, 64, &cfg), HS_OK);
    int32_t a[64];
    for (int k = 0; k < 450; k++) {
        for (int e = 0; e < 64; e++)
            a[e] = (k + 3 * e) % HS_ENV_ACTIONS;
        if (k == 50)
            cr_assert_eq(g->adopt(&gc, &h), HS_OK, "%s", hs_error_message());
        if (k < 50) {
            hs_envs_targets_from_actions(&h, a, h.target);
            hs_envs_step(&h, h.target);
        } else {
            cr_assert_eq(g->step_actions(gc, a), HS_OK);
        }
        hs_envs_targets_from_actions(&twin, a, twin.target);
        hs_envs_step(&twin, twin.target);
    }
    cr_assert_eq(g->release(gc, &h), HS_OK, "%s", hs_error_message());
    cr_expect(!memcmp(h.t, twin.t, sizeof a) && !memcmp(h.p, twin.p, sizeof a) &&
                  !memcmp(h.steps, twin.steps, sizeof a) && !memcmp(h.cold, twin.cold, sizeof a) &&
                  !memcmp(h.idle, twin.idle, sizeof a),
              "the released state is the CPU twin's");
    cr_expect(!memcmp(h.episode, twin.episode, 64 * sizeof *h.episode), "the same episodes drawn");
    cr_expect_eq(h.finished_count, twin.finished_count);
    cr_expect(h.finished.cold == twin.finished.cold && h.finished.steps == twin.finished.steps);
    expect_same_obs(h.obs, twin.obs, 64 * HS_ENV_OBS, "released", 450);
    hs_envs_free(&h);
    hs_envs_free(&twin);
    hs_env_series_free(&s);
}

/* Actions out of range are refused before they reach the device, naming the environment. */
Test(env_cuda, bad_actions_are_refused)
{
    if (!gpu_or_skip())
        return;
    hs_env_series s;
    make_series(&s, 1, 4320, 1);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    const hs_env_ops *g = hs_env_cuda_ops();
    void *gc;
    cr_assert_eq(g->create(&gc, &s, 4, &cfg), HS_OK, "%s", hs_error_message());
    int32_t a[4] = {0, 1, HS_ENV_ACTIONS, 2};
    cr_expect_eq(g->step_actions(gc, a), HS_ERR_INPUT);
    cr_expect(strstr(hs_error_message(), "environment 2"), "%s", hs_error_message());
    g->destroy(gc);
    hs_env_series_free(&s);
}
