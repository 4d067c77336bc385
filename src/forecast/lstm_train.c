/* lstm_train.c: the training loop, written once above the backend seam (backend/lstm_seam.h):
 * shuffled window ends, the backend's resident steps (gather, loss, clipping, Adam on its own
 * memory), validation and early stopping per model (lstm.h). Every backend fills the steps, the
 * CPU's over host buffers; the loop reads back only the loss sums, once an epoch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/lstm_seam.h"
#include "hyscale/lstm.h"
#include "hyscale/math/rng.h"
#include "hyscale/progress.h"

void hs_lstm_history_free(hs_lstm_history *h)
{
    if (!h)
        return;
    free(h->train_loss);
    free(h->val_loss);
    memset(h, 0, sizeof *h);
}

/* Mean validation loss per model over the windows ending in [e0, e1], in batches of B. */
static hs_status hs_lstm_validate(hs_lstm *m, const hs_lstm_resident *ops, int64_t e0, int64_t e1, double *val)
{
    int B = hs_lstm_get_config(m)->batch, N = hs_lstm_get_config(m)->models;
    HS_TRY(ops->take_losses(m, NULL, NULL));
    for (int64_t e = e0; e <= e1; e += B)
        HS_TRY(ops->eval(m, e, (int)(e1 - e + 1 < B ? e1 - e + 1 : B)));
    HS_TRY(ops->take_losses(m, NULL, val));
    for (int n = 0; n < N; n++)
        val[n] /= (double)(e1 - e0 + 1);
    return HS_OK;
}

/* One epoch's training steps over the windows in order (already with the backend); the
 * per-model sums of loss * batch go to ep_loss. */
static hs_status hs_lstm_epoch(hs_lstm *m, const hs_lstm_resident *ops, int64_t nwin, float clip,
                               const hs_adam_hparams *ah, double *ep_loss, int64_t *samples)
{
    int B = hs_lstm_get_config(m)->batch;
    for (int64_t s = 0; s < nwin; s += B) {
        int nb = (int)(nwin - s < B ? nwin - s : B);
        HS_TRY(ops->train(m, s, nb, clip, ah));
        *samples += nb;
    }
    return ops->take_losses(m, ep_loss, NULL);
}

hs_status hs_lstm_train(const hs_lstm_train_config *cfg, const hs_lstm_data *d, int64_t train_end, hs_lstm **model,
                        hs_lstm_history *hist)
{
    *model = NULL;
    memset(hist, 0, sizeof *hist);
    int W = cfg->window, K = cfg->horizon, B = cfg->batch, N = d->N;
    int64_t val_start = train_end - (int64_t)floor(cfg->val_frac * (double)train_end);
    int64_t tr_first = W, tr_last = val_start - K;         /* window ends of training windows */
    int64_t va_first = val_start, va_last = train_end - K; /* and of validation windows */
    if (tr_last < tr_first || va_last < va_first)
        return hs_error_set(HS_ERR_INPUT,
                            "lstm: the training span (%lld points) is too short for window %d, horizon %d and a "
                            "validation share of %g",
                            (long long)train_end, W, K, cfg->val_frac);
    const hs_lstm_backend *be = cfg->backend ? cfg->backend : hs_lstm_backend_cpu();
    const hs_lstm_resident *ops = be->resident;
    hs_lstm_config mc = {N, cfg->layers, cfg->hidden, hs_lstm_features(d), W, K, B};
    hs_lstm *m;
    HS_TRY(hs_lstm_init_streams(&mc, cfg->seed, cfg->first_stream, &m));
    int64_t nwin = tr_last - tr_first + 1;
    double *val = malloc((size_t)N * sizeof *val), *best_val = malloc((size_t)N * sizeof *best_val);
    double *ep_loss = malloc((size_t)N * sizeof *ep_loss);
    int *since = calloc((size_t)N, sizeof *since);
    unsigned char *active = malloc((size_t)N);
    int64_t *order = malloc((size_t)nwin * sizeof *order);
    hist->train_loss = calloc((size_t)(cfg->epochs > 0 ? cfg->epochs : 1), sizeof(float));
    hist->val_loss = calloc((size_t)(cfg->epochs > 0 ? cfg->epochs : 1), sizeof(float));
    hs_status st = val && best_val && ep_loss && since && active && order && hist->train_loss && hist->val_loss
                       ? HS_OK
                       : hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for training");
    hs_adam_hparams ah = {cfg->lr, HS_ADAM_BETA1, HS_ADAM_BETA2, 1e-8f};
    for (int n = 0; n < N; n++) {
        best_val[n] = INFINITY;
        active[n] = 1;
    }
    m->backend = be; /* predictions run where training ran */
    int bound = 0;
    if (st == HS_OK && (st = ops->bind(m, d, nwin)) == HS_OK)
        bound = 1;
    hs_progress prog;
    hs_progress_start(&prog, "lstm", 0, cfg->quiet);
    double t0 = hs_time_now();
    int64_t samples = 0;
    for (int ep = 0; st == HS_OK && ep < cfg->epochs; ep++) {
        /* a fresh shuffle of the training windows, the same for every model */
        for (int64_t i = 0; i < nwin; i++)
            order[i] = tr_first + i;
        hs_rng r = hs_rng_make(cfg->seed, ((uint64_t)1 << 32) + (uint64_t)ep);
        for (int64_t i = nwin - 1; i > 0; i--) {
            int64_t j = (int64_t)(hs_rng_next_double(&r) * (double)(i + 1));
            int64_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        st = ops->set_ends(m, order, nwin);
        if (st == HS_OK)
            st = hs_lstm_epoch(m, ops, nwin, cfg->clip, &ah, ep_loss, &samples);
        if (st == HS_OK)
            st = hs_lstm_validate(m, ops, va_first, va_last, val);
        if (st != HS_OK)
            break;
        double tl = 0, vl = 0;
        int still = 0;
        for (int n = 0; st == HS_OK && n < N; n++) {
            tl += ep_loss[n] / (double)nwin / N;
            vl += val[n] / N;
            if (!active[n])
                continue;
            if (val[n] < best_val[n]) {
                best_val[n] = val[n];
                since[n] = 0;
                st = ops->keep_best(m, n);
                if (n == 0)
                    hist->best_epoch = ep + 1;
            } else if (++since[n] >= cfg->patience) {
                active[n] = 0; /* early stop: this model keeps its best weights */
            }
            still += active[n];
        }
        if (st == HS_OK)
            st = ops->set_active(m, active);
        hist->train_loss[ep] = (float)tl;
        hist->val_loss[ep] = (float)vl;
        hist->epochs = ep + 1;
        double el = hs_time_now() - t0;
        if (!cfg->quiet)
            fprintf(stderr, "lstm: epoch %d/%d  loss %.5f  val %.5f  %.0f samples/s%s\n", ep + 1, cfg->epochs, tl,
                    vl, el > 0 ? (double)samples / el : 0.0,
                    N > 1 ? "" : (since[0] == 0 ? "  (best)" : ""));
        if (!still)
            break;
    }
    hist->seconds = hs_time_now() - t0;
    hist->samples_per_second = hist->seconds > 0 ? (double)samples * N / hist->seconds : 0;
    if (bound) {
        hs_status fs = ops->finish(m, st == HS_OK);
        if (st == HS_OK)
            st = fs;
    }
    free(val);
    free(best_val);
    free(ep_loss);
    free(since);
    free(active);
    free(order);
    if (st != HS_OK) {
        hs_lstm_free(m);
        hs_lstm_history_free(hist);
        return st;
    }
    *model = m;
    return HS_OK;
}
