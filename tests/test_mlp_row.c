/* test_mlp_row.c: PPO's MLPs over one observation (math/mlp_row.h, what a device thread runs)
 * against the CPU backend's batched GEMMs (ppo_seam.h's act), and the action rule; then the act
 * kernel (backend/ppo_act.h, kernels/ppo_act.cu) against the same CPU act where a GPU answers.
 *
 * Tolerances: the row sums each dot product in order, the GEMMs in blocks: logits, values and
 * log-probabilities agree within 1e-5 (absolute plus relative; the layers are tanh-bounded and
 * the weights orthogonal, so the sums stay near 1). An action may differ only where the draw u
 * lies within 1e-5 of a boundary of the cumulative probabilities (a near-tie); with 4,000 draws
 * the test allows those and no other. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ppo_act.h"
#include "backend/ppo_seam.h"
#include "hs_test.h"
#include "hyscale/backend.h"
#include "hyscale/math/ppo_loss.h"
#include "hyscale/math/rng.h"

#define E 4000
#define O HS_ENV_OBS
#define A HS_ENV_ACTIONS

/* Orthogonal weights and small random biases (the initial biases are 0, which would leave them
 * untested), and E observations in the ranges the environment gives. */
static void make_inputs(hs_mlp_layout *l, float **params, float **obs)
{
    *l = hs_mlp_layout_make(O, 64, A);
    *params = malloc((size_t)l->total * sizeof **params);
    *obs = malloc((size_t)E * O * sizeof **obs);
    cr_assert(*params && *obs);
    hs_mlp_init_orthogonal(l, *params, 5);
    hs_rng r = hs_rng_make(77, 3);
    const int64_t biases[6] = {l->a_b1, l->a_b2, l->a_b3, l->c_b1, l->c_b2, l->c_b3};
    const int64_t sizes[6] = {l->hidden, l->hidden, l->actions, l->hidden, l->hidden, 1};
    for (int k = 0; k < 6; k++)
        for (int64_t i = 0; i < sizes[k]; i++)
            (*params)[biases[k] + i] = (float)(0.2 * (hs_rng_next_double(&r) - 0.5));
    /* the policy head's gain 0.01 makes every action near-equally likely: scale it up so the
     * logits spread as a trained agent's do */
    for (int64_t i = 0; i < l->actions * l->hidden; i++)
        (*params)[l->a_w3 + i] *= 150.0f;
    for (int64_t i = 0; i < (int64_t)E * O; i++)
        (*obs)[i] = (float)(3.0 * hs_rng_next_double(&r) - 0.5);
}

static void cpu_act(const hs_mlp_layout *l, const float *params, const float *obs, int greedy, uint64_t counter,
                    int32_t *act, float *logp, float *val)
{
    const hs_ppo_ops *ops = hs_ppo_cpu_ops();
    hs_ppo_config cfg = HS_PPO_CONFIG_DEFAULTS;
    cfg.seed = 9;
    void *ctx;
    cr_assert_eq(ops->create(&ctx, l, &cfg, params, 1024), HS_OK, "%s", hs_error_message());
    cr_assert_eq(ops->act(ctx, obs, E, greedy, counter, act, logp, val), HS_OK);
    ops->destroy(ctx);
}

/* The distance of u from the nearest boundary of the cumulative probabilities of lp. */
static double tie_distance(const float *lp, double u)
{
    double cum = 0.0, d = INFINITY;
    for (int j = 0; j < A; j++) {
        cum += exp(lp[j]);
        d = fmin(d, fabs(u - cum));
    }
    return d;
}

/* gpu (or the host's rows when gpu is 0) against the CPU act: values and logp within 1e-5,
 * actions equal but at near-ties. */
static void check_against_cpu(int gpu, int greedy)
{
    hs_mlp_layout l;
    float *params, *obs;
    make_inputs(&l, &params, &obs);
    static int32_t ac[E], ar[E];
    static float lc[E], vc[E], lr[E], vr[E];
    const uint64_t counter = 41;
    cpu_act(&l, params, obs, greedy, counter, ac, lc, vc);
    if (gpu) {
        cr_assert_eq(hs_ppo_act_cuda(&l, params, obs, E, greedy, 9, counter, ar, lr, vr), HS_OK, "%s",
                     hs_error_message());
    } else {
        hs_mlp_row_net an = hs_mlp_row_net_of(&l, 0), cn = hs_mlp_row_net_of(&l, 1);
        float h1[64], h2[64], logits[A], lp[A];
        for (int e = 0; e < E; e++) {
            hs_mlp_row_forward(&an, params, obs + e * O, h1, h2, logits);
            hs_log_softmax(logits, A, lp);
            double u = greedy ? 0.0 : (double)hs_rng_uniform(9, (1ull << 32) | (uint64_t)e, counter, 0);
            ar[e] = hs_ppo_choose(lp, A, greedy, u);
            lr[e] = lp[ar[e]];
            hs_mlp_row_forward(&cn, params, obs + e * O, h1, h2, &vr[e]);
        }
    }
    int differ = 0, distinct = 0;
    for (int e = 0; e < E; e++) {
        cr_expect(fabsf(vr[e] - vc[e]) <= 1e-5f * (1 + fabsf(vc[e])), "value of %d: %.9g vs %.9g", e, (double)vr[e],
                  (double)vc[e]);
        distinct += ac[e] != ac[0];
        if (ar[e] == ac[e]) {
            cr_expect(fabsf(lr[e] - lc[e]) <= 1e-5f * (1 + fabsf(lc[e])), "logp of %d: %.9g vs %.9g", e,
                      (double)lr[e], (double)lc[e]);
            continue;
        }
        differ++;
        /* recompute the CPU-side probabilities by rows to see how close to a boundary u fell */
        hs_mlp_row_net an = hs_mlp_row_net_of(&l, 0);
        float h1[64], h2[64], logits[A], lp[A];
        hs_mlp_row_forward(&an, params, obs + e * O, h1, h2, logits);
        hs_log_softmax(logits, A, lp);
        double u = greedy ? 0.0 : (double)hs_rng_uniform(9, (1ull << 32) | (uint64_t)e, counter, 0);
        cr_expect(!greedy ? tie_distance(lp, u) < 1e-5 : fabsf(lp[ar[e]] - lp[ac[e]]) < 1e-5f,
                  "environment %d: action %d here, %d on the CPU, and no near-tie", e, ar[e], ac[e]);
    }
    cr_expect(differ <= E / 100, "%d of %d actions differ", differ, E);
    cr_expect(distinct > E / 10, "the test's policy should not pick one action everywhere");
    free(params);
    free(obs);
}

Test(mlp_row, rows_equal_the_cpu_gemms_sampled) { check_against_cpu(0, 0); }
Test(mlp_row, rows_equal_the_cpu_gemms_greedy) { check_against_cpu(0, 1); }

Test(mlp_row, the_action_rule)
{
    float lp[4];
    for (int j = 0; j < 4; j++)
        lp[j] = logf(0.25f);
    cr_expect_eq(hs_ppo_choose(lp, 4, 0, 0.10), 0);
    cr_expect_eq(hs_ppo_choose(lp, 4, 0, 0.30), 1);
    cr_expect_eq(hs_ppo_choose(lp, 4, 0, 0.99), 3);
    cr_expect_eq(hs_ppo_choose(lp, 4, 0, 1.5), 3, "u past the rounded sum: the last action");
    cr_expect_eq(hs_ppo_choose(lp, 4, 1, 0.0), 0, "greedy: the first of equals");
    lp[2] = logf(0.4f);
    cr_expect_eq(hs_ppo_choose(lp, 4, 1, 0.0), 2);
}

static int gpu_or_skip(void)
{
    if (hs_cuda_device_count() > 0)
        return 1;
    cr_skip_test("no CUDA device answers here (%s): the act kernel's parity runs on a GPU machine",
                 hs_cuda_device_describe());
    return 0;
}

Test(mlp_row, the_act_kernel_equals_the_cpu, .timeout = 120)
{
    if (!gpu_or_skip())
        return;
    check_against_cpu(1, 0);
    check_against_cpu(1, 1);
}

/* Without a device (a CPU-only build, or no GPU answering) the act is a device error naming why;
 * a layout the kernel cannot hold is a usage error in any build with CUDA. */
Test(mlp_row, the_act_kernel_without_a_device_says_so)
{
    hs_mlp_layout l;
    float *params, *obs;
    make_inputs(&l, &params, &obs);
    int32_t a[E];
    if (hs_cuda_device_count() == 0) {
        cr_expect_eq(hs_ppo_act_cuda(&l, params, obs, E, 0, 1, 0, a, NULL, NULL), HS_ERR_DEVICE);
        cr_expect(strstr(hs_error_message(), "CUDA"), "%s", hs_error_message());
    }
    if (hs_cuda_built()) {
        hs_mlp_layout big = hs_mlp_layout_make(O, 512, A);
        cr_expect_eq(hs_ppo_act_cuda(&big, params, obs, E, 0, 1, 0, a, NULL, NULL), HS_ERR_USAGE);
        cr_expect(strstr(hs_error_message(), "hidden 512"), "%s", hs_error_message());
    }
    free(params);
    free(obs);
}
