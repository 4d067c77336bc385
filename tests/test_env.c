/* test_env.c: the autoscaling environment (ENV.md version 1) against trajectories computed by
 * hand on a tiny series (every branch of the transition, the clamp, the auto-reset), the
 * observation's layout, the exact margin targets, E environments at once against E single ones,
 * metrics that add up, the classic policies' targets, bad input, and the CPU environment seam
 * (env_seam.h) against hs_envs stepped directly, replay reset included. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/env_seam.h"
#include "hs_test.h"
#include "hyscale/env.h"
#include "hyscale/env_input.h"
#include "hyscale/math/rng.h"
#include "hyscale/policy.h"
#include "hyscale/safetensors.h"

/* 40 minutes; c = 1 (q99 / 100 < 1), so need = d; the two largest needs are 20, so S = 20. */
static const float tiny_d[40] = {0, 0, 1, 2, 3, 4, 6, 5, 10, 10, 4, 4, 20, 0, 0, 3, 3, 3, 3, 3,
                                 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

static void tiny_series(hs_env_series *s, const float *F)
{
    cr_assert_eq(hs_env_series_init(s, tiny_d, F, 1, 40, 0, "test"), HS_OK, "%s", hs_error_message());
}

Test(env, scales_from_the_training_span)
{
    hs_env_series s;
    tiny_series(&s, NULL);
    cr_expect_eq(s.c[0], 1.0);
    cr_expect_eq(s.S[0], 20.0f);
    cr_expect_eq(s.pmax[0], 80);
    cr_expect_eq(s.step[0], 1);
    for (int t = 0; t < 40; t++)
        cr_expect_eq(s.need[t], (int32_t)tiny_d[t]);
    hs_env_series_free(&s);
    /* a larger series: c = q99 / 100 and need = ceil(d / c); the holdout stays out of c and S */
    float d[200];
    for (int t = 0; t < 200; t++)
        d[t] = t < 150 ? (float)(10 * t) : 1e6f;
    cr_assert_eq(hs_env_series_init(&s, d, NULL, 1, 200, 50, "none"), HS_OK);
    /* sorted 0..1490 in steps of 10: h = 0.99 * 149 */
    double q99 = 10.0 * floor(0.99 * 149) + (0.99 * 149 - floor(0.99 * 149)) * 10.0;
    cr_expect(fabs(s.c[0] - q99 / 100.0) < 1e-9, "c %g, expected %g", s.c[0], q99 / 100.0);
    cr_expect_eq(s.need[37], (int32_t)ceil(370.0 / s.c[0]));
    hs_env_series_free(&s);
}

Test(env, margin_targets_are_exact)
{
    cr_expect_eq(hs_env_margin_target(10, 4, 100), 11); /* 10 * 1.1 is 11, not 12 */
    cr_expect_eq(hs_env_margin_target(10, 8, 100), 20);
    cr_expect_eq(hs_env_margin_target(10, 0, 100), 7);
    cr_expect_eq(hs_env_margin_target(3, 4, 100), 4); /* ceil(3.3) */
    cr_expect_eq(hs_env_margin_target(3, 2, 100), 3); /* ceil(2.7) */
    cr_expect_eq(hs_env_margin_target(7, 7, 100), 11); /* ceil(10.5) */
    cr_expect_eq(hs_env_margin_target(0, 8, 100), 0);
    cr_expect_eq(hs_env_margin_target(90, 8, 100), 100); /* clamped to P_max */
    cr_expect_eq(hs_env_delta_target(10, 0, 3, 100), 4);
    cr_expect_eq(hs_env_delta_target(10, 4, 3, 100), 16);
    cr_expect_eq(hs_env_delta_target(1, 0, 3, 100), 0);
    cr_expect_eq(hs_env_delta_target(99, 3, 3, 100), 100);
}

/* Every branch of the transition, by hand (w = 1, 0.1, 0.01; S = 20; P_max = 80). */
Test(env, hand_computed_replay)
{
    hs_env_series s;
    tiny_series(&s, NULL);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    hs_envs v;
    cr_assert_eq(hs_envs_init_replay(&v, &s, &cfg, 7, 11), HS_OK);
    cr_expect_eq(v.p[0], 5);
    const int32_t targets[4] = {12, 5, 100, -3};
    /* t=7 p=5: 12 vs n=10: idle 2, change 7; p = 12
     * t=8 p=12: 5 vs n=10: cold 5, change 7; p = max(5, 10) = 10 (reactive instances stay warm)
     * t=9 p=10: 100 -> P_max 80 vs n=4: idle 76, change 70; p = 80
     * t=10 p=80: -3 -> 0 vs n=4: cold 4, change 80; p = 4 */
    const int32_t cold[4] = {0, 5, 0, 4}, idle[4] = {2, 0, 76, 0}, p_after[4] = {12, 10, 80, 4};
    const float reward[4] = {-(0.2f + 0.07f) / 20, -(5.0f + 0.07f) / 20, -(7.6f + 0.7f) / 20, -(4.0f + 0.8f) / 20};
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(hs_envs_replay_done(&v), 0);
        hs_envs_step(&v, &targets[k]);
        cr_expect_eq(v.t[0], 8 + k);
        cr_expect_eq(v.cold[0], cold[k], "step %d cold %d", k, v.cold[0]);
        cr_expect_eq(v.idle[0], idle[k], "step %d idle %d", k, v.idle[0]);
        cr_expect_eq(v.p[0], p_after[k], "step %d p %d", k, v.p[0]);
        cr_expect(fabsf(v.reward[0] - reward[k]) < 1e-6f, "step %d reward %g, expected %g", k, v.reward[0],
                  reward[k]);
        /* the observation after the step: p/S first, then cold/S and idle/S last */
        cr_expect(fabsf(v.obs[0] - p_after[k] / 20.0f) < 1e-7f);
        cr_expect(fabsf(v.obs[21] - cold[k] / 20.0f) < 1e-7f);
        cr_expect(fabsf(v.obs[22] - idle[k] / 20.0f) < 1e-7f);
    }
    cr_expect_eq(v.done[0], 1);
    cr_expect_eq(hs_envs_replay_done(&v), 1);
    hs_env_metrics m = v.sums[0];
    cr_expect_eq(m.steps, 4);
    cr_expect_eq(m.cold, 9);
    cr_expect_eq(m.idle, 78);
    cr_expect_eq(m.change, 164);
    cr_expect_eq(m.need, 28);
    cr_expect(fabs(m.reward - (double)(reward[0] + reward[1] + reward[2] + reward[3])) < 1e-5);
    cr_expect(fabs(hs_env_metrics_cold_rate(&m) - 9.0 / 28.0) < 1e-12);
    cr_expect(fabs(hs_env_metrics_overprov(&m) - 78.0 / 28.0) < 1e-12);
    /* a step past t_end does nothing */
    hs_envs_step(&v, &targets[0]);
    cr_expect_eq(v.t[0], 11);
    cr_expect_eq(v.sums[0].steps, 4);
    hs_envs_free(&v);
    hs_env_series_free(&s);
}

/* ENV v2 (docs/ENV-v2.md): the errors and their RMS by hand, the 10 added entries, the episode's
 * idle weight drawn in its range and priced into the reward, and version 1 left as it was. */
Test(env, version_2_inputs_observation_and_reward)
{
    float F[40 * 8];
    for (int t = 0; t < 40; t++)
        for (int k = 0; k < 8; k++)
            F[t * 8 + k] = (float)(t % 7) + (float)k; /* fneed1[t] = t mod 7 (c = 1) */
    hs_env_series s;
    tiny_series(&s, F);
    /* err[t] = need[t] - fneed1[t-1]; rms over the last min(t, 60) errors */
    cr_expect_eq(s.err[0], 0);
    int64_t sq = 0;
    for (int t = 1; t < 40; t++) {
        int32_t e = s.need[t] - (t - 1) % 7;
        cr_assert_eq(s.err[t], e, "err[%d]", t);
        sq += (int64_t)e * e;
        cr_expect(fabsf(s.rms[t] - (float)sqrt((double)sq / t)) < 1e-6f * (1 + s.rms[t]), "rms[%d]", t);
    }
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    cfg.version = HS_ENV_V2;
    cfg.w.w_idle = 0.05f;
    hs_envs v;
    cr_assert_eq(hs_envs_init_replay(&v, &s, &cfg, 20, 30), HS_OK);
    cr_expect_eq(v.O, HS_ENV_OBS_V2);
    for (int i = 0; i < 8; i++)
        cr_expect(fabsf(v.obs[23 + i] - (float)s.err[13 + i] / s.S[0]) < 1e-7f, "entry %d", 23 + i);
    cr_expect(fabsf(v.obs[31] - s.rms[20] / s.S[0]) < 1e-7f);
    cr_expect(fabsf(v.obs[32] - log10f(0.5f)) < 1e-6f);
    /* the first 23 are version 1's */
    hs_env_config c1 = HS_ENV_CONFIG_DEFAULTS;
    hs_envs v1;
    cr_assert_eq(hs_envs_init_replay(&v1, &s, &c1, 20, 30), HS_OK);
    cr_expect_eq(v1.O, HS_ENV_OBS);
    cr_expect_eq(memcmp(v.obs, v1.obs, HS_ENV_OBS * sizeof *v.obs), 0);
    /* the reward prices idle at the environment's weight */
    int32_t target = 60;
    hs_envs_step(&v, &target);
    hs_envs_step(&v1, &target);
    float n = (float)s.need[21], idle = 60 - n, change = fabsf(60.0f - (float)s.need[20]);
    cr_expect(fabsf(v.reward[0] - -(0.05f * idle + 0.01f * change) / s.S[0]) < 1e-6f, "%g", v.reward[0]);
    cr_expect(fabsf(v1.reward[0] - -(0.1f * idle + 0.01f * change) / s.S[0]) < 1e-6f, "%g", v1.reward[0]);
    hs_envs_free(&v);
    hs_envs_free(&v1);
    /* training: each episode draws w_idle log-uniform in [lo, hi]; the starts are version 1's */
    cfg.w_idle_lo = 0.02f;
    cfg.w_idle_hi = 0.5f;
    cfg.episode = 8;
    c1.episode = 8;
    cr_assert_eq(hs_envs_init(&v, &s, 256, &cfg), HS_OK);
    cr_assert_eq(hs_envs_init(&v1, &s, 256, &c1), HS_OK);
    int below = 0;
    for (int e = 0; e < 256; e++) {
        cr_expect(v.w_idle[e] >= 0.02f * 0.9999f && v.w_idle[e] <= 0.5f * 1.0001f, "w %g", v.w_idle[e]);
        below += v.w_idle[e] < 0.1f; /* log-uniform: P(w < 0.1) = ln 5 / ln 25 = 0.5 */
        cr_expect_eq(v.t[e], v1.t[e], "env %d starts where version 1 would", e);
        cr_expect(fabsf(v.obs[e * HS_ENV_OBS_V2 + 32] - log10f(v.w_idle[e] / 0.1f)) < 1e-6f);
    }
    cr_expect(below > 100 && below < 156, "%d of 256 below 0.1", below);
    hs_envs_free(&v);
    hs_envs_free(&v1);
    hs_env_series_free(&s);
}

Test(env, observation_layout)
{
    float F[40 * 8];
    for (int t = 0; t < 40; t++)
        for (int k = 0; k < 8; k++)
            F[t * 8 + k] = k == 0 ? -5.0f : 1.1f * (float)(t + k + 1); /* f1 < 0 clamps to 0 */
    hs_env_series s;
    tiny_series(&s, F);
    cr_expect_eq(s.fneed[3 * 8 + 1], (int32_t)ceil(1.1 * 5 - 1e-6));
    cr_expect_eq(s.fneed1[3], 0);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    hs_envs v;
    cr_assert_eq(hs_envs_init_replay(&v, &s, &cfg, 3, 39), HS_OK);
    const float *o = v.obs;
    cr_expect(fabsf(o[0] - 2.0f / 20) < 1e-7f); /* p = need[3] */
    for (int i = 0; i < 4; i++)
        cr_expect_eq(o[1 + i], 0.0f, "need[%d] before the start counts as 0", i - 4);
    for (int i = 0; i < 4; i++)
        cr_expect(fabsf(o[5 + i] - tiny_d[i] / 20.0f) < 1e-7f);
    cr_expect_eq(o[9], 0.0f);
    for (int k = 1; k < 8; k++)
        cr_expect(fabsf(o[9 + k] - (float)s.fneed[3 * 8 + k] / 20.0f) < 1e-7f);
    cr_expect(fabsf(o[17] - sinf(6.2831853f * 3 / 1440)) < 1e-6f);
    cr_expect(fabsf(o[18] - cosf(6.2831853f * 3 / 1440)) < 1e-6f);
    cr_expect(fabsf(o[19] - 0.0f) < 1e-6f); /* day 0 of the week */
    cr_expect(fabsf(o[20] - 1.0f) < 1e-6f);
    cr_expect_eq(o[21], 0.0f);
    cr_expect_eq(o[22], 0.0f);
    /* the margin action applies to fneed[t][1] */
    int32_t a = 8, tg;
    hs_envs_targets_from_actions(&v, &a, &tg);
    cr_expect_eq(tg, 0);
    hs_envs_free(&v);
    hs_env_series_free(&s);
    /* without a forecaster, the forecast block is zeros and fneed1 is need */
    tiny_series(&s, NULL);
    cr_assert_eq(hs_envs_init_replay(&v, &s, &cfg, 12, 39), HS_OK);
    for (int k = 0; k < 8; k++)
        cr_expect_eq(v.obs[9 + k], 0.0f);
    hs_envs_targets_from_actions(&v, &a, &tg);
    cr_expect_eq(tg, 40); /* 2 * need[12] */
    hs_envs_free(&v);
    hs_env_series_free(&s);
}

/* The delta mode: 5 actions, target = p + (a - 2) * step with step = max(1, round(S / 20)) = 1. */
Test(env, delta_mode)
{
    hs_env_series s;
    tiny_series(&s, NULL);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    cfg.mode = HS_ENV_DELTA;
    cr_expect_eq(hs_env_action_count(HS_ENV_DELTA), 5);
    cr_expect_eq(hs_env_action_count(HS_ENV_MARGIN), 9);
    hs_envs v;
    cr_assert_eq(hs_envs_init_replay(&v, &s, &cfg, 7, 11), HS_OK);
    const int32_t acts[3] = {4, 0, 2};
    const int32_t want[2] = {7, 8}; /* p = 5 -> 7; then p = max(7, 10) = 10 -> 8 */
    int32_t tg;
    hs_envs_targets_from_actions(&v, &acts[0], &tg);
    cr_expect_eq(tg, want[0]);
    hs_envs_step(&v, &tg); /* n = need[8] = 10: p = max(7, 10) = 10 */
    cr_expect_eq(v.p[0], 10);
    hs_envs_targets_from_actions(&v, &acts[1], &tg);
    cr_expect_eq(tg, want[1]);
    hs_envs_step(&v, &tg); /* n = need[9] = 10: p = max(8, 10) = 10 */
    hs_envs_targets_from_actions(&v, &acts[2], &tg);
    cr_expect_eq(tg, 10, "hold keeps p");
    hs_envs_free(&v);
    hs_env_series_free(&s);
}

/* Training mode: the reset draw, the episode's end (done, finished sums) and the auto-reset. */
Test(env, auto_reset)
{
    hs_env_series s;
    tiny_series(&s, NULL);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    cfg.episode = 3;
    cfg.seed = 42;
    hs_envs v;
    cr_assert_eq(hs_envs_init(&v, &s, 1, &cfg), HS_OK);
    cr_expect_eq(v.lo, 7);
    cr_expect_eq(v.hi, 40 - 3 - 9);
    /* t0 = 7 + floor(u * 22) with u from the draw (seed 42, stream 0, counter 0) */
    hs_u32x4 r = hs_rng_u32x4(42, 0, 0);
    int t0 = 7 + (int)(hs_u64_to_unit(r.v[0], r.v[1]) * 22.0);
    cr_expect_eq(v.t[0], t0);
    cr_expect_eq(v.p[0], (int32_t)tiny_d[t0]);
    double sum = 0;
    int32_t tg = 0;
    for (int k = 0; k < 3; k++) {
        hs_envs_step(&v, &tg); /* scale to zero: every need is a cold start */
        sum += v.reward[0];
        cr_expect_eq(v.done[0], k == 2);
    }
    cr_expect_eq(v.finished_count, 1);
    cr_expect_eq(v.finished.steps, 3);
    cr_expect_eq(v.finished.cold, (int64_t)(tiny_d[t0 + 1] + tiny_d[t0 + 2] + tiny_d[t0 + 3]));
    cr_expect(fabs(v.finished.reward - sum) < 1e-6);
    r = hs_rng_u32x4(42, 0, 1);
    int t1 = 7 + (int)(hs_u64_to_unit(r.v[0], r.v[1]) * 22.0);
    cr_expect_eq(v.t[0], t1, "reset to %d, expected %d", v.t[0], t1);
    cr_expect_eq(v.p[0], (int32_t)tiny_d[t1]);
    cr_expect_eq(v.steps[0], 0);
    cr_expect_eq(v.cold[0], 0);
    cr_expect_eq(v.sums[0].steps, 0);
    cr_expect(fabsf(v.obs[0] - tiny_d[t1] / 20.0f) < 1e-7f);
    cr_expect_eq(v.obs[21], 0.0f, "cold/S is 0 after a reset");
    hs_envs_free(&v);
    hs_env_series_free(&s);
}

/* E environments at once step exactly like E single environments; their metrics add up. */
Test(env, batch_equals_singles_and_metrics_add_up)
{
    enum { N = 300, E = 6, STEPS = 200 };
    float d[N];
    hs_rng g = hs_rng_make(7, 0);
    for (int t = 0; t < N; t++)
        d[t] = (float)(50 + 40 * sin(t / 20.0) + 30 * hs_rng_next_double(&g));
    hs_env_series s;
    cr_assert_eq(hs_env_series_init(&s, d, NULL, 1, N, 60, "none"), HS_OK);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    cfg.episode = 25;
    cfg.seed = 9;
    hs_envs all, one[E];
    cr_assert_eq(hs_envs_init(&all, &s, E, &cfg), HS_OK);
    for (int e = 0; e < E; e++) {
        hs_env_config c1 = cfg;
        c1.first_stream = (uint64_t)e;
        cr_assert_eq(hs_envs_init(&one[e], &s, 1, &c1), HS_OK);
    }
    double reward_sum = 0;
    for (int k = 0; k < STEPS; k++) {
        int32_t act[E], tg[E];
        for (int e = 0; e < E; e++)
            act[e] = (int32_t)(hs_rng_next_u32(&g) % HS_ENV_ACTIONS);
        hs_envs_targets_from_actions(&all, act, tg);
        hs_envs_step(&all, tg);
        for (int e = 0; e < E; e++) {
            int32_t t1;
            hs_envs_targets_from_actions(&one[e], &act[e], &t1);
            cr_assert_eq(t1, tg[e]);
            hs_envs_step(&one[e], &t1);
            cr_assert_eq(one[e].reward[0], all.reward[e], "step %d env %d", k, e);
            cr_assert_eq(one[e].done[0], all.done[e]);
            cr_assert_eq(memcmp(one[e].obs, all.obs + e * HS_ENV_OBS, HS_ENV_OBS * sizeof(float)), 0);
            reward_sum += all.reward[e];
        }
    }
    /* every step's reward is in an ended episode or a running one */
    hs_env_metrics tot = all.finished;
    for (int e = 0; e < E; e++)
        hs_env_metrics_add(&tot, &all.sums[e]);
    cr_expect_eq(tot.steps, E * STEPS);
    cr_expect_eq(all.finished.steps, all.finished_count * 25);
    cr_expect(fabs(tot.reward - reward_sum) < 1e-6 * E * STEPS);
    /* the reward is the weighted sum of the counts over S */
    double w = -(tot.cold + 0.1 * tot.idle + 0.01 * tot.change) / s.S[0];
    cr_expect(fabs(tot.reward - w) < 1e-4 * fabs(w), "%g vs %g", tot.reward, w);
    hs_envs_free(&all);
    for (int e = 0; e < E; e++)
        hs_envs_free(&one[e]);
    hs_env_series_free(&s);
}

Test(env, classic_policy_targets)
{
    float F[40 * 8];
    for (int i = 0; i < 40 * 8; i++)
        F[i] = 7.0f;
    hs_env_series s;
    tiny_series(&s, F);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    hs_envs v;
    cr_assert_eq(hs_envs_init_replay(&v, &s, &cfg, 13, 39), HS_OK);
    int32_t tg;
    hs_policy p = {.kind = HS_POLICY_REACTIVE};
    cr_assert_eq(hs_policy_targets(&p, &v, &tg), HS_OK);
    cr_expect_eq(tg, 0); /* need[13] */
    p.kind = HS_POLICY_KEEPALIVE;
    p.keepalive = 10;
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 20); /* max(need[4..13]) */
    p.keepalive = 1;
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 0);
    p.kind = HS_POLICY_STATIC;
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 20);
    p.kind = HS_POLICY_FORECAST;
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 7);
    p.kind = HS_POLICY_MARGIN;
    p.headroom_pct = 50;
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 11);
    p.headroom_pct = 45; /* ceil(7 * 1.45) = ceil(10.15) */
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 11);
    p.headroom_pct = 0;
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 7);
    p.headroom_pct = 100; /* exactly 14, no rounding up past it */
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 14);
    /* the action set's tenths and whole percents give the same targets everywhere */
    for (int32_t f = 0; f < 200; f++)
        for (int a = 0; a < HS_ENV_ACTIONS; a++)
            cr_assert_eq(hs_env_margin_target(f, a, 1000), hs_env_headroom_target(f, 10 * hs_env_margin_tenths(a), 1000));
    int32_t level[1];
    cr_assert_eq(hs_policy_static_levels(&s, 99, level), HS_OK);
    cr_expect_eq(level[0], (int32_t)ceilf(s.S[0]), "static at p99 is static-p99");
    p.kind = HS_POLICY_STATIC;
    p.level = level;
    level[0] = 3;
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 3);
    p.level = NULL;
    uint8_t warm[40] = {0};
    warm[14] = 1;
    p.kind = HS_POLICY_HISTOGRAM;
    p.warm = warm;
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 1, "kept warm: at least one instance");
    warm[14] = 0;
    hs_policy_targets(&p, &v, &tg);
    cr_expect_eq(tg, 0);
    hs_envs_free(&v);
    /* evaluation sums the transitions into t_start+1 .. t_end: reactive's cold starts are the rises */
    hs_env_metrics m;
    p.kind = HS_POLICY_REACTIVE;
    cr_assert_eq(hs_policy_evaluate(&p, &s, &cfg, 7, 12, &m), HS_OK);
    cr_expect_eq(m.steps, 5);
    cr_expect_eq(m.need, 10 + 10 + 4 + 4 + 20);
    cr_expect_eq(m.cold, 5 + 0 + 0 + 0 + 16);
    cr_expect_eq(m.idle, 0 + 0 + 6 + 0 + 0);
    hs_env_series_free(&s);
}

Test(env, bad_input)
{
    hs_env_series s;
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    tiny_series(&s, NULL);
    cfg.episode = 30; /* 40 minutes cannot hold an episode of 30 plus 16 */
    hs_envs v;
    cr_expect_eq(hs_envs_init(&v, &s, 4, &cfg), HS_ERR_INPUT);
    cr_expect(strstr(hs_error_message(), "shorter than an episode") != NULL, "%s", hs_error_message());
    hs_env_series_free(&s);
    float d[40];
    memcpy(d, tiny_d, sizeof d);
    d[5] = NAN;
    cr_expect_eq(hs_env_series_init(&s, d, NULL, 1, 40, 0, "none"), HS_ERR_INPUT);
    cr_expect(strstr(hs_error_message(), "minute 5") != NULL, "%s", hs_error_message());
    cr_expect_eq(hs_env_series_init(&s, tiny_d, NULL, 1, 40, 30, "none"), HS_ERR_INPUT);
    /* a forecast file shorter than the series */
    char *dir = hs_test_tmpdir("env_bad");
    char path[512];
    snprintf(path, sizeof path, "%s/lstm_forecast8.csv", dir);
    cr_assert_eq(hs_test_write_file(path, "minute,f1,f2,f3,f4,f5,f6,f7,f8\n0,1,1,1,1,1,1,1,1\n1,1,1,1,1,1,1,1,1\n"),
                 0);
    float F[3 * 8];
    cr_expect_eq(hs_env_read_forecast8(path, 3, F), HS_ERR_INPUT);
    cr_expect(strstr(hs_error_message(), "shorter than the series") != NULL, "%s", hs_error_message());
    cr_assert_eq(hs_test_write_file(path, "minute,f1,f2,f3,f4,f5,f6,f7,f8\n0,1,1,1,x,1,1,1,1\n"), 0);
    cr_expect_eq(hs_env_read_forecast8(path, 1, F), HS_ERR_INPUT);
    cr_expect(strstr(hs_error_message(), ":2: column 5 (f4): non-numeric value 'x'") != NULL, "%s", hs_error_message());
    cr_expect_eq(hs_env_forecaster_valid("arima"), 0);
    /* per-function forecasts: shorter than the series, more functions than the series has */
    snprintf(path, sizeof path, "%s/lstm_functions_forecast8.safetensors", dir);
    float f8[3 * 10 * 8] = {0};
    hs_st_tensor t = {"forecast8", f8, 3, {3, 10, 8, 0}};
    FILE *f = fopen(path, "wb");
    cr_assert_eq(hs_safetensors_write(f, path, &t, 1, NULL), HS_OK);
    fclose(f);
    float *Fp = NULL;
    int64_t k = 5;
    cr_expect_eq(hs_env_read_functions_forecast8(path, 12, &Fp, &k), HS_ERR_INPUT);
    cr_expect(strstr(hs_error_message(), "shorter than the series") != NULL, "%s", hs_error_message());
    k = 2;
    cr_expect_eq(hs_env_read_functions_forecast8(path, 10, &Fp, &k), HS_ERR_INPUT);
    cr_expect(strstr(hs_error_message(), "3 functions") != NULL, "%s", hs_error_message());
    k = 5;
    cr_assert_eq(hs_env_read_functions_forecast8(path, 10, &Fp, &k), HS_OK);
    cr_expect_eq(k, 3);
    free(Fp);
    free(dir);
}

/* The CPU seam steps like hs_envs by hand (actions, auto-reset, finished episodes); a replay's
 * reset goes back to its first minute and replays the same sums. */
Test(env, cpu_seam_equals_hs_envs)
{
    hs_env_series s;
    tiny_series(&s, NULL);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    cfg.episode = 3;
    cfg.seed = 9;
    enum { E = 4 };
    const hs_env_ops *ops = hs_env_cpu_ops();
    void *ctx;
    hs_envs v;
    cr_assert_eq(ops->create(&ctx, &s, E, &cfg), HS_OK);
    cr_assert_eq(hs_envs_init(&v, &s, E, &cfg), HS_OK);
    cr_expect_eq(ops->count(ctx), E);
    float o1[E * HS_ENV_OBS];
    for (int k = 0; k < 7; k++) {
        int32_t a[E];
        for (int e = 0; e < E; e++)
            a[e] = (k + e) % HS_ENV_ACTIONS;
        cr_assert_eq(ops->step_actions(ctx, a), HS_OK);
        hs_envs_targets_from_actions(&v, a, v.target);
        hs_envs_step(&v, v.target);
        cr_assert_eq(ops->observe(ctx, o1), HS_OK);
        cr_expect(!memcmp(o1, v.obs, sizeof o1), "step %d: observations differ", k);
    }
    hs_env_metrics m;
    int64_t n;
    cr_assert_eq(ops->take_finished(ctx, &m, &n), HS_OK);
    cr_expect_eq(n, v.finished_count);
    cr_expect(n > 0);
    cr_expect(!memcmp(&m, &v.finished, sizeof m));
    cr_assert_eq(ops->take_finished(ctx, &m, &n), HS_OK);
    cr_expect_eq(n, 0, "a take zeroes the sums");
    ops->destroy(ctx);
    hs_envs_free(&v);

    cr_assert_eq(ops->create_replay(&ctx, &s, &cfg, 2, 30), HS_OK);
    hs_env_metrics first, again;
    float obs0[HS_ENV_OBS], obs1[HS_ENV_OBS];
    cr_assert_eq(ops->observe(ctx, obs0), HS_OK);
    int32_t tg = 4;
    for (int k = 0; k < 28; k++)
        cr_assert_eq(ops->step_targets(ctx, &tg), HS_OK);
    cr_assert_eq(ops->sums(ctx, &first), HS_OK);
    cr_expect_eq(first.steps, 28);
    cr_assert_eq(ops->reset(ctx), HS_OK);
    cr_assert_eq(ops->observe(ctx, obs1), HS_OK);
    cr_expect(!memcmp(obs0, obs1, sizeof obs0), "a replay's reset goes back to t_start");
    for (int k = 0; k < 28; k++)
        cr_assert_eq(ops->step_targets(ctx, &tg), HS_OK);
    cr_assert_eq(ops->sums(ctx, &again), HS_OK);
    cr_expect(!memcmp(&first, &again, sizeof first), "the replay after a reset has other sums");
    ops->destroy(ctx);
    hs_env_series_free(&s);
}

/* The 8-step forecast reader (forecast8_csv.h) is strict like every reader: the numbers a line
 * buffer and strtod used to take (hex, huge values, a NUL, a cut long field, a wrong minute). */
Test(env, forecast8_reader_is_strict)
{
    char *dir = hs_test_tmpdir("env_f8");
    char path[512];
    snprintf(path, sizeof path, "%s/f8.csv", dir);
    float F[8];
    static const struct {
        const char *body, *want;
    } bad[] = {
        {"0,1,1,1,0x10,1,1,1,1\n", "column 5 (f4)"},
        {"0,1,1,1,1e200,1,1,1,1\n", "column 5 (f4)"},
        {"0,1,1,1,1,1,1,1,1" "00000000000000000000000000000000000000000000000000000000000000000000000x\n", "column 9 (f8)"},
        {"3,1,1,1,1,1,1,1,1\n", "column 1 (minute): expected minute 0"},
        {"0,1,1,1,1,1,1,1,1,9\n", "wrong column count"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[512];
        snprintf(text, sizeof text, "minute,f1,f2,f3,f4,f5,f6,f7,f8\n%s", bad[i].body);
        cr_assert_eq(hs_test_write_file(path, text), 0);
        cr_expect_eq(hs_env_read_forecast8(path, 1, F), HS_ERR_INPUT, "case %zu accepted", i);
        cr_expect(strstr(hs_error_message(), bad[i].want) != NULL, "case %zu: %s", i, hs_error_message());
    }
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite("minute,f1,f2,f3,f4,f5,f6,f7,f8\n0,1,1,1,8.5\0x,1,1,1,1\n", 1, 53, f);
    fclose(f);
    cr_expect_eq(hs_env_read_forecast8(path, 1, F), HS_ERR_INPUT, "a NUL inside a field");
    cr_assert_eq(hs_test_write_file(path, "minute,f1,f2,f3,f4,f5,f6,f7,f8\n0,1,2,3,4,5,6,7,8.25\n"), 0);
    cr_assert_eq(hs_env_read_forecast8(path, 1, F), HS_OK, "%s", hs_error_message());
    cr_expect(F[0] == 1.0f && F[7] == 8.25f);
    free(dir);
}

/* Per-function forecasts that are not finite (or past any count) are refused by name, where
 * they used to reach the environment's needs as NaN. */
Test(env, functions_forecast8_must_be_finite)
{
    char *dir = hs_test_tmpdir("env_f8nan");
    char path[512];
    snprintf(path, sizeof path, "%s/lstm_functions_forecast8.safetensors", dir);
    float f8[2 * 4 * 8] = {0};
    const float bad[2] = {NAN, 1e30f};
    hs_st_tensor t = {"forecast8", f8, 3, {2, 4, 8, 0}};
    f8[13] = NAN;
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_expect_eq(hs_safetensors_write(f, path, &t, 1, NULL), HS_ERR_INTERNAL, "the writer writes no NaN");
    fclose(f);
    f8[13] = 0.0f;
    for (int c = 0; c < 2; c++) {
        /* a valid file, then element 13's bytes replaced, as a damaged or foreign file would be */
        f = fopen(path, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(hs_safetensors_write(f, path, &t, 1, NULL), HS_OK);
        fclose(f);
        f = fopen(path, "r+b");
        cr_assert_not_null(f);
        unsigned char lb[8];
        cr_assert_eq(fread(lb, 1, 8, f), 8u);
        uint64_t hl = 0;
        for (int i = 0; i < 8; i++)
            hl |= (uint64_t)lb[i] << (8 * i);
        cr_assert_eq(fseek(f, (long)(8 + hl + 13 * 4), SEEK_SET), 0);
        cr_assert_eq(fwrite(&bad[c], 4, 1, f), 1u);
        fclose(f);
        float *Fp = NULL;
        int64_t k = 2;
        cr_expect_eq(hs_env_read_functions_forecast8(path, 4, &Fp, &k), HS_ERR_INPUT, "case %d accepted", c);
        cr_expect(strstr(hs_error_message(), "element 13") != NULL, "%s", hs_error_message());
        free(Fp);
    }
    free(dir);
}
