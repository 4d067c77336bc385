/* ppo_internal.h: the PPO backend seam. A backend owns the parameters, their gradient and the
 * Adam moments (so a GPU backend keeps them on the device) and fills every operation. */
#ifndef HYSCALE_PPO_INTERNAL_H
#define HYSCALE_PPO_INTERNAL_H

#include "hyscale/ppo.h"

typedef struct hs_ppo_ops {
    /* logits (B, A) and values (B) of observations (B, O); either output may be NULL */
    hs_status (*forward)(void *ctx, const float *obs, int64_t B, float *logits, float *values);
    /* one minibatch: loss, gradient, clipping at max_grad_norm, one Adam step at lr */
    hs_status (*step)(void *ctx, const hs_ppo_minibatch *mb, float lr, hs_ppo_stats *st);
    hs_status (*get_params)(void *ctx, float *out);
    hs_status (*set_params)(void *ctx, const float *in);
    void (*destroy)(void *ctx);
} hs_ppo_ops;

/* The CPU backend: params (total) copied in; batches up to max_b samples. */
hs_status hs_ppo_cpu_create(const hs_mlp_layout *l, const hs_ppo_config *cfg, const float *params, int64_t max_b,
                            const hs_ppo_ops **ops, void **ctx);

#endif
