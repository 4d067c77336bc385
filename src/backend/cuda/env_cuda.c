/* env_cuda.c: the CUDA backend of the environment seam (src/backend/env_seam.h): E environments
 * resident on the device as math/env_state.h's arrays, stepped by kernels/env_step.cu one thread
 * each. The series rows are copied in once; a step moves E targets or actions in; observations,
 * sums and the finished episodes come out only when asked. Built only with the CUDA backend
 * (src/backend/nocuda.c answers NULL otherwise). */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"
#include "backend/env_seam.h"
#include "hyscale/env_rules.h"

typedef struct hs_env_cuda {
    hs_env_arrays a; /* every pointer a device array */
    int64_t E;
    const hs_env_series *s; /* host, borrowed */
    hs_env_config cfg;
    int32_t *in;           /* (E) targets or actions */
    hs_env_metrics *fin;   /* (E) each environment's ended episodes since the last take */
    int64_t *fin_n;        /* (E) */
    hs_env_metrics *h_fin; /* (E) host scratch for the take */
    int64_t *h_fin_n;      /* (E) */
} hs_env_cuda;

static void hs_env_cuda_free(hs_env_cuda *c)
{
    if (!c)
        return;
    hs_env_arrays *a = &c->a;
    cudaFree((void *)a->need);
    cudaFree((void *)a->fneed);
    cudaFree((void *)a->fneed1);
    cudaFree((void *)a->err);
    cudaFree((void *)a->S);
    cudaFree((void *)a->rms);
    cudaFree((void *)a->time_feat);
    cudaFree((void *)a->pmax);
    cudaFree((void *)a->step);
    cudaFree(a->series);
    cudaFree(a->t);
    cudaFree(a->p);
    cudaFree(a->steps);
    cudaFree(a->cold);
    cudaFree(a->idle);
    cudaFree(a->episode);
    cudaFree(a->sums);
    cudaFree(a->obs);
    cudaFree(a->w_idle);
    cudaFree(a->reward);
    cudaFree(a->done);
    cudaFree(c->in);
    cudaFree(c->fin);
    cudaFree(c->fin_n);
    free(c->h_fin);
    free(c->h_fin_n);
    free(c);
}

/* A device copy of n elements of size sz from host (NULL: none). */
static hs_status hs_env_cuda_upload(const void **dst, const void *src, size_t n, size_t sz)
{
    *dst = NULL;
    if (!src)
        return HS_OK;
    void *d = NULL;
    HS_CUDA_CHECK(cudaMalloc(&d, n * sz));
    *dst = d;
    HS_CUDA_CHECK(cudaMemcpy(d, src, n * sz, cudaMemcpyHostToDevice));
    return HS_OK;
}

static hs_status hs_env_cuda_state(hs_env_cuda *c)
{
    hs_env_arrays *a = &c->a;
    size_t e = (size_t)c->E;
    HS_CUDA_CHECK(cudaMalloc((void **)&a->series, e * sizeof *a->series));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->t, e * sizeof *a->t));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->p, e * sizeof *a->p));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->steps, e * sizeof *a->steps));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->cold, e * sizeof *a->cold));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->idle, e * sizeof *a->idle));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->episode, e * sizeof *a->episode));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->sums, e * sizeof *a->sums));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->obs, e * (size_t)a->O * sizeof *a->obs));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->w_idle, e * sizeof *a->w_idle));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->reward, e * sizeof *a->reward));
    HS_CUDA_CHECK(cudaMalloc((void **)&a->done, e * sizeof *a->done));
    HS_CUDA_CHECK(cudaMalloc((void **)&c->in, e * sizeof *c->in));
    HS_CUDA_CHECK(cudaMalloc((void **)&c->fin, e * sizeof *c->fin));
    HS_CUDA_CHECK(cudaMalloc((void **)&c->fin_n, e * sizeof *c->fin_n));
    HS_CUDA_CHECK(cudaMemset(a->episode, 0, e * sizeof *a->episode));
    HS_CUDA_CHECK(cudaMemset(a->sums, 0, e * sizeof *a->sums));
    HS_CUDA_CHECK(cudaMemset(a->done, 0, e * sizeof *a->done));
    HS_CUDA_CHECK(cudaMemset(a->reward, 0, e * sizeof *a->reward));
    HS_CUDA_CHECK(cudaMemset(a->cold, 0, e * sizeof *a->cold));
    HS_CUDA_CHECK(cudaMemset(a->idle, 0, e * sizeof *a->idle));
    HS_CUDA_CHECK(cudaMemset(a->steps, 0, e * sizeof *a->steps));
    HS_CUDA_CHECK(cudaMemset(c->fin, 0, e * sizeof *c->fin));
    HS_CUDA_CHECK(cudaMemset(c->fin_n, 0, e * sizeof *c->fin_n));
    c->h_fin = malloc(e * sizeof *c->h_fin);
    c->h_fin_n = malloc(e * sizeof *c->h_fin_n);
    if (!c->h_fin || !c->h_fin_n)
        return hs_error_set(HS_ERR_NOMEM, "environment (cuda): out of memory for %lld environments",
                            (long long)c->E);
    /* environment e replays series e mod K; w_idle is the configuration's until a reset draws one */
    int32_t *series = malloc(e * sizeof *series);
    float *w = malloc(e * sizeof *w);
    hs_status st = series && w ? HS_OK : hs_error_set(HS_ERR_NOMEM, "environment (cuda): out of memory");
    for (int64_t i = 0; st == HS_OK && i < c->E; i++) {
        series[i] = (int32_t)(i % c->s->k);
        w[i] = c->cfg.w.w_idle;
    }
    if (st == HS_OK && (cudaMemcpy(a->series, series, e * sizeof *series, cudaMemcpyHostToDevice) != cudaSuccess ||
                        cudaMemcpy(a->w_idle, w, e * sizeof *w, cudaMemcpyHostToDevice) != cudaSuccess))
        st = hs_error_set(HS_ERR_DEVICE, "environment (cuda): copying the initial state in failed");
    free(series);
    free(w);
    return st;
}

/* The context: the series rows copied in, the configuration, the state allocated (E each). */
static hs_status hs_env_cuda_open(hs_env_cuda **out, const hs_env_series *s, int64_t E, const hs_env_config *cfg,
                                  int replay)
{
    *out = NULL;
    hs_env_cuda *c = calloc(1, sizeof *c);
    if (!c)
        return hs_error_set(HS_ERR_NOMEM, "environment (cuda): out of memory");
    c->E = E;
    c->s = s;
    c->cfg = *cfg;
    hs_env_arrays *a = &c->a;
    size_t kn = (size_t)(s->k * s->n), k = (size_t)s->k;
    a->n = s->n;
    a->version = cfg->version;
    a->mode = (int)cfg->mode;
    a->replay = replay;
    a->O = hs_env_obs_size(cfg->version);
    a->w = cfg->w;
    a->seed = cfg->seed;
    a->first_stream = cfg->first_stream;
    a->w_idle_lo = cfg->w_idle_lo;
    a->w_idle_hi = cfg->w_idle_hi;
    hs_status st = hs_env_cuda_upload((const void **)&a->need, s->need, kn, sizeof *s->need);
    if (st == HS_OK)
        st = hs_env_cuda_upload((const void **)&a->fneed, s->fneed, kn * HS_ENV_FC, sizeof *s->fneed);
    if (st == HS_OK)
        st = hs_env_cuda_upload((const void **)&a->fneed1, s->fneed1, kn, sizeof *s->fneed1);
    if (st == HS_OK)
        st = hs_env_cuda_upload((const void **)&a->err, s->err, kn, sizeof *s->err);
    if (st == HS_OK)
        st = hs_env_cuda_upload((const void **)&a->rms, s->rms, kn, sizeof *s->rms);
    if (st == HS_OK)
        st = hs_env_cuda_upload((const void **)&a->S, s->S, k, sizeof *s->S);
    if (st == HS_OK)
        st = hs_env_cuda_upload((const void **)&a->pmax, s->pmax, k, sizeof *s->pmax);
    if (st == HS_OK)
        st = hs_env_cuda_upload((const void **)&a->step, s->step, k, sizeof *s->step);
    if (st == HS_OK)
        st = hs_env_cuda_upload((const void **)&a->time_feat, s->time_feat, (size_t)s->n * 4, sizeof *s->time_feat);
    if (st == HS_OK && a->version == HS_ENV_V2 && (!a->err || !a->rms))
        st = hs_error_set(HS_ERR_INPUT, "environment (cuda): ENV version 2 needs the series' errors and their RMS");
    if (st == HS_OK)
        st = hs_env_cuda_state(c);
    if (st != HS_OK) {
        hs_env_cuda_free(c);
        return st;
    }
    *out = c;
    return HS_OK;
}

static hs_status hs_env_cuda_launch_reset(hs_env_cuda *c)
{
    HS_CUDA_CHECK((cudaError_t)hs_kernel_env_reset(&c->a, c->E, NULL));
    HS_CUDA_CHECK(cudaDeviceSynchronize());
    return HS_OK;
}

static hs_status hs_env_cuda_create(void **ctx, const hs_env_series *s, int64_t E, const hs_env_config *cfg)
{
    *ctx = NULL;
    HS_ASSERT(E > 0);
    int64_t L, lo, hi;
    if (!hs_env_episode_starts(cfg, s->n_train, &L, &lo, &hi))
        return hs_error_set(HS_ERR_INPUT, "environment: a training span of %lld minutes is shorter than an episode "
                                          "of %lld minutes plus %d (episodes start in [%d, N - L - %d])",
                            (long long)s->n_train, (long long)L, HS_ENV_START_LO + HS_ENV_END_MARGIN,
                            HS_ENV_START_LO, HS_ENV_END_MARGIN);
    hs_env_cuda *c;
    HS_TRY(hs_env_cuda_open(&c, s, E, cfg, 0));
    c->a.L = L;
    c->a.lo = lo;
    c->a.hi = hi;
    hs_status st = hs_env_cuda_launch_reset(c);
    if (st != HS_OK) {
        hs_env_cuda_free(c);
        return st;
    }
    *ctx = c;
    return HS_OK;
}

static hs_status hs_env_cuda_create_replay(void **ctx, const hs_env_series *s, const hs_env_config *cfg,
                                           int64_t t_start, int64_t t_end)
{
    *ctx = NULL;
    if (t_start < 0 || t_end >= s->n || t_end <= t_start)
        return hs_error_set(HS_ERR_INPUT, "environment: replay span [%lld, %lld] is not inside the %lld minutes",
                            (long long)t_start, (long long)t_end, (long long)s->n);
    hs_env_cuda *c;
    HS_TRY(hs_env_cuda_open(&c, s, s->k, cfg, 1));
    c->a.t_end = t_end;
    c->a.L = t_end - t_start;
    hs_status st = hs_env_cuda_launch_reset(c);
    if (st != HS_OK) {
        hs_env_cuda_free(c);
        return st;
    }
    *ctx = c;
    return HS_OK;
}

/* host <-> device state: every state array of hs_envs (dir: cudaMemcpyHostToDevice or back) */
static hs_status hs_env_cuda_move(hs_env_cuda *c, hs_envs *h, enum cudaMemcpyKind dir)
{
    hs_env_arrays *a = &c->a;
    size_t e = (size_t)c->E;
    int in = dir == cudaMemcpyHostToDevice;
#define HS_ENV_MOVE(dev, host, bytes) HS_CUDA_CHECK(cudaMemcpy(in ? (void *)(dev) : (void *)(host), \
                                                              in ? (const void *)(host) : (const void *)(dev), \
                                                              (bytes), dir))
    HS_ENV_MOVE(a->series, h->series, e * sizeof *h->series);
    HS_ENV_MOVE(a->t, h->t, e * sizeof *h->t);
    HS_ENV_MOVE(a->p, h->p, e * sizeof *h->p);
    HS_ENV_MOVE(a->steps, h->steps, e * sizeof *h->steps);
    HS_ENV_MOVE(a->cold, h->cold, e * sizeof *h->cold);
    HS_ENV_MOVE(a->idle, h->idle, e * sizeof *h->idle);
    HS_ENV_MOVE(a->episode, h->episode, e * sizeof *h->episode);
    HS_ENV_MOVE(a->sums, h->sums, e * sizeof *h->sums);
    HS_ENV_MOVE(a->obs, h->obs, e * (size_t)a->O * sizeof *h->obs);
    HS_ENV_MOVE(a->w_idle, h->w_idle, e * sizeof *h->w_idle);
    HS_ENV_MOVE(a->reward, h->reward, e * sizeof *h->reward);
    HS_ENV_MOVE(a->done, h->done, e * sizeof *h->done);
#undef HS_ENV_MOVE
    return HS_OK;
}

static hs_status hs_env_cuda_adopt(void **ctx, hs_envs *host)
{
    *ctx = NULL;
    hs_env_cuda *c;
    HS_TRY(hs_env_cuda_open(&c, host->s, host->E, &host->cfg, host->replay));
    c->a.L = host->L;
    c->a.lo = host->lo;
    c->a.hi = host->hi;
    c->a.t_end = host->t_end;
    hs_status st = hs_env_cuda_move(c, host, cudaMemcpyHostToDevice);
    if (st != HS_OK) {
        hs_env_cuda_free(c);
        return st;
    }
    *ctx = c;
    return HS_OK;
}

/* The episodes ended on the device since the last take, added in environment order. */
static hs_status hs_env_cuda_collect(hs_env_cuda *c, hs_env_metrics *m, int64_t *count)
{
    size_t e = (size_t)c->E;
    HS_CUDA_CHECK(cudaMemcpy(c->h_fin, c->fin, e * sizeof *c->fin, cudaMemcpyDeviceToHost));
    HS_CUDA_CHECK(cudaMemcpy(c->h_fin_n, c->fin_n, e * sizeof *c->fin_n, cudaMemcpyDeviceToHost));
    HS_CUDA_CHECK(cudaMemset(c->fin, 0, e * sizeof *c->fin));
    HS_CUDA_CHECK(cudaMemset(c->fin_n, 0, e * sizeof *c->fin_n));
    for (int64_t i = 0; i < c->E; i++) {
        hs_env_metrics_add(m, &c->h_fin[i]);
        *count += c->h_fin_n[i];
    }
    return HS_OK;
}

static hs_status hs_env_cuda_release(void *ctx, hs_envs *host)
{
    hs_env_cuda *c = ctx;
    HS_ASSERT(c->E == host->E);
    hs_status st = hs_env_cuda_move(c, host, cudaMemcpyDeviceToHost);
    if (st == HS_OK)
        st = hs_env_cuda_collect(c, &host->finished, &host->finished_count);
    hs_env_cuda_free(c);
    return st;
}

static hs_status hs_env_cuda_reset(void *ctx)
{
    return hs_env_cuda_launch_reset(ctx);
}

static hs_status hs_env_cuda_step_in(hs_env_cuda *c, const int32_t *in, int actions)
{
    HS_CUDA_CHECK(cudaMemcpy(c->in, in, (size_t)c->E * sizeof *in, cudaMemcpyHostToDevice));
    HS_CUDA_CHECK((cudaError_t)hs_kernel_env_step(&c->a, c->E, c->in, actions, c->fin, c->fin_n, NULL));
    return HS_OK;
}

static hs_status hs_env_cuda_step_targets(void *ctx, const int32_t *targets)
{
    return hs_env_cuda_step_in(ctx, targets, 0);
}

static hs_status hs_env_cuda_step_actions(void *ctx, const int32_t *actions)
{
    hs_env_cuda *c = ctx;
    int na = hs_env_action_count(c->cfg.mode);
    for (int64_t e = 0; e < c->E; e++)
        if (actions[e] < 0 || actions[e] >= na)
            return hs_error_set(HS_ERR_INPUT, "environment (cuda): action %d of environment %lld is not in [0, %d)",
                                (int)actions[e], (long long)e, na);
    return hs_env_cuda_step_in(c, actions, 1);
}

static hs_status hs_env_cuda_observe(void *ctx, float *obs)
{
    const hs_env_cuda *c = ctx;
    HS_CUDA_CHECK(cudaMemcpy(obs, c->a.obs, (size_t)c->E * (size_t)c->a.O * sizeof *obs, cudaMemcpyDeviceToHost));
    return HS_OK;
}

static hs_status hs_env_cuda_take_finished(void *ctx, hs_env_metrics *m, int64_t *count)
{
    memset(m, 0, sizeof *m);
    *count = 0;
    return hs_env_cuda_collect(ctx, m, count);
}

static hs_status hs_env_cuda_sums(void *ctx, hs_env_metrics *out)
{
    const hs_env_cuda *c = ctx;
    HS_CUDA_CHECK(cudaMemcpy(out, c->a.sums, (size_t)c->E * sizeof *out, cudaMemcpyDeviceToHost));
    return HS_OK;
}

static int64_t hs_env_cuda_count(const void *ctx)
{
    const hs_env_cuda *c = ctx;
    return c->E;
}

static void hs_env_cuda_destroy(void *ctx) { hs_env_cuda_free(ctx); }

static const hs_env_ops hs_env_cuda_table = {
    .name = "cuda",
    .create = hs_env_cuda_create,
    .create_replay = hs_env_cuda_create_replay,
    .adopt = hs_env_cuda_adopt,
    .release = hs_env_cuda_release,
    .reset = hs_env_cuda_reset,
    .step_targets = hs_env_cuda_step_targets,
    .step_actions = hs_env_cuda_step_actions,
    .observe = hs_env_cuda_observe,
    .take_finished = hs_env_cuda_take_finished,
    .sums = hs_env_cuda_sums,
    .count = hs_env_cuda_count,
    .destroy = hs_env_cuda_destroy,
};

const hs_env_ops *hs_env_cuda_ops(void) { return &hs_env_cuda_table; }
