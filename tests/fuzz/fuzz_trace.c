/* fuzz_trace.c: the trace reader, every layout (Azure 2019 day files, the In-Vitro sample, the
 * Azure 2021 log, ds,y and minute,invocations), through hs_preprocess_run as `hyscale
 * preprocess --input FILE --out DIR --no-plot --quiet` calls it: layout detection, the streaming
 * reader, the per-function matrix, cleaning and the writers of series.csv and friends.
 * The input's first byte picks the options that change the reader's paths: bit 0
 * --skip-bad-rows, bit 1 --functions 0 (aggregate only); the rest is the file. */
#include "fuzz_common.h"

#include "hyscale/preprocess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    const char *path = hs_fuzz_write("trace.csv", data + 1, size - 1);
    if (!path)
        return 0;
    char in[1024], out[1024];
    snprintf(in, sizeof in, "%s", path);
    snprintf(out, sizeof out, "%s/out", hs_fuzz_tmpdir());
    char *inputs[1] = {in};
    hs_preprocess_config cfg = HS_PREPROCESS_DEFAULTS;
    cfg.inputs = inputs;
    cfg.ninputs = 1;
    cfg.out_dir = out;
    cfg.functions = (opt & 2) ? 0 : 4;
    cfg.skip_bad_rows = opt & 1;
    cfg.plot = 0;
    cfg.quiet = 1;
    /* a few weeks of minutes: a valid but long span (one date years away) is seconds of work
     * under the sanitizers, which libFuzzer would report as a time-out; the CLI's cap is
     * HS_SERIES_MAX_SPAN, tested in test_trace */
    cfg.max_span = (int64_t)1 << 16;
    hs_preprocess_result res;
    memset(&res, 0, sizeof res);
    (void)hs_preprocess_run(&cfg, NULL, &res);
    hs_preprocess_result_free(&res);
    hs_fuzz_clean(out, 1);
    return 0;
}
